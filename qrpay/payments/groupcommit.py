"""Group commit of payment callbacks: one writer thread per server process posts, in one
transaction, every callback that queued up while the previous transaction ran.

The writer takes callbacks already verified and parsed above payments (by the channel
modules, ``qrpay.channels.check_callback``): :meth:`GroupCommitWriter.submit` gets the
callback as received (:class:`Received`, for its raw row) and what its channel made of it
(:class:`~qrpay.payments.events.CheckedCallback`), and returns a future that completes
only after the callback's transaction committed.

One batch, in one write transaction (SQLite: under the cross-process gate, ``BEGIN
IMMEDIATE``; PostgreSQL: the batches of the server processes run side by side), in the
steps of :class:`~qrpay.payments.batch.Batch`, each one round trip on PostgreSQL:

1. the raw rows of the callbacks (exactly as received) together with the batch's bills,
   locked in bill-number order, and their ledger sums;
2. the payment rows claimed (new ones inserted) and read, locked in key order;
3. every callback decided in memory, in bill order, each on the state the ones before it
   left (a refused one changes nothing);
4. the receipt numbers, one counter update per biller (the last lock);
5. the ledger rows, payment rows, SMS rows and every callback row's outcome; commit.

Only after that commit is any answer given: ``200 {"result", "receipt_no", ...}``, or
``4xx {"error": {"code", "message", "field"}}`` with the code also on the callback's row.
If the transaction fails, nothing of it is acknowledged: a PostgreSQL deadlock or
serialisation failure runs the batch again (up to :data:`MAX_TRIES`); any other failure
runs each callback of the batch on its own (so one poisoned callback cannot fail the
others); a callback that fails on its own is stored as received in a fresh transaction
(``result = internal_error``) and its future gets the exception (the web layer answers
500, the channel retries).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from qrpay.config import Config
from qrpay.errors import (
    QrpayError,
    http_status,
)
from qrpay.payments import statements as sql
from qrpay.payments.batch import Batch
from qrpay.payments.events import CheckedCallback, ParsedCallback
from qrpay.store import Store
from qrpay.store.raw import Raw, is_retryable

log = logging.getLogger("qrpay.payments")

# The headers stored with a callback, by allow-list: what helps to trace and re-verify
# it (content type, the channels' signature and event headers, proxies' client address).
# Anything else (an API key the channel sends as X-Api-Key, cookies, Authorization) is
# not stored.  tests/payments/test_stored_headers.py checks every channel's signature
# header is here.
KEEP_HEADERS = frozenset({
    "content-type", "content-length", "user-agent", "date", "x-request-id",
    "x-forwarded-for", "x-real-ip", "x-qrpay-signature", "x-razorpay-signature",
    "x-razorpay-event-id", "x-verify",
})
MAX_HEADER_VALUE = 512  # characters kept of one header's value
MAX_BATCH = 128  # callbacks per transaction at most
MAX_TRIES = 5  # a batch that keeps losing PostgreSQL deadlocks fails after this


@dataclass(frozen=True)
class CallbackResult:
    status: int
    body: dict[str, Any]
    callback_id: int | None = None


@dataclass(frozen=True)
class Received:
    """A callback exactly as it arrived (``headers`` with lower-cased names)."""

    channel: str
    headers: Mapping[str, str]
    body: bytes
    remote: str | None
    now: dt.datetime


#: The HTTP status of a refused callback: the one rule of every entry point.
status_for = http_status


@dataclass(eq=False)
class Item:
    """One callback on its way through a batch."""

    received: Received
    checked: CheckedCallback
    future: Future[CallbackResult] = field(default_factory=Future)
    callback_id: int | None = None
    outcome: tuple[str, int | None] | None = None  # (result, payment_id) for its row
    answer: CallbackResult | None = None

    @property
    def parsed(self) -> ParsedCallback | None:
        return self.checked.parsed


def _raw_row(raw: Raw, r: Received) -> tuple[Any, ...]:
    kept = {k: v[:MAX_HEADER_VALUE] for k, v in r.headers.items() if k in KEEP_HEADERS}
    return (r.channel[:40], raw.ts(r.now), json.dumps(kept, sort_keys=True), r.body,
            (r.remote or None) and r.remote[:64])


def _mark_row(item: Item) -> tuple[Any, ...]:
    assert item.outcome is not None and item.callback_id is not None
    parsed = item.parsed
    return (item.outcome[0][:40], item.checked.signature_ok,
            parsed.event_id[:100] if parsed and parsed.event_id else None,
            parsed.txn_id[:100] if parsed and parsed.txn_id else None,
            item.outcome[1], item.callback_id)


def _refuse(item: Item, exc: QrpayError) -> None:
    item.outcome = (exc.code, None)
    item.answer = CallbackResult(status_for(exc), {"error": exc.as_dict()}, item.callback_id)


def _order(item: Item) -> tuple[str, str]:
    """Posting order within a batch: by bill (one lock order for every process)."""
    payment = item.parsed.payment if item.parsed is not None else None
    return (payment.bill_no, payment.txn_id) if payment is not None else ("", "")


def _decide(batch: Batch, item: Item) -> None:
    """One callback's outcome, on the state the batch holds (nothing written yet)."""
    if item.checked.error is not None:
        _refuse(item, item.checked.error)
        return
    parsed = item.parsed
    assert parsed is not None
    if parsed.payment is None:
        item.outcome = (parsed.result, None)
        item.answer = CallbackResult(200, {"result": parsed.result, "receipt_no": None,
                                           "reason": parsed.ignored}, item.callback_id)
        return
    try:
        res = batch.apply(parsed.payment, item.received.now)
    except QrpayError as exc:
        _refuse(item, exc)
        return
    item.outcome = (res.result, res.payment_id)
    item.answer = CallbackResult(200, res.as_dict(), item.callback_id)


def _finish_answers(batch: Batch, items: list[Item]) -> None:
    """Receipt numbers taken at the end of the batch into the answers."""
    for item in items:
        answer = item.answer
        if answer is None or answer.status != 200 or answer.body.get("payment_id") is None:
            continue
        pay = batch.by_id.get(answer.body["payment_id"])
        number = pay.receipt_no if pay is not None else None
        item.answer = CallbackResult(200, {**answer.body, "receipt_no": number},
                                     item.callback_id)


Begin = Callable[[], AbstractContextManager[Any]]


def _run(begin: Begin, config: Config, items: list[Item]) -> None:
    """Store, decide, write and commit ``items`` in one transaction."""
    with begin() as conn:
        batch = Batch(conn, config)
        raw = batch.raw
        rows = [_raw_row(raw, item.received) for item in items]
        ahead = (sql.insert_callbacks(len(rows)), [v for row in rows for v in row])
        bill_nos = {item.parsed.payment.bill_no for item in items
                    if item.parsed is not None and item.parsed.payment is not None
                    and item.checked.error is None}
        ids = sorted(int(r[0]) for r in batch.lock(bill_nos, ahead))
        ordered = sorted(items, key=_order)
        for item, callback_id in zip(items, ids, strict=True):
            item.callback_id = callback_id
        batch.claim([(item.parsed.payment, item.received.now) for item in ordered
                     if item.checked.error is None and item.parsed is not None
                     and item.parsed.payment is not None])
        for item in ordered:
            _decide(batch, item)
        batch.take_receipts()
        _finish_answers(batch, items)
        batch.write([(sql.mark_callback(), [_mark_row(item) for item in items])])


def _reset(items: list[Item]) -> None:
    for item in items:  # the raw rows rolled back with the transaction
        item.callback_id = None
        item.outcome = item.answer = None


def _rescue(store: Store, item: Item) -> None:
    """The callback failed on its own: keep it as received before answering 500."""
    try:
        with store.begin() as conn:
            raw = Raw(conn)
            row = raw.one(sql.insert_callbacks(1), _raw_row(raw, item.received))
            assert row is not None
            item.callback_id = int(row[0])
            item.outcome = ("internal_error", None)
            raw.run(sql.mark_callback(), _mark_row(item))
    except Exception:  # noqa: BLE001 - the store is down; the answer is 500 anyway
        log.exception("could not store callback %s as received", item.received.channel)


def process(store: Store, config: Config, items: list[Item],
            lock: Callable[[], AbstractContextManager[Any]] | None = None,
            begin: Begin | None = None) -> None:
    """Run one batch and complete every item's future (see the module docstring)."""
    begin = begin or store.begin
    for tries in range(1, MAX_TRIES + 1):
        try:
            with lock() if lock is not None else contextlib.nullcontext():
                _run(begin, config, items)
        except Exception as exc:  # noqa: BLE001 - nothing of this batch was committed
            _reset(items)
            if is_retryable(exc) and tries < MAX_TRIES:
                continue
            if len(items) > 1:  # find the one that fails: each on its own
                for item in items:
                    process(store, config, [item], lock, begin)
                return
            _rescue(store, items[0])
            items[0].future.set_exception(exc)
            return
        break
    for item in items:
        assert item.answer is not None
        item.future.set_result(item.answer)


class HeldConnection:
    """A writer thread's PostgreSQL connection, kept from one batch to the next: a pool
    checkout pre-pings the server, a round trip per batch.  Dropped after any error
    (the next batch checks a fresh one out).  SQLite: ``store.begin()`` as usual."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._conn: Any = None

    @contextlib.contextmanager
    def begin(self) -> Iterator[Any]:
        if self._store.is_sqlite:
            with self._store.begin() as conn:
                yield conn
            return
        if self._conn is None:
            self._conn = self._store.engine.connect()
        ok = False
        try:
            with self._conn.begin():
                yield self._conn
            ok = True
        finally:
            if not ok:
                self.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


class GroupCommitWriter:
    """Callbacks submitted from many threads or tasks, posted by one writer thread, as
    many per transaction as have queued up while the previous one ran (up to
    ``max_batch``).  ``lock`` (optional) is held around each transaction, e.g. the
    cross-process gate on SQLite."""

    def __init__(self, store: Store, config: Config, *,
                 lock: Callable[[], AbstractContextManager[Any]] | None = None,
                 max_batch: int = MAX_BATCH) -> None:
        self._store = store
        self._config = config
        self._lock = lock
        self._max = max_batch
        self._queue: queue.SimpleQueue[Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def submit(self, received: Received, checked: CheckedCallback) -> Future[CallbackResult]:
        """Queue one verified and parsed callback; the future completes after commit."""
        item = Item(received, checked)
        self._queue.put(item)
        if self._thread is None:
            with self._start:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, daemon=True,
                                                    name="qrpay-callback-writer")
                    self._thread.start()
        return item.future

    def close(self, timeout: float = 10.0) -> None:
        """Finish what is queued, then stop the writer thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)

    def _take(self) -> tuple[list[Item], bool]:
        first = self._queue.get()
        if first is None:
            return [], True
        batch = [first]
        while len(batch) < self._max:
            try:
                nxt = self._queue.get_nowait()
            except queue.Empty:
                break
            if nxt is None:
                return batch, True
            batch.append(nxt)
        return batch, False

    def _run(self) -> None:
        held = HeldConnection(self._store)
        try:
            stop = False
            while not stop:
                batch, stop = self._take()
                if batch:
                    self._process(batch, held)
        finally:
            held.close()

    def _process(self, batch: list[Item], held: HeldConnection) -> None:
        try:
            process(self._store, self._config, batch, self._lock, held.begin)
        except BaseException as exc:  # noqa: BLE001 - never leave a caller waiting
            log.exception("callback writer")
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(exc)
