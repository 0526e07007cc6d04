"""kill -9 of one node and of the worker in the middle of a mixed burst (QR callbacks,
bKash payBill, WhatsApp messages, each sent twice at once), on two ``qrpay serve``
nodes sharing one database; then the dead are restarted and everything is sent again.
Checked on the database: what was acknowledged before the kill is committed, and after
the resend every payment is posted once, receipts have no gap, one SMS per posting and
one answer per chat message, each delivered once (issue 14 item 3)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from qrpay.store import Store
from qrpay.store.schema import outbox
from tests.chaos.harness import (
    ENV,
    Answers,
    Burst,
    FakesFactory,
    check_database,
    insert_bills,
    profile,
    send,
    start_worker,
    undelivered,
    wait_until,
)
from tests.web.test_burst import kill_whole_server

pytestmark = pytest.mark.slow
DRAIN = 60  # seconds at most for the outbox to empty (the leases are 3 and 5 s)


def test_kill_9_of_a_node_and_the_worker_mid_burst_then_resend(
        db_url: str, store: Store, serve: Callable[..., Any], fakes: FakesFactory,
        tmp_path: Path) -> None:
    f = fakes()
    f.sms.delay = 0.05  # a provider that takes its time: the senders are mid-batch
    path = profile(tmp_path, f)
    burst = Burst.make("K")
    insert_bills(store, burst)
    a = serve(path, db_url, extra_env=ENV)
    b = serve(path, db_url, extra_env=ENV)
    worker = start_worker(path, db_url, tmp_path / "worker.log")
    answers = Answers()
    killed = threading.Event()
    lock = threading.Lock()
    in_flight: list[int] = []
    expected = len(burst.callbacks) + len(burst.paybills) + len(burst.messages)

    def fault() -> None:  # kill -9 node A and the worker once a third is acknowledged
        with lock:
            if killed.is_set() or answers.total < expected // 3:
                return
            killed.set()
            kill_whole_server(a.proc.pid)
            worker.send_signal(signal.SIGKILL)
            with store.connect() as conn:  # replies a dead sender may have on the wire
                in_flight.append(int(conn.execute(select(func.count()).where(
                    outbox.c.kind == "whatsapp", outbox.c.status == "sending")).scalar_one()))

    try:
        send([a.url, b.url], burst, answers, fault)
        assert killed.is_set(), "the burst ended before the fault"
        a.proc.wait(timeout=10)
        assert worker.wait(timeout=10) == -signal.SIGKILL
        check_database(store, burst, answers)  # acknowledged before the kill = committed
        print(f"chaos kill-9: {answers.total} acknowledged before the kill, {answers.lost} "
              f"requests lost with node A, {in_flight[0]} WhatsApp replies on the wire")

        a2 = serve(path, db_url, extra_env=ENV)
        worker = start_worker(path, db_url, tmp_path / "worker.log")
        send([a2.url, b.url], burst, answers)  # everything again
        assert not answers.refused, answers.refused
        assert len(answers.callbacks) == len(burst.callbacks)
        assert len(answers.paybills) == len(burst.paybills)
        assert len(answers.messages) == len(burst.messages)
        assert wait_until(lambda: not undelivered(store), DRAIN), undelivered(store)[:5]
        check_database(store, burst, answers, f, resent_replies=in_flight[0])
        print(f"chaos kill-9: after the resend {f.sms.delivered} SMS and "
              f"{len(f.graph.received)} WhatsApp replies delivered")
    finally:
        if worker.poll() is None:
            worker.terminate()
            worker.wait(timeout=10)
