"""Issue 10 item 3: the desk finds a bill by bill number, account (consumer) number, meter
number or mobile, typed in any digits; "not found" and "not ours" are different answers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable

import pytest

from qrpay.config import Config
from qrpay.desk.lookup import find_bills
from qrpay.store import Store
from tests.desk.conftest import Desk, add_user, insert_bill, make_bill

OLD_DUE = dt.date(2099, 10, 15)


@pytest.fixture
def bills(store: Store) -> None:
    old = make_bill("B2609104231245", due_date=OLD_DUE)
    insert_bill(store, dataclasses.replace(old, period="2026-09", meter_no="050350143117"))
    paid = make_bill("B2610104231245", due_date=OLD_DUE)
    insert_bill(store, dataclasses.replace(paid, period="2026-10", meter_no="050350143117"))
    latest = make_bill("B2611104231245")
    insert_bill(store, dataclasses.replace(latest, meter_no="050350143117",
                                           mobile="+919812345678"))
    other = make_bill("B2611100000077", name="Rahul Patil")
    insert_bill(store, dataclasses.replace(other, mobile="+919812345678"))
    insert_bill(store, make_bill("B2611999999999", biller="tata", name="Not ours"))


@pytest.fixture
def desk(bills: None, store: Store, make_desk: Callable[[], Desk]) -> Desk:
    add_user(store, "asha")
    d = make_desk()
    assert d.login("asha") == 303
    d.collect(d.scan("B2610104231245").text, "1234.50")  # October is paid
    return d


def _result(html: str) -> dict[str, str]:
    found = re.search(r'id="result" data-verdict="([^"]*)" data-refused="([^"]*)" '
                      r'data-state="([^"]*)" data-found-by="([^"]*)"', html)
    assert found, "no result section"
    return dict(zip(("verdict", "refused", "state", "found_by"), found.groups(), strict=True))


@pytest.mark.parametrize("typed", ["১০৪২৩১২৪৫", "104 231 245", "१०४२३१२४५"])
def test_account_number_in_any_digits_gives_latest_bill_and_earlier_unpaid(
        desk: Desk, typed: str) -> None:
    page = desk.scan(typed).text
    assert _result(page)["found_by"] == "account"
    assert 'id="bill-no">B2611104231245<' in page and 'id="collect-form"' in page
    earlier = page[page.index('id="earlier"'):]
    assert 'data-bill="B2609104231245"' in earlier
    assert 'data-bill="B2610104231245"' not in earlier  # paid: not listed


def test_meter_number_finds_the_account(desk: Desk) -> None:
    page = desk.scan("০৫০৩৫০১৪৩১১৭").text
    assert _result(page)["found_by"] == "meter" and 'id="bill-no">B2611104231245<' in page


def test_mobile_shared_by_two_accounts_offers_a_choice(desk: Desk) -> None:
    page = desk.scan("98123 ४५६७८").text
    assert _result(page)["found_by"] == "mobile"
    choices = page[page.index('id="choices"'):]
    assert 'data-bill="B2611104231245"' in choices and 'data-bill="B2611100000077"' in choices
    assert 'id="collect-form"' not in page


def test_unknown_number_is_not_found_and_another_billers_is_not_ours(desk: Desk) -> None:
    desk.client.get("/desk?lang=en")
    unknown = desk.scan("555000111").text
    assert _result(unknown)["refused"] == "not_found" and "Not found:" in unknown
    assert _result(desk.scan("১২৩").text)["refused"] == "not_found"  # short, still a number
    theirs = desk.scan("B2611999999999").text
    assert _result(theirs)["refused"] == "wrong_biller" and "Not ours:" in theirs
    assert "Not a bill QR" not in unknown + theirs


def test_lookup_function_without_the_web(bills: None, store: Store,
                                         best_config: Config) -> None:
    best = best_config.biller("best")
    with store.connect() as conn:
        assert find_bills(conn, best, "B2611104231245").kind == "bill_no"
        by_account = find_bills(conn, best, "104231245")
        assert [b.bill_no for b in by_account.bills] == [
            "B2611104231245", "B2610104231245", "B2609104231245"]
        assert find_bills(conn, best, "+91 98123 45678").accounts == ("104231245",
                                                                     "100000077")
        assert find_bills(conn, best, "B2611999999999").elsewhere
        assert not find_bills(conn, best, "12345678").elsewhere
