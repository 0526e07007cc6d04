"""Exactly once inside one group-commit batch: every report of a transaction sees what
the reports before it in the same batch did (issue 9's double postings and lost or
undone reversals), checked on the database afterwards."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import func, select

from qrpay.channels import handle_callback, item_for
from qrpay.channels.generic import sign
from qrpay.channels.razorpay import sign as razorpay_sign
from qrpay.config import Config
from qrpay.payments.callbacks import CallbackResult, Item, process
from qrpay.store import Store
from qrpay.store.schema import callbacks, ledger, outbox, payments, receipt_counters

from .conftest import add_bill

NOW = dt.datetime(2024, 6, 10, 6, 0, tzinfo=dt.UTC)
T = int(NOW.timestamp())
SECRET = "test-secret-upi"


def body(txn_id: str = "T1", status: str = "success", **over: object) -> bytes:
    doc = {"event_id": f"evt_{txn_id}_{status}", "txn_id": txn_id,
           "bill_no": "B2405100000001", "amount": "1234.50", "currency": "INR",
           "status": status, "paid_at": "2024-06-10T11:30:00+05:30",
           "payer": "ravi@okaxis", "utr": "412345678901"}
    doc.update(over)
    return json.dumps(doc).encode()


def item(config: Config, raw: bytes) -> Item:
    return item_for(config, "upi", {"X-Qrpay-Signature": sign(SECRET, raw, T)}, raw,
                    "127.0.0.1", NOW)


def batch(store: Store, config: Config, *raws: bytes) -> list[CallbackResult]:
    """Run ``raws`` as ONE group-commit batch (as the writer does when they queue up)."""
    items = [item(config, raw) for raw in raws]
    process(store, config, items)
    return [i.future.result() for i in items]


def one(store: Store, config: Config, raw: bytes) -> CallbackResult:
    return handle_callback(store, config, "upi", {"X-Qrpay-Signature": sign(SECRET, raw, T)},
                           raw, "127.0.0.1", now=NOW)


def scalar(store: Store, q):  # type: ignore[no-untyped-def]
    with store.connect() as conn:
        return conn.execute(q).scalar_one()


def kinds(store: Store) -> list[str]:
    with store.connect() as conn:
        return list(conn.execute(select(ledger.c.kind).where(ledger.c.kind != "charge")
                                 .order_by(ledger.c.id)).scalars())


def payment_row(store: Store, txn_id: str = "T1"):  # type: ignore[no-untyped-def]
    with store.connect() as conn:
        return conn.execute(select(payments).where(payments.c.txn_id == txn_id)).one()


def counter(store: Store) -> int:
    return scalar(store, select(func.coalesce(func.max(receipt_counters.c.last_no), 0)))


def notices(store: Store) -> list[str]:
    with store.connect() as conn:
        return sorted(conn.execute(select(outbox.c.dedupe_key)).scalars())


def test_failed_then_three_successes_in_one_batch_post_once(store: Store,
                                                            best_config: Config) -> None:
    add_bill(store)
    assert one(store, best_config, body(status="failed")).body["result"] == "recorded"
    answers = batch(store, best_config, body(), body(), body())
    assert [a.body["result"] for a in answers] == ["posted", "duplicate", "duplicate"]
    assert {a.body["receipt_no"] for a in answers} == {"BEST-000000001"}
    assert kinds(store) == ["payment"]
    assert counter(store) == 1
    row = payment_row(store)
    assert (row.status, row.receipt_no) == ("success", "BEST-000000001")
    assert len(notices(store)) == 1


def test_pending_then_successes_in_one_batch_post_once(store: Store,
                                                       best_config: Config) -> None:
    add_bill(store)
    assert one(store, best_config, body(status="pending")).body["result"] == "recorded"
    answers = batch(store, best_config, *[body()] * 4)
    assert [a.body["result"] for a in answers] == ["posted"] + ["duplicate"] * 3
    assert kinds(store) == ["payment"]
    assert counter(store) == 1


def test_success_and_reversal_in_one_batch_stay_reversed(store: Store,
                                                         best_config: Config) -> None:
    add_bill(store)
    answers = batch(store, best_config, body(), body(status="reversed"))
    assert [a.body["result"] for a in answers] == ["posted", "reversed"]
    assert answers[1].body["receipt_no"] == "BEST-000000001"
    row = payment_row(store)
    assert (row.status, row.receipt_no) == ("reversed", "BEST-000000001")
    assert kinds(store) == ["payment", "reversal"]
    with store.connect() as conn:
        receipts = list(conn.execute(select(ledger.c.receipt_no)
                                     .where(ledger.c.kind != "charge")).scalars())
    assert receipts == ["BEST-000000001", "BEST-000000001"]
    # the channel resends the reversal: nothing more is owed
    assert one(store, best_config, body(status="reversed")).body["result"] == "duplicate"
    assert kinds(store) == ["payment", "reversal"]
    assert notices(store) == [f"payment:{row.id}:received", f"payment:{row.id}:reversed"]


def test_pending_then_success_and_reversal_in_one_batch_is_not_lost(
        store: Store, best_config: Config) -> None:
    add_bill(store)
    assert one(store, best_config, body(status="pending")).body["result"] == "recorded"
    answers = batch(store, best_config, body(), body(status="reversed"))
    assert [a.body["result"] for a in answers] == ["posted", "reversed"]
    assert payment_row(store).status == "reversed"
    assert kinds(store) == ["payment", "reversal"]
    assert answers[1].body["bill_state"] == "unpaid"


def test_success_reversed_success_in_one_batch_is_ignored_after_the_reversal(
        store: Store, best_config: Config) -> None:
    add_bill(store)
    answers = batch(store, best_config, body(), body(status="reversed"), body(),
                    body(status="reversed"))
    assert [a.body["result"] for a in answers] == ["posted", "reversed", "ignored",
                                                   "duplicate"]
    assert kinds(store) == ["payment", "reversal"]
    assert counter(store) == 1


def test_reversal_of_an_earlier_posting_and_a_new_payment_of_the_bill_in_one_batch(
        store: Store, best_config: Config) -> None:
    add_bill(store)
    assert one(store, best_config, body("A")).body["result"] == "posted"
    answers = batch(store, best_config, body("A", status="reversed"), body("B"))
    assert [a.body["result"] for a in answers] == ["reversed", "posted"]
    assert answers[1].body["bill_state"] == "paid"
    assert kinds(store) == ["payment", "reversal", "payment"]


def test_paid_at_near_year_9999_is_refused_and_recorded(store: Store,
                                                       best_config: Config) -> None:
    add_bill(store)
    for paid_at in ("9999-12-31T23:59:00+00:00", "9999-12-31T20:00:00-05:00"):
        res = one(store, best_config, body(paid_at=paid_at))
        assert 400 <= res.status < 500, res
        assert res.body["error"]["code"] == "bad_paid_at"
        with store.connect() as conn:
            result = conn.execute(select(callbacks.c.result)
                                  .where(callbacks.c.id == res.callback_id)).scalar_one()
        assert result == "bad_paid_at"
    assert scalar(store, select(func.count()).select_from(payments)) == 0


def test_razorpay_created_at_near_year_9999_is_refused_and_recorded(
        store: Store, best_config: Config) -> None:
    add_bill(store)
    entity = {"id": "pay_Z", "entity": "payment", "amount": 123450, "currency": "INR",
              "status": "captured", "method": "upi", "notes": {"bill_no": "B2405100000001"},
              "created_at": 253402300000}
    raw = json.dumps({"entity": "event", "event": "payment.captured",
                      "payload": {"payment": {"entity": entity}},
                      "created_at": 1718000001}).encode()
    headers = {"X-Razorpay-Signature": razorpay_sign("test-secret-razorpay", raw)}
    for _ in range(2):  # the channel retries: the same 4xx each time
        res = handle_callback(store, best_config, "razorpay", headers, raw, None, now=NOW)
        assert 400 <= res.status < 500, res
        assert res.body["error"]["code"] == "bad_paid_at"
    assert scalar(store, select(func.count()).select_from(payments)) == 0


def test_callback_far_above_the_bill_is_recorded_and_held_not_credited(
        store: Store, best_config: Config) -> None:
    add_bill(store)  # 1,234.50 due; ceiling 1,234.50 + max(10 %, 100.00)
    res = one(store, best_config, body(amount="99999.00"))
    assert (res.status, res.body["result"], res.body["receipt_no"]) == (200, "held", None)
    assert payment_row(store).status == "held"
    assert kinds(store) == [] and counter(store) == 0 and notices(store) == []
    assert one(store, best_config, body(amount="99999.00")).body["result"] == "duplicate"
    assert one(store, best_config, body("T2", amount="1300.00")).body["result"] == "posted"


class _Deadlock(Exception):
    sqlstate = "40P01"


def test_a_batch_that_loses_a_deadlock_runs_again_and_posts_once(
        store: Store, best_config: Config, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from qrpay.payments import batch as batch_mod

    add_bill(store)
    real = batch_mod.Batch.take_receipts
    failures = iter([True])

    def flaky(self):  # type: ignore[no-untyped-def]
        if next(failures, False):
            raise _Deadlock("deadlock detected")
        return real(self)

    monkeypatch.setattr(batch_mod.Batch, "take_receipts", flaky)
    answers = batch(store, best_config, body("D1"), body("D2"))
    assert [a.body["result"] for a in answers] == ["posted", "posted"]
    assert counter(store) == 2 and kinds(store) == ["payment", "payment"]
    assert scalar(store, select(func.count()).select_from(callbacks)) == 2


def test_one_callback_failing_the_batch_does_not_fail_the_others(
        store: Store, best_config: Config, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from qrpay.payments import batch as batch_mod

    add_bill(store)
    real = batch_mod.Batch.apply

    def poisoned(self, p, now):  # type: ignore[no-untyped-def]
        if p.txn_id == "BAD":
            raise RuntimeError("poisoned")
        return real(self, p, now)

    monkeypatch.setattr(batch_mod.Batch, "apply", poisoned)
    items = [item(best_config, raw) for raw in (body("OK1"), body("BAD"), body("OK2"))]
    process(store, best_config, items)
    good = [items[0].future.result(), items[2].future.result()]
    assert [a.body["result"] for a in good] == ["posted", "posted"]
    with pytest.raises(RuntimeError):
        items[1].future.result()
    with store.connect() as conn:  # the failed one is kept as received, marked
        rows = dict(conn.execute(select(callbacks.c.txn_id, callbacks.c.result)).all())
    assert rows == {"OK1": "posted", "OK2": "posted", "BAD": "internal_error"}
    assert counter(store) == 2


def test_a_held_payment_is_released_once_or_refused(store: Store,
                                                    best_config: Config) -> None:
    import pytest

    from qrpay.errors import Conflict
    from qrpay.payments.review import held_payments, refuse_held, release_held

    add_bill(store)
    add_bill(store, bill_no="B2405100000002")
    big = one(store, best_config, body("H1", amount="5000.00"))
    other = one(store, best_config, body("H2", bill_no="B2405100000002", amount="5000.00"))
    assert big.body["result"] == other.body["result"] == "held"
    with store.connect() as conn:
        assert [p["txn_id"] for p in held_payments(conn, "best")] == ["H1", "H2"]
    with store.begin() as conn:
        res = release_held(conn, best_config, big.body["payment_id"])
    assert (res.result, res.receipt_no, res.bill_state) == ("posted", "BEST-000000001",
                                                            "credit")
    with store.begin() as conn, pytest.raises(Conflict) as exc:
        release_held(conn, best_config, big.body["payment_id"])
    assert exc.value.code == "not_held"
    with store.begin() as conn:
        assert refuse_held(conn, other.body["payment_id"], reason="paid twice").status == (
            "refused")
    assert one(store, best_config, body("H1", amount="5000.00")).body["result"] == (
        "duplicate")
    assert one(store, best_config, body("H2", bill_no="B2405100000002",
                                        amount="5000.00")).body["result"] == "ignored"
    assert kinds(store) == ["payment"] and counter(store) == 1
    assert len(notices(store)) == 1
