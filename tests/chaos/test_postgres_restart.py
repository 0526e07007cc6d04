"""PostgreSQL restarted in the middle of a mixed burst against ``qrpay serve --workers 2``
and ``qrpay worker``: the processes reconnect by themselves (no restart of qrpay), a
request in flight either commits and is acknowledged or is not acknowledged, and after
a resend everything is posted once (issue 14 item 3).

The database is a throwaway cluster of this test's own (:mod:`tests.chaos.pgcluster`),
never the shared server on 5432.  ``CHAOS_PG_MODES`` picks the restarts: ``immediate``
(PostgreSQL killed and recovered from its WAL, as after a crash; the default) and/or
``fast`` (an orderly restart that disconnects every client)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from qrpay.store import Store, open_store
from tests.chaos import pgcluster
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
from tests.web.conftest import free_port

pytestmark = pytest.mark.slow
MODES = os.environ.get("CHAOS_PG_MODES", "immediate").split(",")


@pytest.fixture
def cluster() -> Iterator[pgcluster.Cluster]:
    why = pgcluster.unavailable()
    if why:
        pytest.skip(f"no throwaway PostgreSQL cluster: {why}")
    c = pgcluster.make(free_port())  # not a fixed port: other checkouts run this test too
    yield c
    pgcluster.destroy(c)


@pytest.mark.parametrize("mode", MODES)
def test_postgres_restart_mid_burst_loses_nothing_acknowledged(
        cluster: pgcluster.Cluster, mode: str, serve: Callable[..., Any],
        fakes: FakesFactory, tmp_path: Path) -> None:
    store = open_store(cluster.url, upgrade=True)
    try:
        _run(cluster, mode, store, serve, fakes, tmp_path)
    finally:
        store.dispose()


def _run(cluster: pgcluster.Cluster, mode: str, store: Store, serve: Callable[..., Any],
         fakes: FakesFactory, tmp_path: Path) -> None:
    f = fakes()
    path = profile(tmp_path, f)
    burst = Burst.make("R")
    insert_bills(store, burst)
    node = serve(path, cluster.url, workers=2, extra_env=ENV)
    worker = start_worker(path, cluster.url, tmp_path / "worker.log")
    answers = Answers()
    lock = threading.Lock()
    restarts: list[threading.Thread] = []
    at: list[int] = []
    expected = len(burst.callbacks) + len(burst.paybills) + len(burst.messages)

    def fault() -> None:  # restart PostgreSQL once a third is acknowledged, burst going on
        with lock:
            if restarts or answers.total < expected // 3:
                return
            at.append(answers.total)
            restarts.append(threading.Thread(target=cluster.restart, args=(mode,)))
            restarts[0].start()

    try:
        send([node.url], burst, answers, fault)
        assert restarts, "the burst ended before the restart"
        restarts[0].join(timeout=90)
        assert not restarts[0].is_alive(), cluster.log()[-2000:]
        during = dict(answers.refused, lost=answers.lost)
        # not acknowledged = told to come back: 503 database_unavailable, never a 500
        assert all(k.endswith(" 503") for k in answers.refused), answers.refused
        check_database(store, burst, answers)  # acknowledged before and during = committed

        send([node.url], burst, answers)  # the same processes, reconnected
        assert node.proc.poll() is None and worker.poll() is None
        print(f"chaos postgres {mode}: restarted after {at[0]} acknowledged; not acknowledged "
              f"while it was down (kind status: count): {during}; {answers.total} in the end")
        assert len(answers.callbacks) == len(burst.callbacks)
        assert len(answers.paybills) == len(burst.paybills)
        assert len(answers.messages) == len(burst.messages)
        assert wait_until(lambda: not undelivered(store), 90), undelivered(store)[:5]
        check_database(store, burst, answers, f)
    finally:
        worker.terminate()
        worker.wait(timeout=10)
        node.stop()
