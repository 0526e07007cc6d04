"""Bills as values and profile fixtures for payload and QR tests (no database needed)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from qrpay.bills import Bill
from qrpay.config import load_config
from tests.conftest import SAMPLES


def make_bill(bill_no: str, biller: str, amount: int = 123450, **kw: object) -> Bill:
    values: dict[str, object] = dict(
        bill_no=bill_no, biller=biller, account_no=bill_no[-9:], name="Test Consumer",
        period="2026-11", amount=amount, due_date=dt.date(2026, 12, 5),
        late_amount=amount + amount // 100 if amount > 0 else None)
    values.update(kw)
    return Bill(**values)  # type: ignore[arg-type]


@pytest.fixture
def best():
    """The BEST profile (no database): config, biller and one bill."""
    config = load_config(SAMPLES / "best.toml")
    return config, config.biller("best"), make_bill("B2611100000000", "best")


@pytest.fixture
def breb():
    config = load_config(SAMPLES / "breb.toml")
    return config, config.biller("dhaka-pbs-1"), make_bill("2611104231245", "dhaka-pbs-1")


def with_part_payment(biller):
    return dataclasses.replace(biller, payee=dataclasses.replace(biller.payee,
                                                                 allow_part_payment=True))
