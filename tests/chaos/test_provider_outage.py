"""The SMS provider and the WhatsApp Graph API down (their ports refuse connections)
while a burst of payments and chat messages comes in, then back: everything queued
is delivered, once (issue 14 item 3).

The outage lasts ``CHAOS_OUTAGE`` seconds: 6 in the test suite, 600 (the issue's ten
minutes) under ``make chaos``; the code path is the same, only the wait differs.  The
short run shows the queue survives and drains once; whether the retry schedule outlasts
ten minutes is what the long run (and :func:`test_retry_schedules_outlast_ten_minutes`,
from the schedule's own numbers) shows."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from qrpay.chat import sender as chat_sender
from qrpay.notify import sender as sms_sender
from qrpay.store import open_store
from qrpay.store.schema import outbox
from tests.chaos.harness import (
    ENV,
    OUTAGE,
    Answers,
    Burst,
    FakesFactory,
    check_database,
    insert_bills,
    profile,
    send,
    undelivered,
    wait_until,
)

TEN_MINUTES = 600.0


def test_retry_schedules_outlast_ten_minutes() -> None:
    """A row given up (``failed``) during a ten-minute outage is never delivered: both
    senders must keep trying for longer than that."""
    assert sms_sender.patience(sms_sender.MAX_ATTEMPTS) >= TEN_MINUTES
    assert sms_sender.patience(chat_sender.MAX_ATTEMPTS, base=chat_sender.BACKOFF_BASE,
                               cap=chat_sender.BACKOFF_CAP) >= TEN_MINUTES


def test_patience_adds_up_the_least_backoffs() -> None:
    assert sms_sender.patience(1, base=2, cap=600) == 0
    assert sms_sender.patience(4, base=2, cap=600) == 1 + 2 + 4
    assert sms_sender.patience(3, base=2, cap=3) == 1 + 1.5


def drain_seconds(outage: float) -> float:
    """Longest wait, after the providers are back, for a row's next attempt: half to all
    of the backoff its failures so far have earned (SMS: 30 s doubling)."""
    attempts, waited = 1, 0.0
    while waited < outage:
        waited += min(sms_sender.BACKOFF_CAP, sms_sender.BACKOFF_BASE * 2 ** (attempts - 1)) / 2
        attempts += 1
    return min(sms_sender.BACKOFF_CAP, sms_sender.BACKOFF_BASE * 2 ** (attempts - 1)) + 30


@pytest.mark.slow
def test_sms_and_graph_down_then_back_deliver_everything_once(
        serve: Callable[..., Any], fakes: FakesFactory, tmp_path: Path) -> None:
    f = fakes()
    path = profile(tmp_path, f)
    db_url = f"sqlite:///{tmp_path / 'outage.db'}"
    store = open_store(db_url)
    burst = Burst.make("O")
    insert_bills(store, burst)
    node = serve(path, db_url, extra_env=ENV)
    f.down()
    went_down = time.monotonic()
    answers = Answers()
    send([node.url], burst, answers)
    # every request is acknowledged: the providers are only needed to deliver
    assert not answers.refused and not answers.lost
    assert answers.total == len(burst.callbacks) + len(burst.paybills) + len(burst.messages)
    check_database(store, burst, answers)
    time.sleep(max(0.0, OUTAGE - (time.monotonic() - went_down)))
    with store.connect() as conn:
        during = conn.execute(select(outbox.c.kind, outbox.c.status, outbox.c.attempts)).all()
    assert not [r for r in during if r.status == "sent"]  # nothing got through
    assert not [r for r in during if r.status == "failed"], Counter(
        (r.kind, r.status) for r in during)  # nothing given up
    tried = Counter(r.kind for r in during if r.attempts >= 1)
    assert tried["sms"] and tried["whatsapp"], tried  # both senders met the outage
    f.up()
    assert wait_until(lambda: not undelivered(store), drain_seconds(OUTAGE)), \
        Counter((r.kind, r.status) for r in undelivered(store))
    check_database(store, burst, answers, f)
    print(f"chaos outage: {OUTAGE:.0f} s down; then {f.sms.delivered} SMS and "
          f"{len(f.graph.received)} WhatsApp replies delivered, most attempts "
          f"{max(r.attempts for r in during)} during the outage")
    store.dispose()
