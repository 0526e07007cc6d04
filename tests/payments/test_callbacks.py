from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading

import pytest
from sqlalchemy import func, select

from qrpay import channels
from qrpay.channels import handle_callback
from qrpay.channels.generic import sign
from qrpay.config import Config
from qrpay.store import Store, open_store
from qrpay.store.schema import callbacks, ledger, outbox, payments

from .conftest import add_bill

NOW = dt.datetime(2024, 6, 10, 6, 0, tzinfo=dt.UTC)
T = int(NOW.timestamp())
SECRET = "test-secret-upi"


def body(**over: object) -> bytes:
    doc = {"event_id": "evt_1", "txn_id": "UPI123", "bill_no": "B2405100000001",
           "amount": "1234.50", "currency": "INR", "status": "success",
           "paid_at": "2024-06-10T11:30:00+05:30", "payer": "ravi@okaxis",
           "utr": "412345678901"}
    doc.update(over)
    return json.dumps({k: v for k, v in doc.items() if v is not None}).encode()


def call(store: Store, config: Config, raw: bytes, *, t: int = T, secret: str = SECRET,
         channel: str = "upi", headers: dict | None = None):
    hdrs = {"X-Qrpay-Signature": sign(secret, raw, t), "Content-Type": "application/json"}
    if headers is not None:
        hdrs = headers
    return handle_callback(store, config, channel, hdrs, raw, "127.0.0.1", now=NOW)


def count(store: Store, table, *where) -> int:
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def stored(store: Store, callback_id: int):
    with store.connect() as conn:
        return conn.execute(select(callbacks).where(callbacks.c.id == callback_id)).one()


def test_signed_callback_posts_and_answers_receipt(store: Store, best_config: Config) -> None:
    add_bill(store)
    res = call(store, best_config, body())
    assert res.status == 200
    assert res.body["result"] == "posted"
    assert res.body["receipt_no"] == "BEST-000000001"
    row = stored(store, res.callback_id)
    assert (row.result, row.signature_ok, row.txn_id) == ("posted", True, "UPI123")


def test_callback_is_stored_as_received_before_acting(store: Store,
                                                      best_config: Config) -> None:
    raw = body(bill_no="B0000000000000")
    res = call(store, best_config, raw)
    row = stored(store, res.callback_id)
    assert row.body == raw
    assert json.loads(row.headers)["x-qrpay-signature"].startswith(f"t={T},")
    assert (res.status, res.body["error"]["code"], row.result) == (422, "unknown_bill",
                                                                     "unknown_bill")


def test_three_repeats_give_one_posting_and_same_answer(store: Store,
                                                        best_config: Config) -> None:
    add_bill(store)
    answers = [call(store, best_config, body()) for _ in range(3)]
    assert [a.body["result"] for a in answers] == ["posted", "duplicate", "duplicate"]
    assert len({a.body["receipt_no"] for a in answers}) == 1
    assert count(store, ledger, ledger.c.kind == "payment") == 1
    assert count(store, outbox) == 1
    assert count(store, callbacks) == 3


def test_concurrent_identical_callbacks_post_once(db_url: str, store: Store,
                                                  best_config: Config) -> None:
    add_bill(store)
    raw = body()
    answers: list = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        s = open_store(db_url, upgrade=False)
        try:
            barrier.wait()
            answers.append(call(s, best_config, raw))
        finally:
            s.dispose()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.body["result"] for a in answers) == ["duplicate"] * 7 + ["posted"]
    assert {a.status for a in answers} == {200}
    assert {a.body["receipt_no"] for a in answers} == {"BEST-000000001"}
    assert count(store, payments) == 1
    assert count(store, ledger, ledger.c.kind == "payment") == 1
    assert count(store, outbox) == 1


def test_signature_is_checked_on_raw_bytes_not_reserialised_json(
        store: Store, best_config: Config) -> None:
    add_bill(store, amount=110)
    raw = (b'{"txn_id": "T\\/1", "bill_no": "B2405100000001", "amount": "1.10", '
           b'"currency": "INR", "status": "success", "payer": "\\u0930\\u0935\\u093f"}')
    reserialised = json.dumps(json.loads(raw)).encode()
    assert reserialised != raw
    bad = handle_callback(store, best_config, "upi",
                          {"X-Qrpay-Signature": sign(SECRET, reserialised, T)}, raw, None,
                          now=NOW)
    assert (bad.status, bad.body["error"]["code"]) == (401, "bad_signature")
    good = call(store, best_config, raw)
    assert good.status == 200
    with store.connect() as conn:
        pay = conn.execute(select(payments)).one()
    assert (pay.amount, pay.txn_id, pay.payer) == (110, "T/1", "रवि")


def test_amount_as_json_number_is_refused(store: Store, best_config: Config) -> None:
    add_bill(store)
    raw = body().replace(b'"1234.50"', b"1.10")
    res = call(store, best_config, raw)
    assert (res.status, res.body["error"]["code"], res.body["error"]["field"]) == (
        422, "amount_not_string", "amount")
    assert count(store, payments) == 0


@pytest.mark.parametrize(("skew", "ok"), [(-301, False), (301, False), (-299, True),
                                          (299, True)])
def test_timestamp_skew_either_way(store: Store, best_config: Config, skew: int,
                                   ok: bool) -> None:
    add_bill(store)
    res = call(store, best_config, body(), t=T + skew)
    assert (res.status == 200) is ok
    if not ok:
        assert res.body["error"]["code"] == "stale_timestamp"


def test_previous_secret_works_only_during_rotation(store: Store, best_config: Config,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    add_bill(store)
    monkeypatch.setenv("QRPAY_SECRET_UPI", "new-secret")
    monkeypatch.setenv("QRPAY_SECRET_UPI_PREVIOUS", SECRET)
    assert call(store, best_config, body(), secret=SECRET).status == 200
    assert call(store, best_config, body(txn_id="U2"), secret="new-secret").status == 200
    monkeypatch.delenv("QRPAY_SECRET_UPI_PREVIOUS")
    res = call(store, best_config, body(txn_id="U3"), secret=SECRET)
    assert (res.status, res.body["error"]["code"]) == (401, "bad_signature")


def test_secret_of_another_channel_is_rejected(store: Store, best_config: Config) -> None:
    add_bill(store)
    res = call(store, best_config, body(), secret="test-secret-razorpay")
    assert (res.status, res.body["error"]["code"]) == (401, "bad_signature")
    assert stored(store, res.callback_id).signature_ok is False


@pytest.mark.parametrize(("headers", "code"), [
    ({}, "missing_signature"),
    ({"X-Qrpay-Signature": "sha256=abc"}, "bad_signature_header"),
])
def test_missing_or_malformed_signature(store: Store, best_config: Config, headers: dict,
                                        code: str) -> None:
    res = call(store, best_config, body(), headers=headers)
    assert (res.status, res.body["error"]["code"]) == (401, code)


def test_unknown_channel_is_404_and_recorded(store: Store, best_config: Config) -> None:
    res = call(store, best_config, body(), channel="paypal")
    assert (res.status, res.body["error"]["code"]) == (404, "unknown_channel")
    assert stored(store, res.callback_id).result == "unknown_channel"


@pytest.mark.parametrize(("over", "status", "code"), [
    ({"currency": "BDT"}, 422, "currency_mismatch"),
    ({"amount": "0.00"}, 422, "non_positive_amount"),
    ({"amount": "-5"}, 422, "non_positive_amount"),
    ({"amount": "12.345"}, 422, "too_many_decimals"),
    ({"status": "captured"}, 422, "bad_status"),
    ({"txn_id": None}, 422, "missing_field"),
    ({"paid_at": "yesterday"}, 422, "bad_paid_at"),
])
def test_bad_fields_get_precise_codes(store: Store, best_config: Config, over: dict,
                                      status: int, code: str) -> None:
    add_bill(store)
    res = call(store, best_config, body(**over))
    assert (res.status, res.body["error"]["code"]) == (status, code)
    assert stored(store, res.callback_id).result == code


def test_not_json_is_422(store: Store, best_config: Config) -> None:
    res = call(store, best_config, b"amount=1")
    assert (res.status, res.body["error"]["code"]) == (422, "bad_json")


def test_status_transitions_through_callbacks(store: Store, best_config: Config) -> None:
    add_bill(store)
    seq = ["failed", "pending", "success", "failed", "reversed", "success"]
    results = [call(store, best_config, body(status=s)).body["result"] for s in seq]
    assert results == ["recorded", "recorded", "posted", "ignored", "reversed", "ignored"]
    kinds = [k for (k,) in _kinds(store)]
    assert kinds == ["charge", "payment", "reversal"]


def _kinds(store: Store):
    with store.connect() as conn:
        return conn.execute(select(ledger.c.kind).order_by(ledger.c.id)).all()


def test_replay_an_hour_later_changes_nothing(store: Store, best_config: Config) -> None:
    add_bill(store)
    raw = body()
    first = call(store, best_config, raw)
    later = handle_callback(store, best_config, "upi",
                            {"X-Qrpay-Signature": sign(SECRET, raw, T)}, raw, None,
                            now=NOW + dt.timedelta(hours=1))
    assert first.status == 200
    assert (later.status, later.body["error"]["code"]) == (401, "stale_timestamp")
    assert count(store, ledger, ledger.c.kind == "payment") == 1


def test_callback_on_a_channel_the_biller_does_not_take_is_422(store: Store,
                                                               best_config: Config) -> None:
    add_bill(store)
    best = dataclasses.replace(best_config.biller("best"), channels=("razorpay", "phonepe"))
    config = dataclasses.replace(best_config, billers={**best_config.billers, "best": best})
    res = call(store, config, body())
    assert (res.status, res.body["error"]["code"]) == (422, "channel_not_allowed")
    assert stored(store, res.callback_id).result == "channel_not_allowed"
    assert count(store, payments) == 0


def test_group_commit_posts_a_batch_and_one_failure_rolls_back_only_itself(
        store: Store, best_config: Config) -> None:
    from qrpay.payments.callbacks import CallbackWriter

    add_bill(store)
    gate = threading.Lock()
    writer = CallbackWriter(store, best_config, lock=lambda: gate)

    def submit(raw: bytes):  # type: ignore[no-untyped-def]
        hdrs = {"X-Qrpay-Signature": sign(SECRET, raw, T)}
        return channels.submit(writer, best_config, "upi", hdrs, raw, "127.0.0.1", now=NOW)

    with gate:  # the first batch waits here; the next three queue up behind it
        first = submit(body(txn_id="G0", amount="100.00"))
        rest = [submit(body(txn_id="G1", bill_no="B0000000000000")),
                submit(body(txn_id="G2", amount="200.00")),
                submit(body(txn_id="G2", amount="200.00"))]
    answers = [f.result(timeout=30) for f in [first, *rest]]
    writer.close()
    assert [a.status for a in answers] == [200, 422, 200, 200]
    assert [a.body.get("result") for a in answers] == ["posted", None, "posted", "duplicate"]
    assert answers[1].body["error"]["code"] == "unknown_bill"
    assert [a.body.get("receipt_no") for a in answers] == [
        "BEST-000000001", None, "BEST-000000002", "BEST-000000002"]
    assert count(store, payments) == 2
    assert count(store, outbox) == 2
    assert [stored(store, a.callback_id).result for a in answers] == [
        "posted", "unknown_bill", "posted", "duplicate"]
    # PostgreSQL ran the batch again with savepoints after the failure: one raw row each
    assert count(store, callbacks) == 4


def _writer_submit(writer, raw: bytes):  # type: ignore[no-untyped-def]
    return channels.submit(writer, writer.config, "upi",
                           {"X-Qrpay-Signature": sign(SECRET, raw, T)}, raw, "127.0.0.1",
                           now=NOW)


def test_two_payments_of_one_bill_in_one_batch_see_each_other(store: Store,
                                                               best_config: Config) -> None:
    from qrpay.payments.callbacks import CallbackWriter

    add_bill(store)
    gate = threading.Lock()
    writer = CallbackWriter(store, best_config, lock=lambda: gate)
    with gate:
        futures = [_writer_submit(writer, body(txn_id="P1", amount="1000.00")),
                   _writer_submit(writer, body(txn_id="P2", amount="234.50"))]
    answers = [f.result(timeout=30) for f in futures]
    writer.close()
    assert [a.body["bill_state"] for a in answers] == ["part_paid", "paid"]
    assert [a.body["receipt_no"] for a in answers] == ["BEST-000000001", "BEST-000000002"]
    with store.connect() as conn:
        rows = conn.execute(select(payments.c.txn_id, payments.c.receipt_no)
                            .order_by(payments.c.txn_id)).all()
        entries = conn.execute(select(ledger.c.receipt_no).where(ledger.c.kind == "payment")
                               .order_by(ledger.c.receipt_no)).scalars().all()
    assert [tuple(r) for r in rows] == [("P1", "BEST-000000001"), ("P2", "BEST-000000002")]
    assert entries == ["BEST-000000001", "BEST-000000002"]


def test_two_writers_batches_on_the_same_bills_at_once_post_all_gap_free(
        store: Store, best_config: Config) -> None:
    """Two server processes' writers (no lock between them on PostgreSQL) posting the
    same bills in opposite orders at the same moment: no deadlock reaches a caller,
    every payment is posted once, receipts run 1..N with no gap."""
    from qrpay.payments.callbacks import CallbackWriter

    bill_nos = [f"B24051000000{i:02d}" for i in range(1, 7)]
    for bill_no in bill_nos:
        add_bill(store, bill_no=bill_no)
    gates = [threading.Lock(), threading.Lock()]
    writers = [CallbackWriter(store, best_config, lock=lambda g=g: g) for g in gates]
    futures = []
    for g in gates:
        g.acquire()
    for w, (writer, order) in enumerate(zip(writers, [bill_nos, bill_nos[::-1]], strict=True)):
        for round_ in range(3):
            for bill_no in order:
                raw = body(txn_id=f"W{w}-{round_}-{bill_no}", bill_no=bill_no, amount="10.00")
                futures.append(_writer_submit(writer, raw))
    for g in gates:
        g.release()
    answers = [f.result(timeout=60) for f in futures]
    for writer in writers:
        writer.close()
    assert {(a.status, a.body["result"]) for a in answers} == {(200, "posted")}
    n = len(answers)
    expected = {f"BEST-{i:09d}" for i in range(1, n + 1)}
    assert {a.body["receipt_no"] for a in answers} == expected
    with store.connect() as conn:
        stored_nos = set(conn.execute(select(payments.c.receipt_no)).scalars())
        entries = set(conn.execute(select(ledger.c.receipt_no)
                                   .where(ledger.c.kind == "payment")).scalars())
    assert stored_nos == entries == expected
    assert count(store, outbox) == n


def test_batch_claims_known_and_new_transactions_and_reads_each_ledger_afresh(
        store: Store, best_config: Config) -> None:
    """One batch with: a transaction first reported failed (its row exists) now a
    success, a repeat of a payment posted by an earlier batch, a late payment (late fee
    written) followed by a second payment of the same bill, and a new transaction
    reported twice.  Claimed together, each gets the answer it would get alone."""
    from qrpay.payments.callbacks import CallbackWriter

    add_bill(store, bill_no="B2405100000001")
    add_bill(store, bill_no="B2405100000002")
    late = "2024-06-30T11:30:00+05:30"  # after the due date: the late amount is due
    assert call(store, best_config, body(txn_id="F1", status="failed",
                                         amount="100.00")).body["result"] == "recorded"
    assert call(store, best_config, body(txn_id="K1", amount="100.00")
                ).body["receipt_no"] == "BEST-000000001"
    gate = threading.Lock()
    writer = CallbackWriter(store, best_config, lock=lambda: gate)
    with gate:
        futures = [_writer_submit(writer, raw) for raw in [
            body(txn_id="F1", amount="100.00"),
            body(txn_id="K1", amount="100.00"),
            body(txn_id="L1", bill_no="B2405100000002", amount="1000.00", paid_at=late),
            body(txn_id="L2", bill_no="B2405100000002", amount="250.00", paid_at=late),
            body(txn_id="N1", amount="50.00"),
            body(txn_id="N1", amount="50.00")]]
    answers = [f.result(timeout=30) for f in futures]
    writer.close()
    assert [a.body["result"] for a in answers] == [
        "posted", "duplicate", "posted", "posted", "posted", "duplicate"]
    assert answers[1].body["receipt_no"] == "BEST-000000001"
    assert answers[5].body["receipt_no"] == answers[4].body["receipt_no"]
    # bill 2: 1,234.50 due, late amount 1,250.00 after the due date; the fee once
    assert [a.body["bill_state"] for a in answers[2:4]] == ["part_paid", "paid"]
    with store.connect() as conn:
        fees = conn.execute(select(ledger.c.amount).where(
            ledger.c.kind == "late_fee")).scalars().all()
        nos = conn.execute(select(payments.c.receipt_no).where(
            payments.c.receipt_no.is_not(None))).scalars().all()
    assert fees == [125000 - 123450]
    assert sorted(nos) == [f"BEST-{i:09d}" for i in range(1, 6)]
    assert count(store, payments) == 5
    assert count(store, outbox) == 5
