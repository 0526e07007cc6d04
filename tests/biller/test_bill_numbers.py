"""``lookup.bill_numbers`` (what a PostgreSQL payment batch locks up front) names the
bills ``find_bills`` answers with, from the bill rows alone (its read sent at once, the
numbers from the function it returns, so that a batch reads all of them in one round
trip)."""

from __future__ import annotations

import pytest

from qrpay.biller.lookup import Identifier, bill_numbers, find_bills
from qrpay.config import Config
from qrpay.errors import NotFound
from qrpay.store import Store
from tests.biller.conftest import add, bd_bill


@pytest.mark.parametrize(("kind", "value", "period"), [
    ("account", "104231245", None), ("account", "১০৪২৩১২৪৫", "2026-10"),
    ("mobile", "01717784483", None), ("bill", "2610104231245", None),
    ("meter", "56781234", None)])
def test_the_same_bills_as_find_bills(breb: Config, store: Store, kind: str, value: str,
                                      period: str | None) -> None:
    add(store, bd_bill("104231245", mobile="+8801717784483", meter="56781234"),
        bd_bill("104231245", period="2026-10", mobile="+8801717784483"),
        bd_bill("806540103", mobile="+8801717784483"))
    ident = Identifier(kind, value)
    with store.connect() as conn:
        found = find_bills(conn, breb, ident, period=period)
        numbers = bill_numbers(conn, breb, ident, period=period)()
    assert numbers == tuple(f.bill.bill_no for f in found)
    assert numbers


def test_nothing_found_is_empty(breb: Config, store: Store) -> None:
    add(store, bd_bill("104231245"))
    with store.connect() as conn:
        assert bill_numbers(conn, breb, Identifier("account", "999999999"))() == ()
        assert bill_numbers(conn, breb, Identifier("account", "104231245"),
                            period="2020-01")() == ()
        with pytest.raises(NotFound):
            find_bills(conn, breb, Identifier("account", "999999999"))
