"""Payments of one writer batch share one posting batch: each decided on what the ones
before it left, receipts taken together after every decision, answers built after
(``core.answered``); a retry of a transaction claimed in the same batch, or a job that
refuses after writing, runs the batch again with a savepoint per job."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, select

from qrpay.biller import core
from qrpay.biller.lookup import Identifier
from qrpay.biller.writer import _Item, run_batch, shared
from qrpay.config import Config
from qrpay.errors import NotFound, PaymentError
from qrpay.store import Store, utcnow
from qrpay.store.schema import channel_auth, ledger, outbox, payments
from tests.biller.conftest import add, bd_bill


class Pay:
    """A shared job paying ``account`` through bKash; counts its runs."""

    def __init__(self, config: Config, account: str, txn: str, amount: int) -> None:
        self.config, self.runs, self.shared = config, 0, 0
        self.req = core.PayRequest(channel="bkash", txn_id=txn, amount=amount,
                                   ident=Identifier("account", account))

    def __call__(self, conn: Connection) -> Any:
        self.runs += 1
        self.shared += shared(conn) is not None
        got = core.pay(conn, self.config, self.req, now=utcnow())
        return core.answered(got, lambda r: r.receipt_no)

    def item(self) -> _Item:
        bill = "2611" + self.req.ident.value
        return _Item(self, lambda conn: [bill], shared=True)


def receipts(store: Store) -> list[str]:
    with store.connect() as conn:
        return sorted(conn.execute(select(payments.c.receipt_no)
                                   .where(payments.c.status == "success")).scalars())


def test_a_batch_posts_each_payment_with_its_receipt_and_no_savepoint(
        breb: Config, store: Store) -> None:
    add(store, bd_bill("104231245", mobile="+8801717784483"),
        bd_bill("104231246", mobile="+8801717784484"))
    jobs = [Pay(breb, "104231245", "T1", 10000), Pay(breb, "999999999", "T2", 10000),
            Pay(breb, "104231246", "T3", 20000)]
    items = [j.item() for j in jobs]
    run_batch(store, items)
    assert items[0].future.result() == "DHAKA-PBS-1-000000001"
    with pytest.raises(NotFound):
        items[1].future.result()
    assert items[2].future.result() == "DHAKA-PBS-1-000000002"
    assert [j.runs for j in jobs] == [1, 1, 1]  # a refusal before writing: no rerun
    assert [j.shared for j in jobs] == [1, 1, 1]
    assert receipts(store) == ["DHAKA-PBS-1-000000001", "DHAKA-PBS-1-000000002"]
    with store.connect() as conn:
        rows = conn.execute(select(ledger.c.receipt_no).where(ledger.c.kind == "payment")
                            ).scalars().all()
        sms = conn.execute(select(outbox.c.dedupe_key)).scalars().all()
    assert sorted(rows) == receipts(store)
    assert len(sms) == 2


def test_payments_of_one_bill_in_a_batch_see_each_other(breb: Config, store: Store) -> None:
    add(store, bd_bill("104231245", amount=92972))
    jobs = [Pay(breb, "104231245", "T1", 90000), Pay(breb, "104231245", "T2", 10000)]
    items = [j.item() for j in jobs]
    run_batch(store, items)
    assert items[0].future.result() == "DHAKA-PBS-1-000000001"
    with pytest.raises(PaymentError) as err:  # 29.72 is left: 100.00 is too much
        items[1].future.result()
    assert err.value.code == "amount_differs"
    assert [j.runs for j in jobs] == [1, 1]
    assert receipts(store) == ["DHAKA-PBS-1-000000001"]


def test_a_retry_claimed_in_the_same_batch_runs_it_again_carefully(
        breb: Config, store: Store) -> None:
    add(store, bd_bill("104231245"))
    jobs = [Pay(breb, "104231245", "T1", 10000), Pay(breb, "104231245", "T1", 10000)]
    items = [j.item() for j in jobs]
    run_batch(store, items)
    assert [i.future.result() for i in items] == ["DHAKA-PBS-1-000000001"] * 2
    assert [j.runs for j in jobs] == [2, 2]
    assert [j.shared for j in jobs] == [1, 1]  # then each in its savepoint
    assert receipts(store) == ["DHAKA-PBS-1-000000001"]


def test_a_shared_job_refusing_after_it_wrote_is_undone_by_a_savepoint(
        store: Store) -> None:
    def wrote_then_refused(conn: Connection) -> str:
        state = shared(conn)
        if state is not None:
            state.wrote += 1
        conn.execute(channel_auth.insert().values(channel="a", window_start=utcnow(),
                                                  failures=0))
        raise PaymentError("no", code="x")

    def fine(conn: Connection) -> str:
        conn.execute(channel_auth.insert().values(channel="b", window_start=utcnow(),
                                                  failures=0))
        return "b"

    items = [_Item(wrote_then_refused, shared=True), _Item(fine, shared=True)]
    run_batch(store, items)
    with pytest.raises(PaymentError):
        items[0].future.result()
    assert items[1].future.result() == "b"
    with store.connect() as conn:
        assert conn.execute(select(channel_auth.c.channel)).scalars().all() == ["b"]
