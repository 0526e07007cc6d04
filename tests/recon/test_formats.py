"""One settlement cell or row to exact minor units: every way files write amounts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from qrpay.config import Channel
from qrpay.errors import ConfigError, ValidationError
from qrpay.recon.formats import LineParser, built_in, column_map, money


@pytest.mark.parametrize(("value", "unit", "minor"), [
    ("1234.50", "major", 123450), ("1234.5", "major", 123450), ("1234", "major", 123400),
    ("1,23,456.70", "major", 12345670), ("₹ 99.00", "major", 9900), ("১২৩৪.৫০", "major", 123450),
    ("-12.00", "major", 1200), (1234.5, "major", 123450), (Decimal("0.10"), "major", 10),
    (7, "major", 700), ("123450", "minor", 123450), (123450, "minor", 123450),
    (Decimal("123450"), "minor", 123450), (123450.0, "minor", 123450), ("", "major", 0),
    (None, "minor", 0),
])
def test_amounts_exact(value: object, unit: str, minor: int) -> None:
    assert money(value, unit, "amount") == minor


@pytest.mark.parametrize(("value", "unit", "code"), [
    ("12.345", "major", "too_many_decimals"), (0.1 + 0.2, "major", "too_many_decimals"),
    ("1e5", "major", "invalid_amount"), ("abc", "major", "invalid_amount"),
    (True, "major", "invalid_amount"), ("1234.5", "minor", "not_minor_units"),
    (float("nan"), "major", "invalid_amount"), ([1], "major", "invalid_amount"),
])
def test_amounts_refused_with_code_and_column(value: object, unit: str, code: str) -> None:
    with pytest.raises(ValidationError) as err:
        money(value, unit, "event_amount")
    assert err.value.code == code and err.value.field == "event_amount"


def test_profile_overrides_columns_and_unit() -> None:
    ch = Channel(name="bkash", settings={"settlement": {
        "format": "generic", "unit": "major", "window_days": 2,
        "columns": {"txn_id": "TrxID", "amount": ["Amount (BDT)", "amount"]}}})
    cmap = column_map(ch)
    assert (cmap.name, cmap.window_days) == ("generic", 2)
    line = LineParser(cmap).parse(2, {"trxid": "9AB1", "amount (bdt)": "1,500.00",
                                      "status": "success", "settled_on": "2026-11-20"})
    assert (line.txn_id, line.amount, line.kind, line.settled_on) == (
        "9AB1", 150000, "payment", dt.date(2026, 11, 20))
    with pytest.raises(ConfigError):
        column_map(Channel(name="x", settings={"settlement": {"columns": {"nope": "a"}}}))
    with pytest.raises(ConfigError):
        column_map(Channel(name="x", settings={"settlement": {"format": "paytm"}}))


def test_razorpay_rows() -> None:
    parse = LineParser(built_in("razorpay")).parse
    pay = parse(2, {"entity_id": "pay_1", "type": "payment", "amount": "190900", "fee": "3818",
                    "tax": "687", "credit": "186395", "debit": "0", "settled": "true",
                    "settled_at": "1795219200", "settlement_id": "setl_1",
                    "order_receipt": "B1", "payment_id": "", "method": "UPI"})
    assert (pay.txn_id, pay.amount, pay.fee, pay.tax, pay.net, pay.mode, pay.bill_no) == (
        "pay_1", 190900, 3818, 687, 186395, "upi", "B1")
    refund = parse(3, {"entity_id": "rfnd_1", "type": "refund", "amount": "190900",
                       "debit": "190900", "credit": "0", "settled": "true",
                       "payment_id": "pay_1"})
    assert (refund.kind, refund.txn_id, refund.refund_id, refund.net) == (
        "refund", "pay_1", "rfnd_1", 190900)
    held = parse(4, {"entity_id": "pay_2", "type": "payment", "amount": "1", "settled": "false"})
    assert not held.settled
