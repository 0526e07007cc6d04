"""A burst of callbacks the way real channels send them, against the real
``qrpay serve --workers 2``, with a kill -9 of the whole server in the middle and a
resend of everything; then the database itself is checked (issue 9).

Per transaction the burst mixes: ``failed`` or ``pending`` first, repeated ``success``
(one after another and at the same moment), ``success`` and ``reversed`` together, a
reversal arriving before its payment, and replays.  Whatever the history, on the
database: at most one posting per transaction, receipt numbers 1..N per biller with no
gap, the ledger agreeing with every payment row's status, one notice per posting and one
per reversal, and every 200 answer matching what was committed.
"""

from __future__ import annotations

import os
import random
import signal
import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from qrpay.store import Store
from qrpay.store.schema import bills, ledger, outbox, payments

from .conftest import ROOT, callback_body, insert_bills, make_bill, signed_headers
from .test_serve_workers import children_of, wait_for

PROFILE = ROOT / "samples" / "best.toml"
pytestmark = pytest.mark.slow

BILLS = 12
AMOUNT = "100.00"  # several payments of one bill stay below its amount

# A history is a list of waves; the events of one wave are sent at the same moment.
HISTORIES: dict[str, list[list[str]]] = {
    "failed_then_successes": [["failed"], ["success"] * 3],
    "pending_then_concurrent_successes": [["pending"], ["success"] * 4],
    "sequential_successes": [["success"], ["success"], ["success"]],
    "success_with_reversal": [["success", "reversed"], ["reversed"]],
    "pending_then_success_with_reversal": [["pending"], ["success", "reversed"]],
    "reversal_first": [["reversed"], ["success"], ["success"]],
    "success_then_reversal_replayed": [["success"], ["reversed", "reversed"], ["success"]],
    "failed_pending_success": [["failed"], ["pending"], ["success", "success"]],
}


def bill_no(i: int) -> str:
    return f"B26112{i:08d}"


def plan(seed: int) -> dict[str, tuple[str, list[list[str]]]]:
    """txn -> (bill, waves): every history a few times over a handful of bills."""
    rng = random.Random(seed)
    out = {}
    for round_ in range(3):
        for name, waves in HISTORIES.items():
            out[f"BU-{name[:12]}-{round_}"] = (bill_no(rng.randrange(BILLS)), waves)
    return out


Answer = tuple[str, str, int, dict[str, Any]]  # txn, sent status, HTTP status, body


def send_burst(url: str, txns: dict[str, tuple[str, list[list[str]]]],
               answers: list[Answer], stop: Callable[[], bool] = lambda: False) -> None:
    """Each transaction's waves in order (a wave's events at once, in a shuffled
    order), all transactions side by side; replays of earlier events mixed in."""
    rng = random.Random(7)
    lock = threading.Lock()
    with httpx.Client(base_url=url, timeout=30,
                      limits=httpx.Limits(max_connections=32)) as client:
        def post(txn: str, status: str) -> None:
            if stop():
                return
            bill, _ = txns[txn]
            body = callback_body(txn, bill, AMOUNT, status=status)
            try:
                r = client.post("/api/v1/callbacks/upi", content=body,
                                headers=signed_headers(body))
            except httpx.HTTPError:
                return  # the server died under us: the resend covers it
            with lock:
                answers.append((txn, status, r.status_code, r.json()))

        def run(txn: str) -> None:
            waves = txns[txn][1]
            with ThreadPoolExecutor(max_workers=4) as wave_pool:
                for i, wave in enumerate(waves):
                    events = list(wave)
                    if i and rng.random() < 0.3:  # a replay of an earlier wave
                        events.append(rng.choice(waves[rng.randrange(i)]))
                    rng.shuffle(events)
                    list(wave_pool.map(lambda s, t=txn: post(t, s), events))

        order = list(txns)
        rng.shuffle(order)
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(run, order))


def kill_whole_server(pid: int) -> None:
    for child in children_of(pid):
        os.kill(child, signal.SIGKILL)
    os.kill(pid, signal.SIGKILL)


def check_database(store: Store, answers: list[Answer]) -> None:
    with store.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(payments))}
        entries = conn.execute(select(ledger.c.kind, ledger.c.amount, ledger.c.payment_id,
                                      ledger.c.bill_no, ledger.c.receipt_no)).all()
        notices = Counter(conn.execute(select(outbox.c.dedupe_key)).scalars())
        bill_amounts = dict(conn.execute(select(bills.c.bill_no, bills.c.amount)).all())
    by_txn = {r.txn_id: r for r in rows.values()}
    assert len(by_txn) == len(rows)
    kinds: dict[int | None, Counter[str]] = defaultdict(Counter)
    for e in entries:
        kinds[e.payment_id][e.kind] += 1
    for pid, r in rows.items():
        posted = r.receipt_no is not None
        assert kinds[pid]["payment"] == (1 if posted else 0), r
        assert kinds[pid]["reversal"] == (1 if posted and r.status == "reversed" else 0), r
        if r.status == "success":
            assert posted, r
        assert notices[f"payment:{pid}:received"] == (1 if posted else 0), r
        assert notices[f"payment:{pid}:reversed"] == kinds[pid]["reversal"], r
    # receipt numbers 1..N for the one biller, each on one payment and its entries
    numbers = sorted(int(r.receipt_no.rsplit("-", 1)[1]) for r in rows.values()
                     if r.receipt_no is not None)
    assert numbers == list(range(1, len(numbers) + 1))
    # each bill's ledger = what it charged - what its payments in force paid
    for bill, amount in bill_amounts.items():
        own = [e for e in entries if e.bill_no == bill and e.kind != "carry"]
        charged = sum(e.amount for e in own if e.kind in ("charge", "late_fee"))
        paid = sum(r.amount for r in rows.values() if r.bill_no == bill
                   and r.status == "success")
        assert sum(e.amount for e in own if e.kind == "charge") == amount
        assert sum(e.amount for e in own) == charged - paid, bill
    assert sum(notices.values()) == sum(kinds[pid]["payment"] + kinds[pid]["reversal"]
                                        for pid in rows)
    # every 200 answer is what was committed
    for txn, sent, code, body in answers:
        if code != 200:
            continue
        row = by_txn[txn]
        assert body["payment_id"] == row.id
        if body["result"] in ("posted", "duplicate") and sent == "success":
            assert body["receipt_no"] == row.receipt_no is not None, (txn, body)
        if body["result"] == "reversed":
            assert row.status == "reversed" and body["receipt_no"] == row.receipt_no
        if body["result"] == "posted":
            assert row.receipt_no is not None


def test_burst_with_kill_9_and_resend_posts_each_transaction_at_most_once(
        db_url: str, store: Store, serve: Callable[..., Any]) -> None:
    insert_bills(store, (make_bill(bill_no(i), account_no=f"{i:09d}")
                         for i in range(BILLS)))
    txns = plan(seed=11)
    env = {"QRPAY_SERVE_SENDER": "0"}
    server = serve(PROFILE, db_url, workers=2, extra_env=env)
    assert wait_for(lambda: len(children_of(server.proc.pid)) == 2)
    answers: list[Answer] = []
    killed = threading.Event()

    def stop() -> bool:  # kill -9 the whole server once a third of the events are in
        if not killed.is_set() and len(answers) >= 40:
            killed.set()
            kill_whole_server(server.proc.pid)
        return False

    send_burst(server.url, txns, answers, stop)
    assert killed.is_set()
    server.proc.wait(timeout=10)
    assert answers and {code for *_, code, _ in answers} <= {200}
    check_database(store, answers)  # what was answered before the crash is committed

    again = serve(PROFILE, db_url, workers=2, extra_env=env)
    send_burst(again.url, txns, answers)  # everything again
    assert {code for *_, code, _ in answers} == {200}
    check_database(store, answers)
    results = Counter(body["result"] for *_, body in answers)
    assert results["posted"] and results["duplicate"] and results["reversed"]
