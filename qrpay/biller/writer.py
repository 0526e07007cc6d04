"""Group commit of biller-API payments: one writer thread per store and process runs, in
one transaction, every payment request that queued up while the previous one committed.

On PostgreSQL a job comes with the bill numbers it will post to (``bills``, found by a
read before the transaction's first lock): the batch locks all of them first, in
bill-number order, in one statement, like the QR callbacks' batches
(:mod:`qrpay.payments.batch`), so two processes' batches (or a batch and a desk
posting) wait for each other instead of deadlocking; each posting then takes its receipt
number from its biller's counter (held from the batch's first posting to its commit: one
biller's batches commit one after another).  Should a job lock a bill it did not name (a
bill imported meanwhile), a deadlock is still possible: PostgreSQL breaks it and the
batch runs again, each job on its own.

Each request runs in a SAVEPOINT of the batch's transaction: a refusal (any
:class:`~qrpay.errors.QrpayError`) rolls back only its own writes and is handed back to
its caller; the others go on and see what the earlier ones of the batch wrote (a
channel's retry in the same batch is a duplicate of its first request).  Answers are
given only after the batch committed.  When anything else goes wrong (a failed commit,
a PostgreSQL deadlock with another process's batch, a bug), nothing of the batch is
acknowledged: each request runs again on its own, in its own transaction.

A disk flush per payment was most of a payment's time on SQLite (``synchronous=FULL``);
a batch shares one.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Collection
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from qrpay.errors import QrpayError
from qrpay.store import Store
from qrpay.store.raw import Raw

log = logging.getLogger("qrpay.biller")
MAX_BATCH = 64
IDLE_SECONDS = 5.0

Job = Callable[[Connection], Any]
# the connection's ``info`` key of the bills a PostgreSQL batch locked up front
LOCKED = "qrpay.biller.locked"
Bills = Callable[[Connection], Collection[str]]


@dataclass
class _Item:
    job: Job
    bills: Bills | None = None
    future: Future[Any] = field(default_factory=Future)
    result: Any = None
    error: BaseException | None = None


class _Abort(Exception):
    """Something other than a refusal: run every request of the batch on its own."""


def _run_one(conn: Connection, item: _Item, last: bool) -> None:
    """``item`` in the savepoint the batch opened for it; then, unless ``last``, the next
    item's savepoint (released and opened again in one round trip on PostgreSQL)."""
    # savepoints straight on the driver connection: SQLAlchemy's begin_nested() cost a
    # third of a payment's time in a batch
    raw = Raw(conn)
    try:
        item.result = item.job(conn)
    except QrpayError as exc:
        raw.run("ROLLBACK TO SAVEPOINT biller_item")
        item.error = exc
    except Exception as exc:
        raise _Abort() from exc
    if not last:
        raw.script("RELEASE SAVEPOINT biller_item", "SAVEPOINT biller_item")


def _settle(items: list[_Item]) -> None:
    for item in items:
        if item.error is not None:
            item.future.set_exception(item.error)
        else:
            item.future.set_result(item.result)


_GATES: dict[int, tuple[Store, Callable[[], AbstractContextManager[Any]]]] = {}


def set_gate(store: Store, held: Callable[[], AbstractContextManager[Any]]) -> None:
    """Hold ``held()`` around every write transaction of the biller on ``store`` (the web
    layer's cross-process gate: on SQLite writers then queue on a lock that wakes the next
    one at once, instead of polling in SQLite's busy handler with sleeps of up to 100 ms)."""
    hit = _GATES.get(id(store))
    if hit is None or hit[0] is not store:
        _GATES[id(store)] = (store, held)


def gate(store: Store) -> AbstractContextManager[Any]:
    hit = _GATES.get(id(store))
    return hit[1]() if hit is not None and hit[0] is store else contextlib.nullcontext()


def _alone(store: Store, item: _Item) -> None:
    item.error, item.result = None, None
    try:
        with gate(store), store.begin() as conn:
            item.result = item.job(conn)
    except BaseException as exc:  # noqa: BLE001 - handed to the caller
        item.error = exc
    _settle([item])


def _named(conn: Connection, items: list[_Item]) -> list[str]:
    """The bill numbers the batch's jobs name, in order (a job whose request cannot be
    read names none: it refuses on its own)."""
    out: set[str] = set()
    for item in items:
        if item.bills is None:
            continue
        with contextlib.suppress(QrpayError):
            out.update(item.bills(conn))
    return sorted(out)


def _lock_bills(conn: Connection, items: list[_Item]) -> None:
    """PostgreSQL: every bill of the batch locked up front, in bill-number order."""
    if conn.dialect.name != "postgresql":
        return
    named = _named(conn, items)
    conn.info[LOCKED] = frozenset(named)
    if named:
        marks = ", ".join("?" * len(named))
        Raw(conn).all(f"SELECT 1 FROM bills WHERE bill_no IN ({marks}) "
                      "ORDER BY bill_no FOR UPDATE", named)


def run_batch(store: Store, items: list[_Item]) -> None:
    try:
        with gate(store), store.begin() as conn:
            try:
                _lock_bills(conn, items)
                Raw(conn).run("SAVEPOINT biller_item")
                for n, item in enumerate(items, 1):
                    _run_one(conn, item, last=n == len(items))
            finally:
                conn.info.pop(LOCKED, None)
    except Exception as exc:  # noqa: BLE001 - nothing acknowledged; each runs alone
        if not isinstance(exc, _Abort):
            log.warning("biller payment batch of %d failed (%s): each runs alone",
                        len(items), exc)
        for item in items:
            _alone(store, item)
        return
    _settle(items)


class PaymentWriter:
    """The writer of one store in this process; :meth:`run` blocks until committed."""

    def __init__(self, store: Store, max_batch: int = MAX_BATCH) -> None:
        self.store = store
        self.max_batch = max_batch
        self._queue: queue.Queue[_Item] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, job: Job, bills: Bills | None = None) -> Future[Any]:
        """Queue ``job``; ``bills(conn)``: the bill numbers it will lock (PostgreSQL)."""
        item = _Item(job, bills)
        self._queue.put(item)
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, daemon=True,
                                                name="qrpay-biller-writer")
                self._thread.start()
        return item.future

    def run(self, job: Job) -> Any:
        """``job(conn)`` inside a committed transaction shared with others; its result,
        or its exception re-raised."""
        return self.submit(job).result()

    def _take(self) -> list[_Item]:
        batch = [self._queue.get(timeout=IDLE_SECONDS)]
        while len(batch) < self.max_batch:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _loop(self) -> None:
        while True:
            try:
                batch = self._take()
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            run_batch(self.store, batch)


_WRITERS: dict[int, tuple[Store, PaymentWriter]] = {}
_WLOCK = threading.Lock()


def writer_for(store: Store) -> PaymentWriter:
    with _WLOCK:
        hit = _WRITERS.get(id(store))
        if hit is None or hit[0] is not store:
            hit = (store, PaymentWriter(store))
            _WRITERS[id(store)] = hit
        return hit[1]
