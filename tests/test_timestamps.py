"""Every timestamp is stored as UTC on both backends: a channel's ``paid_at`` with an
offset keeps its instant (SQLite used to drop the offset and read the wall time as UTC)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text

from qrpay.payments.posting import PaymentIn, get_payment, post_payment
from qrpay.store.schema import metadata, payments
from qrpay.store.types import UtcDateTime
from qrpay.web.reads import Reader
from tests.payments.conftest import insert_bill, make_bill

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
BST = dt.timezone(dt.timedelta(hours=6))  # Bangladesh Standard Time


@pytest.mark.parametrize("offset", [IST, BST], ids=["+05:30", "+06:00"])
def test_paid_at_with_an_offset_reads_back_as_the_same_instant_in_utc(
        store, best_config, offset):
    paid_at = dt.datetime(2024, 6, 10, 10, 15, tzinfo=offset)
    with store.begin() as conn:
        bill = insert_bill(conn, make_bill())
        post_payment(conn, best_config, PaymentIn(
            channel="upi", txn_id="T1", bill_no=bill.bill_no, amount=bill.amount,
            currency="INR", paid_at=paid_at))
    with store.connect() as conn:
        stored = get_payment(conn, "upi", "T1")
        raw = conn.execute(text("SELECT paid_at FROM payments")).scalar_one()
    assert stored is not None
    assert stored["paid_at"] == paid_at
    assert stored["paid_at"].utcoffset() == dt.timedelta(0)
    if store.is_sqlite:  # the digits on disk are UTC's
        assert str(raw).startswith(paid_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M"))
    found = Reader(store).bill_and_status(bill.bill_no, lambda b: b.due_date)
    assert found is not None
    (summary,) = found[1].payments
    assert summary.paid_at == paid_at


@pytest.mark.parametrize("offset", [IST, BST], ids=["+05:30", "+06:00"])
def test_a_core_write_with_an_offset_orders_by_its_instant(store, best_config, offset):
    """Two payments ten minutes apart, the earlier given in local time (its wall-clock
    digits are the larger), sort by instant."""
    utc_later = dt.datetime(2024, 6, 10, 4, 40, tzinfo=dt.UTC)
    local_earlier = (utc_later - dt.timedelta(minutes=10)).astimezone(offset)
    with store.begin() as conn:
        bill = insert_bill(conn, make_bill(amount=200000, late_amount=None))
        for txn, when in (("A", local_earlier), ("B", utc_later)):
            post_payment(conn, best_config, PaymentIn(
                channel="upi", txn_id=txn, bill_no=bill.bill_no, amount=1000,
                currency="INR", paid_at=when))
    with store.connect() as conn:
        order = conn.execute(select(payments.c.txn_id).order_by(payments.c.paid_at)).all()
    assert [r[0] for r in order] == ["A", "B"]


def test_every_timestamp_column_is_utc_datetime():
    """New tables must use ``qrpay.store.types.UtcDateTime`` for their timestamps."""
    from sqlalchemy import DateTime

    wrong = [f"{t.name}.{c.name}" for t in metadata.tables.values() for c in t.columns
             if isinstance(c.type, DateTime)]
    assert wrong == []
    assert any(isinstance(c.type, UtcDateTime) for c in payments.columns)
