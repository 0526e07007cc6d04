"""The biller's group-commit writer: a refusal undoes only its own savepoint; any other
failure re-runs each request of the batch alone; answers only after commit."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Connection, select

from qrpay.biller.writer import PaymentWriter, _Item, run_batch
from qrpay.errors import PaymentError
from qrpay.store import Store
from qrpay.store.schema import channel_auth

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
