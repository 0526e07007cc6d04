"""Real ``qrpay serve`` processes on loopback: concurrent duplicates and a crash."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from qrpay.store import Store
from qrpay.store.schema import ledger, outbox, payments

from .conftest import (
    ROOT,
    callback_body,
    insert_bill,
    insert_bills,
    make_bill,
    signed_headers,
)

PROFILE = ROOT / "samples" / "best.toml"
pytestmark = pytest.mark.slow


def bill_no(i: int) -> str:
    return f"B26111{i:08d}"


def scalar(store: Store, q: Any) -> int:
    with store.connect() as conn:
        return int(conn.execute(q).scalar_one())


def test_concurrent_identical_callbacks_post_once_receipt_once_sms_once(
        db_url: str, store: Store, serve: Callable[..., Any]) -> None:
    insert_bill(store, make_bill(bill_no(1)))
    server = serve(PROFILE, db_url, workers=2)
    body = callback_body("DUP-1", bill_no(1), "1234.50")
    headers = signed_headers(body)
    n = 16
    barrier = threading.Barrier(n)
    answers: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()
    client = httpx.Client(base_url=server.url, timeout=30,
                          limits=httpx.Limits(max_connections=n))

    def send() -> None:
        barrier.wait()
        r = client.post("/api/v1/callbacks/upi", content=body, headers=headers)
        with lock:
            answers.append((r.status_code, r.json()))

    threads = [threading.Thread(target=send) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client.close()
    assert [s for s, _ in answers] == [200] * n
    results = sorted(a["result"] for _, a in answers)
    assert results == ["duplicate"] * (n - 1) + ["posted"]
    assert len({a["receipt_no"] for _, a in answers}) == 1
    assert scalar(store, select(func.count()).select_from(payments)) == 1
    assert scalar(store, select(func.count()).where(ledger.c.kind == "payment")) == 1
    assert scalar(store, select(func.count()).select_from(outbox)) == 1
    # both workers run an SMS sender: the notice still goes out once
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and scalar(
            store, select(func.count()).where(outbox.c.status == "sent")) == 0:
        time.sleep(0.2)
    with store.connect() as conn:
        rows = conn.execute(select(outbox.c.status, outbox.c.attempts)).all()
    assert [(r.status, r.attempts) for r in rows] == [("sent", 1)]


def test_kill_9_mid_burst_then_resend_posts_every_200_exactly_once(
        db_url: str, store: Store, serve: Callable[..., Any]) -> None:
    total = 120
    insert_bills(store, (make_bill(bill_no(i), account_no=f"{i:09d}") for i in range(total)))
    bodies = {f"CRASH-{i}": callback_body(f"CRASH-{i}", bill_no(i), "1234.50")
              for i in range(total)}
    server = serve(PROFILE, db_url, extra_env={"QRPAY_SERVE_SENDER": "0"})
    got: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()
    killed = threading.Event()
    todo = list(bodies)

    client = httpx.Client(base_url=server.url, timeout=10)

    def send_until_done() -> None:
        while True:
            with lock:
                if not todo:
                    return
                txn = todo.pop()
            body = bodies[txn]
            try:
                r = client.post("/api/v1/callbacks/upi", content=body,
                                headers=signed_headers(body))
            except httpx.HTTPError:
                continue  # the server died under us: this one gets resent
            with lock:
                if r.status_code == 200:
                    got[txn] = r.json()
                if len(got) >= total // 3 and not killed.is_set():
                    killed.set()
                    os.kill(server.proc.pid, signal.SIGKILL)

    threads = [threading.Thread(target=send_until_done) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client.close()
    assert killed.is_set()
    server.proc.wait(timeout=10)
    before_restart = dict(got)
    assert 0 < len(before_restart) < total

    again = serve(PROFILE, db_url, extra_env={"QRPAY_SERVE_SENDER": "0"})
    with httpx.Client(base_url=again.url, timeout=30) as c:
        for txn, body in bodies.items():  # everything again: the answered ones too
            r = c.post("/api/v1/callbacks/upi", content=body, headers=signed_headers(body))
            assert r.status_code == 200, r.text
            if txn in before_restart:
                assert r.json()["result"] == "duplicate"
                assert r.json()["receipt_no"] == before_restart[txn]["receipt_no"]
            got[txn] = r.json()

    with store.connect() as conn:
        rows = conn.execute(select(payments.c.txn_id, payments.c.receipt_no,
                                   payments.c.status)).all()
        paid_entries = conn.execute(
            select(ledger.c.payment_id, func.count()).where(ledger.c.kind == "payment")
            .group_by(ledger.c.payment_id)).all()
        notices = int(conn.execute(select(func.count()).select_from(outbox)).scalar_one())
    by_txn = {r.txn_id: r for r in rows}
    assert len(rows) == total == len(by_txn)
    for txn, answer in before_restart.items():
        assert by_txn[txn].status == "success"
        assert by_txn[txn].receipt_no == answer["receipt_no"]
    assert all(n == 1 for _, n in paid_entries)
    assert len(paid_entries) == total
    receipts = sorted(r.receipt_no for r in rows)
    assert len(set(receipts)) == total
    assert notices == total
