"""Every audit action has its words in every desk language: the audit page never shows a code."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from qrpay.desk.audit import ACTIONS

DESK = Path(__file__).resolve().parents[2] / "templates" / "desk"


@pytest.mark.parametrize("lang", ["en", "hi", "bn"])
def test_every_audit_action_is_labelled(lang: str) -> None:
    words = tomllib.loads((DESK / f"{lang}.toml").read_text(encoding="utf-8"))["actions"]
    assert set(ACTIONS) - set(words) == set()
    assert all(words[a].strip() and words[a] != a for a in ACTIONS)
