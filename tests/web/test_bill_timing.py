"""A wrong token on an existing bill does the same work as any token on an unknown one:
one query, one bill built, three MACs; only a token that checks reads the payments.  The
work is counted, not timed (tests never assert a time)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from qrpay.payload import token as token_module
from qrpay.payments.posting import PaymentIn, post_payment
from qrpay.web.reads import Reader

from .conftest import insert_bill, make_bill

WRONG = "k1.AAAAAAAAAAAA"


@pytest.fixture
def work(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    counts = {"macs": 0, "queries": 0}
    real_mac = token_module._mac

    def mac(*args: Any) -> str:
        counts["macs"] += 1
        return real_mac(*args)

    monkeypatch.setattr(token_module, "_mac", mac)
    real_connection = Reader._connection

    def connection(self: Reader) -> Any:
        return _Counting(real_connection(self), counts)

    monkeypatch.setattr(Reader, "_connection", connection)
    yield counts


class _Counting:
    def __init__(self, conn: Any, counts: dict[str, int]) -> None:
        self._conn, self._counts = conn, counts

    def cursor(self) -> Any:
        return _CountingCursor(self._conn.cursor(), self._counts)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def _cost(client: TestClient, work: dict[str, int], path: str) -> tuple[int, int, int]:
    work.update(macs=0, queries=0)
    r = client.get(path)
    return r.status_code, work["macs"], work["queries"]


def test_unknown_bill_and_wrong_tokens_cost_the_same(client: TestClient, store, best_config,
                                                    work: dict[str, int]) -> None:
    insert_bill(store, make_bill("B2611100000001"))  # unpaid, with a late amount
    insert_bill(store, make_bill("B2611100000002", late_amount=None))
    insert_bill(store, make_bill("B2611100000003"))
    with store.begin() as conn:  # part paid: the ledger has a payment
        post_payment(conn, best_config, PaymentIn(channel="upi", txn_id="T-1",
                                                  bill_no="B2611100000003", amount=1000,
                                                  currency="INR"))
    costs = {no: _cost(client, work, f"/b/{no}?t={WRONG}")
             for no in ("B2611100000001", "B2611100000002", "B2611100000003",
                        "B2611199999999")}
    assert len(set(costs.values())) == 1, costs
    status, macs, queries = costs["B2611199999999"]
    assert (status, macs, queries) == (200, 3, 1)


class _CountingCursor:
    def __init__(self, cur: Any, counts: dict[str, int]) -> None:
        self._cur, self._counts = cur, counts

    def execute(self, *args: Any) -> Any:
        self._counts["queries"] += 1
        return self._cur.execute(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cur, name)
