"""Shifts and the day book: one open shift per counter, close once, formula-safe CSV;
closing counts payments in flight and refuses collects and cancels that waited on it."""

from __future__ import annotations

import datetime as dt

import pytest

from qrpay.config import Config
from qrpay.desk import counter, shift
from qrpay.desk.cancel import cancel_receipt
from qrpay.desk.staff import Staff, add_staff
from qrpay.errors import Conflict
from qrpay.store import Store
from tests.desk.conftest import insert_bill, make_bill, race

T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def staffer(store: Store, name: str, counter: str) -> Staff:
    with store.begin() as conn:
        return add_staff(conn, name, "counter-pass-1", role="cashier", biller="best",
                         counter=counter)


def test_cashiers_at_one_counter_share_its_shift_and_other_counters_get_their_own(
        store: Store) -> None:
    a, b, c = (staffer(store, n, k) for n, k in (("asha", "C1"), ("ravi", "C1"),
                                                  ("sita", "C2")))
    with store.begin() as conn:
        first, opened = shift.join_or_open(conn, a, T0)
        joined, opened_again = shift.join_or_open(conn, b, T0)
        other, _ = shift.join_or_open(conn, c, T0)
    assert opened and not opened_again and joined.id == first.id and other.id != first.id


def test_closed_shift_cannot_close_again_and_next_login_opens_a_new_one(store: Store) -> None:
    a = staffer(store, "asha", "C1")
    with store.begin() as conn:
        first, _ = shift.join_or_open(conn, a, T0)
        summary = shift.close_shift(conn, first.id, 0, a, T0)
        assert not summary.shift.is_open and summary.expected_cash == 0
        with pytest.raises(Conflict) as err:
            shift.close_shift(conn, first.id, 0, a, T0)
        assert err.value.code == "shift_closed"
        second, opened = shift.join_or_open(conn, a, T0)
    assert opened and second.id != first.id


def test_daybook_cells_cannot_run_as_spreadsheet_formulas(best_config: Config) -> None:
    row = shift.DaybookRow(receipt_no="BEST-000000001", paid_at=T0, bill_no="B1",
                           account_no="1", name="=HYPERLINK(\"x\")", mode="cheque",
                           reference="+123", amount=123450, cashier="asha", status="in force")
    text = shift.daybook_csv([row], best_config.biller("best"))
    assert "'=HYPERLINK" in text and "'+123" in text and "1234.50" in text


# ------------------------------------------------------------------------------ races

def _collect(config: Config, who: Staff, shift_id: int, bill_no: str, amount: int):  # type: ignore[no-untyped-def]
    form = counter.CollectIn(bill_no, "D" + "c" * 24, amount, "cash")
    return lambda conn: counter.collect(conn, config, who, shift_id, form, T0)


def _open(store: Store, who: Staff) -> int:
    with store.begin() as conn:
        return shift.join_or_open(conn, who, T0)[0].id


def test_closing_waits_for_a_payment_being_posted_and_counts_it(
        store: Store, best_config: Config) -> None:
    a = staffer(store, "asha", "C1")
    shift_id = _open(store, a)
    bill = insert_bill(store, make_bill(amount=50000))
    collected, closed = race(store, _collect(best_config, a, shift_id, bill.bill_no, 50000),
                             lambda conn: shift.close_shift(conn, shift_id, 50000, a, T0))
    assert isinstance(collected, counter.Collected)
    assert isinstance(closed, shift.ShiftSummary) and closed.expected_cash == 50000
    with store.connect() as conn:
        assert shift.get_shift(conn, shift_id).expected_cash == 50000


def test_collect_that_waited_on_a_shift_closing_is_refused(
        store: Store, best_config: Config) -> None:
    a = staffer(store, "asha", "C1")
    shift_id = _open(store, a)
    bill = insert_bill(store, make_bill(amount=50000))
    closed, collected = race(store, lambda conn: shift.close_shift(conn, shift_id, 0, a, T0),
                             _collect(best_config, a, shift_id, bill.bill_no, 50000))
    assert isinstance(closed, shift.ShiftSummary)
    assert isinstance(collected, Conflict) and collected.code == "shift_closed"
    with store.connect() as conn:
        assert shift.daybook(conn, shift_id) == []


def test_cancel_that_waited_on_a_shift_closing_is_refused(
        store: Store, best_config: Config) -> None:
    a = staffer(store, "asha", "C1")
    with store.begin() as conn:
        boss = add_staff(conn, "meera", "counter-pass-1", role="supervisor", biller="best",
                         counter="C1")
    shift_id = _open(store, a)
    bill = insert_bill(store, make_bill(amount=50000))
    with store.begin() as conn:
        receipt = _collect(best_config, a, shift_id, bill.bill_no, 50000)(conn)
    closed, cancelled = race(
        store, lambda conn: shift.close_shift(conn, shift_id, 50000, a, T0),
        lambda conn: cancel_receipt(conn, best_config, boss, receipt.receipt_no,
                                    "typed wrong amount", T0))
    assert isinstance(closed, shift.ShiftSummary) and closed.expected_cash == 50000
    assert isinstance(cancelled, Conflict) and cancelled.code == "shift_closed"
    with store.connect() as conn:
        assert [r.status for r in shift.daybook(conn, shift_id)] == ["in force"]
