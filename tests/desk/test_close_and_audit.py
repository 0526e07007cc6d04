"""Issue 10 item 4: a short cash count closes only when confirmed with a note; the closed
shift says when it closed; the day book and the audit page speak the biller's local time
and rupees/taka, and the audit page reads as who, what, amount, bill."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable

import pytest
from sqlalchemy import select, text

from qrpay.config import Config
from qrpay.store import Store, open_store
from qrpay.store.schema import shifts
from tests.desk.conftest import Desk, add_user, insert_bill, make_bill


@pytest.fixture
def desk(store: Store, make_desk: Callable[[], Desk]) -> Desk:
    insert_bill(store, make_bill())
    add_user(store, "meera", "supervisor")
    d = make_desk()
    assert d.login("meera") == 303
    r = d.collect(d.scan("B2611100000001").text, "1234.50")
    assert r.status_code == 303
    d.client.get("/desk?lang=en")
    return d


def _shift_id(store: Store) -> int:
    with store.connect() as conn:
        return int(conn.execute(select(shifts.c.id)).scalar_one())


def test_shortage_needs_confirmation_and_a_note(desk: Desk, store: Store) -> None:
    form = {"declared_cash": "1200", "shift_id": str(_shift_id(store))}
    held = desk.post("/desk/shift/close", form)
    assert held.status_code == 409 and 'data-code="shortage"' in held.text
    assert 'id="shortage">₹ 34.50<' in held.text and 'value="3450"' in held.text
    no_note = desk.post("/desk/shift/close", {**form, "confirm_short": "3450"})
    assert 'data-code="missing_note"' in no_note.text
    wrong = desk.post("/desk/shift/close", {**form, "confirm_short": "1",
                                            "note": "coins missing"})
    assert 'data-code="shortage"' in wrong.text
    done = desk.post("/desk/shift/close", {**form, "confirm_short": "3450",
                                           "note": "coins   missing"})
    assert done.status_code == 303
    page = desk.client.get(done.headers["location"]).text
    assert 'id="close-note">coins missing<' in page and 'data-open="no"' in page


def test_exact_or_surplus_count_closes_at_once(desk: Desk, store: Store) -> None:
    r = desk.post("/desk/shift/close", {"declared_cash": "1234.50",
                                        "shift_id": str(_shift_id(store))})
    assert r.status_code == 303


def test_closed_shift_shows_when_it_closed_on_the_billers_clock(
        desk: Desk, store: Store, best_config: Config) -> None:
    r = desk.post("/desk/shift/close", {"declared_cash": "1234.50",
                                        "shift_id": str(_shift_id(store))})
    page = desk.client.get(r.headers["location"]).text
    with store.connect() as conn:
        closed = conn.execute(select(shifts.c.closed_at)).scalar_one()
    local = best_config.biller("best").local(closed).strftime("%Y-%m-%d %H:%M")
    assert re.search(rf'id="closed-at">Closed at <strong>{local}</strong> · by meera', page)


def test_daybook_in_local_time_and_rupees(desk: Desk, store: Store) -> None:
    book = desk.client.get(f"/desk/shift/{_shift_id(store)}/daybook.csv")
    row = next(csv.DictReader(io.StringIO(book.content.decode("utf-8-sig"))))
    assert row["paid_at"].endswith("+05:30")
    assert row["amount"] == "1234.50" and row["currency"] == "INR"


def test_audit_page_reads_who_what_amount_bill(desk: Desk) -> None:
    page = desk.client.get("/desk/audit").text
    collect = re.search(r'<tr class="act-collect".*?</tr>', page, re.S)
    assert collect, "no collect row"
    row = collect.group(0)
    assert ">meera<" in row and ">Collected<" in row and "₹ 1,234.50" in row
    assert "B2611100000001" in row and "BEST-000000001" in row
    assert "{&#34;" not in page and '{"' not in page  # no raw JSON
    assert "Asia/Kolkata" in page


def test_upgrade_adds_the_close_note_column_to_an_older_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path}/old.db"
    store = open_store(url)
    with store.begin() as conn:
        conn.execute(text("ALTER TABLE shifts DROP COLUMN close_note"))
        conn.execute(text("DELETE FROM schema_version WHERE version >= 4"))  # v4 and later
    assert 4 in store.upgrade()
    with store.connect() as conn:
        assert conn.execute(select(shifts.c.close_note)).all() == []


def test_shift_counts_are_in_the_billers_digits_beside_its_amounts(breb_config, store: Store  # type: ignore[no-untyped-def]
                                                                   ) -> None:
    """A Bengali desk of a profile with numerals = "beng" writes the receipt counts in
    Bengali digits, as it does the taka amounts beside them (English keeps ASCII)."""
    from starlette.testclient import TestClient

    from qrpay.web.app import create_app

    insert_bill(store, make_bill("2611104231245", biller="dhaka-pbs-1", amount=92972,
                                 late_amount=97621))
    add_user(store, "rahim", "supervisor", biller="dhaka-pbs-1")
    with TestClient(create_app(breb_config, store, start_sender=False)) as client:
        desk = Desk(client)
        assert desk.login("rahim") == 303
        r = desk.collect(desk.scan("2611104231245").text, "929.72")
        desk.post(r.headers["location"] + "/cancel", {"reason": "wrong bill"})
        desk.collect(desk.scan("2611104231245").text, "929.72")
        bn = client.get("/desk/shift?lang=bn").text
        en = client.get("/desk/shift?lang=en").text
    assert 'id="shift-receipts">১<' in bn and 'id="cancelled-count">১<' in bn
    assert "৳ ৯২৯.৭২" in bn and "<td>1</td>" not in bn and ": 1 (" not in bn
    assert 'id="shift-receipts">1<' in en and 'id="cancelled-count">1<' in en
