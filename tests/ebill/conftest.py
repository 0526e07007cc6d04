"""Fixtures for e-bill tests: the sample bill files imported into the test database,
and profile files pointing at it (for the CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qrpay.bills import Bill, iter_bills
from qrpay.config import Config
from qrpay.importer import import_bills
from qrpay.store import Store

ROOT = Path(__file__).resolve().parents[2]


def load_sample(store: Store, config: Config, profile: str) -> list[Bill]:
    report = import_bills(store, config, ROOT / "samples" / f"bills-{profile}.csv")
    assert not report.errors, report.errors[:3]
    with store.connect() as conn:
        return list(iter_bills(conn, period="2026-11"))


def profile_file(tmp_path: Path, profile: str, db_url: str) -> Path:
    """A copy of the sample profile whose database is the test database."""
    lines = (ROOT / "samples" / f"{profile}.toml").read_text(encoding="utf-8").splitlines()
    logos = ROOT / "samples" / "logos"
    out = [f'database = "{db_url}"' if line.startswith("database =") else
           line.replace('logo = "logos/', f'logo = "{logos}/') for line in lines]
    path = tmp_path / f"{profile}.toml"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def best_bills(store: Store, best_config: Config) -> list[Bill]:
    return load_sample(store, best_config, "best")


@pytest.fixture
def breb_bills(store: Store, breb_config: Config) -> list[Bill]:
    return load_sample(store, breb_config, "breb")


def by_language(bills: list[Bill], lang: str, *, payable: bool = True) -> Bill:
    """The first bill printed in ``lang`` (bills without a language use the biller's)."""
    for bill in bills:
        if (bill.language or {"best": "hi"}.get(bill.biller, "bn")) == lang and \
                (bill.amount > 0) == payable:
            return bill
    raise LookupError(lang)
