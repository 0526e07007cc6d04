"""Group commit of biller-API payments: one writer thread per store and process runs, in
one transaction, every payment request that queued up while the previous one committed.

On PostgreSQL a job comes with the bill numbers it will post to (``bills``, found by a
read before the transaction's first lock; the reads of all the batch's jobs in one
round trip): the batch locks all of them first, in bill-number order, in one statement,
like the QR callbacks' batches (:mod:`qrpay.payments.batch`), so two processes' batches
(or a batch and a desk posting) wait for each other instead of deadlocking.  In the
same round trip, after the lock, go the reads each shared job starts with (its
``prefetch``: for a payment its stored transaction and its bills with their ledger
sums, :func:`qrpay.biller.core.prefetch`), so a batch makes no round trip per payment.
Should a job lock a bill it did not name (a bill imported meanwhile), a deadlock is
still possible: PostgreSQL breaks it and the batch runs again, each job on its own.

Payments share one posting batch (:class:`qrpay.payments.batch.Batch`, the one the QR
callbacks' group commit uses): each job decides its payment on the state the jobs before
it left (in memory) and nothing is written before the batch's end: a new payment's row
is reserved (:meth:`~qrpay.payments.batch.Batch.reserve`), not inserted.  At the end the
receipt numbers of the whole batch are taken with one counter update per biller (held
from there to the commit: one biller's batches commit one after another), the new
payment rows are inserted in their final state, receipt numbers included; then the
jobs' answers are built (:class:`Later`), and the ledger, SMS and journal rows are
written in one round trip.  A job refuses (any :class:`~qrpay.errors.QrpayError`)
before it writes anything, so no savepoint is needed.  Should one refuse after writing
(``Shared.wrote``), meet its own transaction reserved earlier in the batch (a channel's
retry that arrived while its first request waited), or find one of the batch's new
transactions stored meanwhile by another process, the batch is rolled back and run
again the careful way: each job in a SAVEPOINT of the transaction, posting on its own
(:func:`qrpay.payments.posting.post_payment`), where a refusal rolls back only its own
writes and a retry sees its first request as stored.  Jobs submitted without
``shared=True`` (tests, anything that writes directly) always run that way.

Answers are given only after the batch committed.  When anything else goes wrong (a
failed commit, a PostgreSQL deadlock with another process's batch, a bug), nothing of
the batch is acknowledged: each request runs again on its own, in its own transaction.

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

from qrpay.biller.feed import Feed
from qrpay.errors import QrpayError
from qrpay.payments.batch import Batch, Claimed
from qrpay.payments.groupcommit import HeldConnection
from qrpay.store import Store
from qrpay.store.raw import Raw

log = logging.getLogger("qrpay.biller")
MAX_BATCH = 64
IDLE_SECONDS = 5.0

Job = Callable[[Connection], Any]
# the connection's ``info`` key of the bills a PostgreSQL batch locked up front
LOCKED = "qrpay.biller.locked"
# the bill numbers a job will lock, or (its read sent in the writer's pipeline) a function
# giving them once the pipeline is done
Named = Collection[str] | Callable[[], Collection[str]]
Bills = Callable[[Connection], Named]
# the connection's ``info`` key of the batch's :class:`Shared` (jobs submitted shared)
SHARED = "qrpay.biller.shared"
Statement = tuple[str, list[tuple[Any, ...]]]


@dataclass
class Shared:
    """What the shared jobs of one batch hold in common: the posting batch (made by
    the first payment, :func:`posting`), rows to write with the batch's postings
    (``extra``: statement, rows; the journal's), and ``wrote``, counted up by a job
    before it writes anything at once (a claim of a payment row, a credit)."""

    conn: Connection
    posting: Batch | None = None
    extra: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    wrote: int = 0
    # what the jobs' ``prefetch`` sent (after the batch's locks, one round trip), by the
    # key each job takes its own by
    reads: dict[Any, Any] = field(default_factory=dict)

    def add(self, statement: str, rows: list[tuple[Any, ...]]) -> None:
        self.extra.setdefault(statement, []).extend(rows)

    def finish(self) -> None:
        """The receipt numbers of every posting and the batch's new payment rows
        (:class:`Careful` if a transaction was stored meanwhile by another process)."""
        if self.posting is not None:
            try:
                self.posting.take_receipts()
            except Claimed as exc:
                raise Careful() from exc

    def write(self) -> None:
        extra = list(self.extra.items())
        if self.posting is not None:
            self.posting.write(extra)
        else:
            raw = Raw(self.conn)
            with raw.pipeline():
                for statement, rows in extra:
                    raw.query_many(statement, rows)


def shared(conn: Connection) -> Shared | None:
    """The batch's :class:`Shared`, when ``conn`` runs shared jobs."""
    got = conn.info.get(SHARED)
    return got if isinstance(got, Shared) else None


class Careful(Exception):  # noqa: N818 - a signal, not an error
    """Raised by a shared job: run this batch again the careful way (module docstring)."""


@dataclass(frozen=True)
class Later:
    """A shared job's result that needs the batch's receipt numbers: ``finish()`` is
    called after they are taken, before the batch's writes, and its value is the job's
    result."""

    finish: Callable[[], Any]


@dataclass
class _Item:
    job: Job
    bills: Bills | None = None
    shared: bool = False
    prefetch: Callable[[Connection], None] | None = None
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


def _alone(begin: Begin, store: Store, item: _Item) -> None:
    item.error, item.result = None, None
    try:
        with gate(store), begin() as conn:
            item.result = item.job(conn)
    except BaseException as exc:  # noqa: BLE001 - handed to the caller
        item.error = exc
    _settle([item])


def _named(conn: Connection, items: list[_Item]) -> list[str]:
    """The bill numbers the batch's jobs name, in order, read in one round trip (a job
    whose request cannot be read names none: it refuses on its own)."""
    got: list[Named] = []
    with Raw(conn).pipeline():
        for item in items:
            if item.bills is not None:
                with contextlib.suppress(QrpayError):
                    got.append(item.bills(conn))
    out: set[str] = set()
    for named in got:
        with contextlib.suppress(QrpayError):
            out.update(named() if callable(named) else named)
    return sorted(out)


def _lock_bills(conn: Connection, named: list[str] | None) -> None:
    """PostgreSQL (``named`` not None): every bill of the batch locked up front, in
    bill-number order; sent (in the caller's pipeline, if one is open)."""
    if named is None:
        return
    conn.info[LOCKED] = frozenset(named)
    if named:
        Raw(conn).query("SELECT 1 FROM bills WHERE bill_no = ANY(?) ORDER BY bill_no "
                        "FOR UPDATE", [named])


Begin = Callable[[], AbstractContextManager[Connection]]


def _run_shared(conn: Connection, items: list[_Item]) -> None:
    """Every job on the batch's :class:`Shared` state (``conn.info[SHARED]``, with the
    reads :func:`_transaction` prefetched); :class:`Careful` if one cannot."""
    state = conn.info[SHARED]
    for item in items:
        wrote = state.wrote
        try:
            item.result = item.job(conn)
        except QrpayError as exc:
            if state.wrote != wrote:  # it wrote before refusing: only a savepoint undoes
                raise Careful() from exc
            item.error = exc
        except Careful:
            raise
        except Exception as exc:
            raise _Abort() from exc
    state.finish()
    for item in items:
        if isinstance(item.result, Later):
            item.result = item.result.finish()
    state.write()


def _prefetch(conn: Connection, items: list[_Item]) -> None:
    """Each shared job's ``prefetch``: the reads it starts with, into ``Shared.reads``."""
    for item in items:
        if item.prefetch is not None:
            with contextlib.suppress(QrpayError):  # its job refuses on its own
                item.prefetch(conn)


def _run_careful(conn: Connection, items: list[_Item]) -> None:
    Raw(conn).run("SAVEPOINT biller_item")
    for n, item in enumerate(items, 1):
        _run_one(conn, item, last=n == len(items))


def _transaction(begin: Begin, store: Store, items: list[_Item], careful: bool) -> None:
    with gate(store), begin() as conn:
        try:
            named = _named(conn, items) if conn.dialect.name == "postgresql" else None
            if not careful:
                conn.info[SHARED] = Shared(conn)
            with Raw(conn).pipeline():  # one round trip: the locks, then the first reads
                _lock_bills(conn, named)
                if not careful:
                    _prefetch(conn, items)
            (_run_careful if careful else _run_shared)(conn, items)
        finally:
            conn.info.pop(LOCKED, None)
            conn.info.pop(SHARED, None)


def run_batch(store: Store, items: list[_Item], begin: Begin | None = None) -> None:
    begin = begin or store.begin
    careful = not all(item.shared for item in items)
    try:
        try:
            _transaction(begin, store, items, careful)
        except Careful:
            for item in items:
                item.result = item.error = None
            _transaction(begin, store, items, True)
    except Exception as exc:  # noqa: BLE001 - nothing acknowledged; each runs alone
        if not isinstance(exc, _Abort):
            log.warning("biller payment batch of %d failed (%s): each runs alone",
                        len(items), exc)
        for item in items:
            _alone(begin, store, item)
        return
    _settle(items)


class PaymentWriter:
    """The writer of one store in this process; :meth:`run` blocks until committed."""

    def __init__(self, store: Store, max_batch: int = MAX_BATCH) -> None:
        self.store = store
        self.max_batch = max_batch
        self._feed: Feed[_Item] = Feed("qrpay-biller-writer", self._loop)

    def submit(self, job: Job, bills: Bills | None = None, *, shared: bool = False,
               prefetch: Callable[[Connection], None] | None = None) -> Future[Any]:
        """Queue ``job``; ``bills(conn)``: the bill numbers it will lock (PostgreSQL);
        ``shared``: it keeps the rules of a shared job (module docstring);
        ``prefetch(conn)``: sends the reads it starts with (:func:`_run_shared`)."""
        item = _Item(job, bills, shared, prefetch)
        self._feed.put(item)
        return item.future

    def run(self, job: Job) -> Any:
        """``job(conn)`` inside a committed transaction shared with others; its result,
        or its exception re-raised."""
        return self.submit(job).result()

    def _take(self) -> list[_Item]:
        waiting = self._feed.queue
        batch = [waiting.get(timeout=IDLE_SECONDS)]
        while len(batch) < self.max_batch:
            try:
                batch.append(waiting.get_nowait())
            except queue.Empty:
                break
        return batch

    def _loop(self) -> None:
        held = HeldConnection(self.store)  # no pool checkout (and pre-ping) per batch
        try:
            for batch in self._feed.batches(self._take):
                run_batch(self.store, batch, held.begin)
        finally:
            held.close()


_WRITERS: dict[int, tuple[Store, PaymentWriter]] = {}
_WLOCK = threading.Lock()


def writer_for(store: Store) -> PaymentWriter:
    with _WLOCK:
        hit = _WRITERS.get(id(store))
        if hit is None or hit[0] is not store:
            hit = (store, PaymentWriter(store))
            _WRITERS[id(store)] = hit
        return hit[1]
