"""The one-query hot-path read gives exactly what get_bill + bill_status give."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from qrpay.bills import Bill, get_bill
from qrpay.config import Config
from qrpay.payments.ledger import adjust_bill, bill_status
from qrpay.payments.posting import PaymentIn, post_payment
from qrpay.store import Store
from qrpay.store.schema import bills
from qrpay.web.reads import Reader

from .conftest import DUE, PAST_DUE, insert_bill, make_bill

BEFORE, AFTER = DUE - dt.timedelta(days=3), DUE + dt.timedelta(days=3)


def pay(store: Store, config: Config, bill: Bill, amount: int, txn: str,
        status: str = "success", when: dt.datetime | None = None) -> None:
    with store.begin() as conn:
        post_payment(conn, config, PaymentIn(channel="upi", txn_id=txn, bill_no=bill.bill_no,
                                             amount=amount, currency="INR", status=status),
                     now=when)


def assert_same(store: Store, bill_no: str, on: dt.date) -> None:
    with store.connect() as conn:
        bill = get_bill(conn, bill_no)
        expected = (bill, bill_status(conn, bill, on))
    reader = Reader(store)
    assert reader.bill_and_status(bill_no, lambda b: on) == expected
    reader.close()


def unpaid(store: Store, config: Config, bill: Bill) -> None:
    pass


def part_paid(store: Store, config: Config, bill: Bill) -> None:
    pay(store, config, bill, 23450, "P1")


def paid(store: Store, config: Config, bill: Bill) -> None:
    pay(store, config, bill, 100000, "P1")
    pay(store, config, bill, 23450, "P2")


def credit(store: Store, config: Config, bill: Bill) -> None:
    pay(store, config, bill, 200000, "P1")


def paid_late(store: Store, config: Config, bill: Bill) -> None:
    late = dt.datetime.combine(AFTER, dt.time(6), tzinfo=dt.UTC)
    pay(store, config, bill, 125000, "P1", when=late)


def reversed_(store: Store, config: Config, bill: Bill) -> None:
    pay(store, config, bill, 123450, "P1")
    pay(store, config, bill, 123450, "P1", status="reversed")


def failed(store: Store, config: Config, bill: Bill) -> None:
    pay(store, config, bill, 123450, "P1", status="failed")


def adjusted(store: Store, config: Config, bill: Bill) -> None:
    with store.begin() as conn:
        conn.execute(bills.update().where(bills.c.bill_no == bill.bill_no)
                     .values(amount=99900))
        adjust_bill(conn, dataclasses.replace(bill, amount=99900))


@pytest.mark.parametrize("history", [unpaid, part_paid, paid, credit, paid_late, reversed_,
                                     failed, adjusted])
@pytest.mark.parametrize("on", [BEFORE, AFTER], ids=["before_due", "after_due"])
def test_fast_read_matches_bill_status(store: Store, best_config: Config, history,
                                       on: dt.date) -> None:  # type: ignore[no-untyped-def]
    bill = insert_bill(store, make_bill())
    history(store, best_config, bill)
    assert_same(store, bill.bill_no, on)


def test_fast_read_of_a_bill_never_charged_matches(store: Store, best_config: Config) -> None:
    bill = make_bill(due_date=PAST_DUE)
    with store.begin() as conn:
        conn.execute(bills.insert().values(
            bill_no=bill.bill_no, biller=bill.biller, account_no=bill.account_no,
            name=bill.name, period=bill.period, amount=bill.amount, due_date=bill.due_date,
            late_amount=bill.late_amount, arrears=0, history="[]", charges="[]",
            content_hash="x" * 64, created_at=dt.datetime.now(dt.UTC),
            updated_at=dt.datetime.now(dt.UTC)))
    assert_same(store, bill.bill_no, AFTER)


def test_fast_read_of_an_unknown_bill_is_none(store: Store) -> None:
    reader = Reader(store)
    assert reader.bill_and_status("B0000", lambda b: DUE) is None
    reader.close()


def test_fast_read_reconnects_after_its_connection_dies(store: Store) -> None:
    bill = insert_bill(store, make_bill())
    reader = Reader(store)
    assert reader.bill_and_status(bill.bill_no, lambda b: DUE) is not None
    reader._connection().driver_connection.close()  # as if the database restarted
    found = reader.bill_and_status(bill.bill_no, lambda b: DUE)
    assert found is not None and found[0] == bill
    reader.close()
