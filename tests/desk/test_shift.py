"""Shifts and the day book: one open shift per counter, close once, formula-safe CSV."""

from __future__ import annotations

import datetime as dt

import pytest

from qrpay.desk import shift
from qrpay.desk.staff import Staff, add_staff
from qrpay.errors import Conflict
from qrpay.store import Store

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


def test_daybook_cells_cannot_run_as_spreadsheet_formulas() -> None:
    row = shift.DaybookRow(receipt_no="BEST-000000001", paid_at=T0, bill_no="B1",
                           account_no="1", name="=HYPERLINK(\"x\")", mode="cheque",
                           reference="+123", amount=123450, cashier="asha", status="in force")
    text = shift.daybook_csv([row])
    assert "'=HYPERLINK" in text and "'+123" in text and "1234.50" in text
