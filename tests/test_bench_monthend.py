"""``bench/monthend.py`` in a tiny mode against a real ``qrpay serve``: every kind runs,
none errs, and every payment the server acknowledged is posted once in the database (so
the bench cannot rot silently while the API it drives changes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_URL

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.monthend import KINDS, PAYING  # noqa: E402

pytestmark = pytest.mark.slow


def run_tiny(tmp_path: Path) -> dict:  # type: ignore[type-arg]
    out = tmp_path / "monthend.json"
    backend = ["--no-sqlite", "--pg", PG_URL] if PG_URL else ["--no-pg"]
    cmd = [sys.executable, str(ROOT / "bench" / "monthend.py"), "--seconds", "1",
           "--connections", "3", "--bills", "200", "--port", "8810", "--json", str(out),
           *backend]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    result: dict = json.loads(out.read_text())  # type: ignore[type-arg]
    assert "Mix (BREB month-end peak hour)" in done.stdout
    return result


def test_tiny_run_every_kind_no_errors_and_payments_posted_once(tmp_path: Path) -> None:
    result = run_tiny(tmp_path)
    (backend,) = result["results"]
    phases = {p["phase"]: p for p in backend["phases"]}
    assert set(phases) == {*KINDS, "mix"}
    for kind in KINDS:
        figures = phases[kind]["kinds"][kind]
        assert figures["ops"] > 0, kind
        assert figures["errors"] == 0, (kind, figures["samples"])
        assert phases[kind]["app_cpu_s"] > 0, kind
    mix = phases["mix"]
    assert mix["ops"] > 0 and mix["errors"] == 0, mix["kinds"]
    assert set(mix["kinds"]) == set(KINDS)
    for name, phase in phases.items():
        assert phase["payments_posted"] == phase["payments_acked"], name
    assert sum(phases[k]["payments_acked"] for k in PAYING) > 0
    paid = sum(p["payments_posted"] for p in phases.values())
    storage = backend["storage"]
    assert storage["payments"]["rows"] >= paid > 0  # and the warm-up's
    assert storage["payments"]["bytes"] > 0
