"""Issue 10 item 1: the desk takes no amount blindly.  More than due needs the cashier's
explicit confirmation (showing the excess), above the biller's ceiling a supervisor, and
cash above the mode's maximum is refused; nothing is posted until then."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from qrpay.config import AmountLimits, Config, load_config
from qrpay.desk.audit import entries
from qrpay.store import Store
from qrpay.store.schema import payments
from tests.desk.conftest import PASSWORD, ROOT, Desk, add_user, insert_bill, make_bill

EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
HOLD = re.compile(r'id="hold" data-code="([a-z_]+)" data-excess="(-?\d+)"')


@pytest.fixture
def cashier(store: Store, make_desk: Callable[[], Desk]) -> Desk:
    insert_bill(store, make_bill())  # due ₹ 1,234.50
    add_user(store, "asha")
    add_user(store, "meera", "supervisor")
    desk = make_desk()
    assert desk.login("asha") == 303
    return desk


def posted(store: Store) -> int:
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(payments)).scalar_one()


def held(store: Store) -> list[dict[str, object]]:
    with store.connect() as conn:
        return [e.detail for e in entries(conn, since=EPOCH, action="collect_held")]


def hold_of(html: str) -> tuple[str, int]:
    found = HOLD.search(html)
    assert found, "no hold shown"
    return found.group(1), int(found.group(2))


def test_more_than_due_needs_confirmation_showing_the_excess(cashier: Desk,
                                                              store: Store) -> None:
    page = cashier.scan("B2611100000001").text
    r = cashier.collect(page, "1300.00")
    assert r.status_code == 409 and posted(store) == 0
    assert hold_of(r.text) == ("over_due", 6550)
    assert "₹ 65.50" in r.text and 'name="confirm_excess" id="confirm-excess" value="130000"' \
        in r.text
    assert held(store)[0]["excess"] == 6550
    again = cashier.collect(r.text, "1300.00", confirm_excess="130000")
    assert again.status_code == 303 and posted(store) == 1


def test_confirmation_of_another_amount_does_not_count(cashier: Desk, store: Store) -> None:
    page = cashier.scan("B2611100000001").text
    r = cashier.collect(page, "1350.00", confirm_excess="130000")
    assert r.status_code == 409 and hold_of(r.text)[0] == "over_due" and posted(store) == 0


def test_due_amount_or_less_needs_no_confirmation(cashier: Desk, store: Store) -> None:
    r = cashier.collect(cashier.scan("B2611100000001").text, "1234.50")
    assert r.status_code == 303 and posted(store) == 1


def test_cash_above_the_mode_maximum_is_refused_even_confirmed(cashier: Desk,
                                                               store: Store) -> None:
    page = cashier.scan("B2611100000001").text
    r = cashier.collect(page, "99,99,999.00", confirm_excess="999999900")
    assert r.status_code == 409 and hold_of(r.text)[0] == "over_mode_max"
    assert 'id="mode-max">₹ 1,99,999.00' in r.text
    assert posted(store) == 0


def test_above_the_ceiling_needs_a_supervisor_password(cashier: Desk, store: Store) -> None:
    page = cashier.scan("B2611100000001").text
    first = cashier.collect(page, "5000.00", mode="card", reference="AP123")
    assert hold_of(first.text)[0] == "needs_approval" and 'id="approver"' in first.text
    confirmed = cashier.collect(page, "5000.00", mode="card", reference="AP123",
                                confirm_excess="500000")
    assert hold_of(confirmed.text)[0] == "needs_approval"
    wrong = cashier.collect(page, "5000.00", mode="card", reference="AP123",
                            confirm_excess="500000", approver="meera",
                            approver_password="not-the-password")
    assert hold_of(wrong.text)[0] == "approval_refused" and posted(store) == 0
    not_supervisor = cashier.collect(page, "5000.00", mode="card", reference="AP123",
                                     confirm_excess="500000", approver="asha",
                                     approver_password=PASSWORD)
    assert hold_of(not_supervisor.text)[0] == "approval_refused"
    ok = cashier.collect(page, "5000.00", mode="card", reference="AP123",
                         confirm_excess="500000", approver="meera",
                         approver_password=PASSWORD)
    assert ok.status_code == 303 and posted(store) == 1
    with store.connect() as conn:
        done = [e.detail for e in entries(conn, since=EPOCH, action="collect")]
    assert done[0]["approved_by"] == "meera"
    assert [h["code"] for h in held(store)] == ["needs_approval", "needs_approval",
                                                "approval_refused", "approval_refused"]


def test_a_supervisor_at_the_desk_approves_by_confirming(
        store: Store, make_desk: Callable[[], Desk]) -> None:
    insert_bill(store, make_bill())
    add_user(store, "meera", "supervisor")
    desk = make_desk()
    assert desk.login("meera") == 303
    page = desk.scan("B2611100000001").text
    first = desk.collect(page, "5000.00", mode="card", reference="AP1")
    assert hold_of(first.text)[0] == "needs_approval" and 'id="approver"' not in first.text
    ok = desk.collect(page, "5000.00", mode="card", reference="AP1", confirm_excess="500000")
    assert ok.status_code == 303 and posted(store) == 1


def test_ceiling_is_percent_of_due_or_the_fixed_amount_whichever_is_more() -> None:
    limits = AmountLimits(ceiling_percent_bp=1000, ceiling_amount=10_000)
    assert limits.ceiling(405_920) == 405_920 + 40_592
    assert limits.ceiling(50_000) == 60_000
    assert limits.ceiling(-500) == 10_000  # a credit: nothing due


def test_profile_sets_the_limits(tmp_path, best_config: Config) -> None:  # type: ignore[no-untyped-def]
    text = (ROOT / "samples" / "best.toml").read_text()
    text = text.replace('ceiling_percent = "10"', 'ceiling_percent = "5"')
    text = text.replace('ceiling_amount = "100.00"', 'ceiling_amount = "0"')
    text = text.replace('cash = "1,99,999.00"', 'cash = "50,000"\ncheque = "10,00,000"')
    path = tmp_path / "p.toml"
    path.write_text(text)
    limits = load_config(path).biller("best").amount_limits
    assert limits.ceiling(100_000) == 105_000
    assert limits.mode_max("cash") == 5_000_000 and limits.mode_max("cheque") == 100_000_000
    assert limits.mode_max("card") is None
    assert best_config.biller("best").amount_limits.mode_max("cash") == 19_999_900
