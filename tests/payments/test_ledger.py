from __future__ import annotations

import dataclasses
import datetime as dt

from qrpay.payments.ledger import (
    account_balance,
    adjust_bill,
    append,
    bill_entries,
    bill_status,
    charge_bill,
)
from qrpay.store import Store

from .conftest import DUE, add_bill


def test_charge_bill_is_idempotent(store: Store) -> None:
    bill = add_bill(store)
    with store.begin() as conn:
        assert charge_bill(conn, bill) == 0
        kinds = [e.kind for e in bill_entries(conn, bill.bill_no)]
    assert kinds == ["charge"]


def test_adjust_bill_writes_only_the_difference(store: Store) -> None:
    bill = add_bill(store, amount=100000)
    changed = dataclasses.replace(bill, amount=90000)
    with store.begin() as conn:
        assert adjust_bill(conn, changed, 100000) == -10000
        assert adjust_bill(conn, changed, 100000) == 0
        status = bill_status(conn, changed, DUE)
    assert (status.charged, status.state, status.due_now) == (90000, "unpaid", 90000)


def test_unpaid_bill_asks_late_amount_after_due_date(store: Store) -> None:
    bill = add_bill(store, amount=100000, late_amount=105000)
    with store.connect() as conn:
        before = bill_status(conn, bill, DUE)
        after = bill_status(conn, bill, DUE + dt.timedelta(days=1))
    assert (before.due_now, after.due_now) == (100000, 105000)
    assert before.state == after.state == "unpaid"


def test_zero_bill_has_nothing_due(store: Store) -> None:
    bill = add_bill(store, amount=0, late_amount=None)
    with store.connect() as conn:
        assert bill_status(conn, bill, DUE).state == "nothing_due"


def test_arrears_are_not_counted_twice_in_the_account_balance(store: Store) -> None:
    old = add_bill(store, bill_no="B2404100000001", account_no="100000001", amount=50000)
    new = add_bill(store, bill_no="B2405100000001", account_no="100000001", amount=80000,
                   arrears=50000)
    with store.begin() as conn:
        append(conn, biller="best", account_no="100000001", bill_no=new.bill_no,
               kind="payment", amount=-80000)
        assert account_balance(conn, "best", "100000001") == 0
        assert bill_status(conn, new, DUE).state == "paid"
        assert bill_status(conn, old, DUE).state == "unpaid"
