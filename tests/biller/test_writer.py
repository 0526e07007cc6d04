"""The biller's group-commit writer: a refusal undoes only its own savepoint; any other
failure re-runs each request of the batch alone; answers only after commit."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import OperationalError

from qrpay.biller.writer import PaymentWriter, _Item, run_batch
from qrpay.errors import PaymentError
from qrpay.store import Store
from qrpay.store.schema import bills, channel_auth

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def insert(name: str, fail: BaseException | None = None) -> Any:
    def job(conn: Connection) -> str:
        conn.execute(channel_auth.insert().values(channel=name, window_start=NOW, failures=0))
        if fail is not None:
            raise fail
        return name
    return job


def names(store: Store) -> list[str]:
    with store.connect() as conn:
        return sorted(conn.execute(select(channel_auth.c.channel)).scalars())


def test_a_refusal_rolls_back_only_its_own_writes(store: Store) -> None:
    items = [_Item(insert("a")), _Item(insert("b", PaymentError("no", code="x"))),
             _Item(insert("c"))]
    run_batch(store, items)
    assert names(store) == ["a", "c"]
    assert items[0].future.result() == "a"
    with pytest.raises(PaymentError):
        items[1].future.result()


def test_another_failure_runs_each_request_alone(store: Store) -> None:
    items = [_Item(insert("a")), _Item(insert("b", RuntimeError("bug"))), _Item(insert("c"))]
    run_batch(store, items)
    assert names(store) == ["a", "c"]
    with pytest.raises(RuntimeError):
        items[1].future.result()
    assert items[2].future.result() == "c"


def test_writer_serves_many_threads(store: Store) -> None:
    writer = PaymentWriter(store, max_batch=8)
    with ThreadPoolExecutor(16) as pool:
        got = list(pool.map(lambda i: writer.run(insert(f"n{i:03d}")), range(100)))
    assert got == [f"n{i:03d}" for i in range(100)]
    assert len(names(store)) == 100


def _bill(no: str) -> dict[str, Any]:
    return {"bill_no": no, "biller": "dhaka-pbs-1", "account_no": no, "name": "x",
            "period": "2026-11", "amount": 100, "due_date": dt.date(2026, 12, 20),
            "history": "[]", "charges": "[]", "content_hash": "x" * 64, "created_at": NOW,
            "updated_at": NOW}


def test_a_postgresql_batch_locks_the_bills_it_names_before_its_first_job(
        store: Store) -> None:
    if store.is_sqlite:
        pytest.skip("SQLite's write transaction excludes every other writer")
    with store.begin() as conn:
        conn.execute(bills.insert(), [_bill("B1"), _bill("B2")])

    def peek(conn: Connection) -> str:  # from another connection: is B2 locked already?
        with store.connect() as other:
            try:
                other.execute(text("SELECT 1 FROM bills WHERE bill_no = 'B2' "
                                   "FOR UPDATE NOWAIT"))
            except OperationalError:
                return "locked"
            return "free"

    items = [_Item(peek, lambda conn: ["B1"]), _Item(insert("b"), lambda conn: ["B2"])]
    run_batch(store, items)
    assert items[0].future.result() == "locked"
    assert names(store) == ["b"]
