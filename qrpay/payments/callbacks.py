"""Payment callbacks, framework-free: ``handle_callback(store, config, channel, headers,
raw_body, remote) -> CallbackResult(status, body)`` for one, and :class:`CallbackWriter`
(group commit) for a server, which batches concurrent callbacks into one transaction.
The web layer only passes the raw request through and writes the answer.

Order of work for a batch of callbacks (one callback is a batch of one):

1. outside any transaction (with the writer: in the submitting thread), each callback's
   adapter verifies the signature on the raw bytes and parses them (CPU only, nothing
   stored yet, nothing acted on);
2. one write transaction (SQLite: under the cross-process gate, ``BEGIN IMMEDIATE``;
   PostgreSQL: batches of the server processes run side by side) first inserts every
   callback exactly as received (raw bytes, headers as JSON) in ``callbacks``, then
   locks all the batch's bills in one statement in bill-number order and reads their
   ledger sums (PostgreSQL: these three in one pipeline; a first attempt without
   savepoints also claims all payments in one statement, ``Batch.claim_all``), then
   posts each one in its own ``SAVEPOINT`` (``post_payment``), in bill-number order, so
   that one callback's failure rolls back only its own work and concurrent batches lock
   bill rows in the same order; then takes the batch's receipt numbers with one counter
   update per biller (the last lock, see ``posting.Batch``) and writes the postings'
   ledger entries, payment updates and SMS rows, then every row's outcome, then commits;
3. only after that commit is any ``200 {"result", "receipt_no", ...}`` returned;
4. a rejected callback gets ``4xx {"error": {"code", "message", "field"}}`` and the code
   is written to its row, in the same transaction;
5. if the batch transaction itself fails (commit, lost connection), nothing of it is
   acknowledged: each callback is stored as received on its own in a fresh transaction
   (``result = internal_error``) and the exception propagates (the web layer answers 500,
   the channel retries).  A PostgreSQL deadlock or serialisation failure of one
   callback (a desk posting the same bill) only rolls back its savepoint; it runs again
   in the next transaction.

So a raw row is committed before, or together with, anything done about it, and never
after an answer; see docs/callbacks.md ("Group commit") for why no acknowledged callback
can be lost.

Status codes: 401 bad or missing signature, stale timestamp; 400 malformed JSON or
fields, whatever the shape of a signed body; 422 a well-formed payment that cannot be
accepted (``unknown_bill``, ``channel_not_allowed``, ``currency_mismatch``,
``non_positive_amount``, ``bad_status``...); 409 the transaction
id was seen with another bill or amount; 404 ``unknown_channel``; 500 a profile or
secret missing.  Any other exception propagates after the row is marked
``internal_error`` (the web layer answers 500 and the channel retries).
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
from qrpay.errors import AuthError, ConfigError, Conflict, NotFound, PaymentError, QrpayError
from qrpay.payments.adapters import ParsedCallback, get_adapter
from qrpay.payments.adapters._util import lower_headers
from qrpay.payments.posting import Batch, post_payment, precheck
from qrpay.payments.sql import Pending, Raw, is_retryable
from qrpay.store import Store, utcnow

log = logging.getLogger("qrpay.payments")

# Headers worth keeping: never store Authorization or cookies.
DROP_HEADERS = {"authorization", "cookie", "proxy-authorization"}
MAX_BODY = 64 * 1024
MAX_BATCH = 128  # callbacks per transaction at most
MAX_TRIES = 5  # a callback that keeps losing PostgreSQL deadlocks gets 500 after this


@dataclass(frozen=True)
class CallbackResult:
    status: int
    body: dict[str, Any]
    callback_id: int | None = None


def _status_for(exc: QrpayError) -> int:
    if isinstance(exc, AuthError):
        return 401
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, PaymentError):
        return 422
    if isinstance(exc, ConfigError):
        return 500
    return 400


@dataclass(eq=False)
class _Item:
    """One received callback on its way through a batch."""

    channel: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    remote: str | None
    now: dt.datetime
    future: Future[CallbackResult] = field(default_factory=Future)
    parsed: ParsedCallback | None = None
    error: QrpayError | None = None
    signature_ok: bool | None = None
    callback_id: int | None = None
    tries: int = 0
    # outcome: (result, payment_id) for the row; answer or exception for the caller
    outcome: tuple[str, int | None] | None = None
    answer: CallbackResult | None = None
    exc: BaseException | None = None


def _check(item: _Item, config: Config) -> None:
    """Verify and parse (no store access).  Sets ``parsed`` or ``error``."""
    ch = config.channels.get(item.channel)
    if ch is None:
        item.error = NotFound(f"no payment channel {item.channel!r}",
                              code="unknown_channel", field="channel")
        return
    try:
        if len(item.body) > MAX_BODY:
            raise PaymentError("callback body too large", code="body_too_large")
        adapter = get_adapter(ch.adapter)
        adapter.verify(item.headers, item.body, ch.secrets(), item.now.timestamp())
        item.signature_ok = True
        item.parsed = adapter.parse(item.channel, item.headers, item.body)
    except AuthError as exc:
        item.signature_ok = False
        item.error = exc
    except QrpayError as exc:
        item.error = exc


_RAW_SQL = ("INSERT INTO callbacks (channel, received_at, headers, body, remote) "
            "VALUES (?, ?, ?, ?, ?) RETURNING id")
_MARK_SQL = ("UPDATE callbacks SET result = ?, signature_ok = ?, event_id = ?, txn_id = ?, "
             "payment_id = ? WHERE id = ?")


def _raw_row(raw: Raw, item: _Item) -> tuple[Any, ...]:
    kept = {k: v for k, v in item.headers.items() if k not in DROP_HEADERS}
    return (item.channel[:40], raw.ts(item.now), json.dumps(kept, sort_keys=True),
            item.body, (item.remote or None) and item.remote[:64])


def _insert_raw(raw: Raw, items: list[_Item]) -> Pending:
    """The raw rows of ``items``; PostgreSQL: one multi-row ``INSERT ... RETURNING id``
    (one message that a pipeline need not wait on; ``executemany ... RETURNING`` waits
    for its own results).  Its ids come from the sequence in VALUES order: sort them."""
    rows = [_raw_row(raw, item) for item in items]
    if not raw.pg or not rows:
        return raw.query_many(_RAW_SQL, rows)
    values = ", ".join(["(?, ?, ?, ?, ?)"] * len(rows))
    return raw.query(_RAW_SQL.replace("VALUES (?, ?, ?, ?, ?)", "VALUES " + values),
                     [v for row in rows for v in row])


def _store_raw(raw: Raw, items: list[_Item]) -> None:
    new = [item for item in items if item.callback_id is None]
    rows = raw.many_returning(_RAW_SQL, [_raw_row(raw, item) for item in new])
    for item, row in zip(new, rows, strict=True):
        item.callback_id = int(row[0])


def _mark_row(item: _Item) -> tuple[Any, ...]:
    assert item.outcome is not None and item.callback_id is not None
    parsed = item.parsed
    return (item.outcome[0][:40], item.signature_ok,
            parsed.event_id[:100] if parsed and parsed.event_id else None,
            parsed.txn_id[:100] if parsed and parsed.txn_id else None,
            item.outcome[1], item.callback_id)


def _fail(item: _Item, exc: QrpayError) -> None:
    item.outcome = (exc.code, None)
    item.answer = CallbackResult(_status_for(exc), {"error": exc.as_dict()}, item.callback_id)


class _Redo(Exception):
    """A callback of a batch run without savepoints failed: run the batch again with."""


class _Savepoint:
    """One savepoint per callback; releasing one and opening the next is one round trip.

    Disabled (PostgreSQL's first attempt at a batch, where each savepoint is a round
    trip per callback), ``rollback`` raises :class:`_Redo` instead: the whole batch
    transaction rolls back and runs again with savepoints, so one callback's failure
    still never undoes or half-keeps anything."""

    NAME = "qrpay_cb"

    def __init__(self, raw: Raw, enabled: bool = True) -> None:
        self.raw = raw
        self.enabled = enabled
        self.open = False

    def begin(self) -> None:
        if not self.enabled:
            return
        if self.open:
            self.raw.script(f"RELEASE SAVEPOINT {self.NAME}", f"SAVEPOINT {self.NAME}")
        else:
            self.raw.script(f"SAVEPOINT {self.NAME}")
        self.open = True

    def rollback(self) -> None:
        if not self.enabled:
            raise _Redo
        self.raw.script(f"ROLLBACK TO SAVEPOINT {self.NAME}")

    def finish(self) -> None:
        if self.open:
            self.raw.script(f"RELEASE SAVEPOINT {self.NAME}")
            self.open = False


def _act(conn: Any, sp: _Savepoint, config: Config, item: _Item, batch: Batch) -> bool:
    """Decide one callback inside the batch transaction; False: run it again later."""
    if item.error is not None:
        _fail(item, item.error)
        return True
    parsed = item.parsed
    assert parsed is not None
    if parsed.payment is None:
        item.outcome = (parsed.result, None)
        item.answer = CallbackResult(200, {"result": parsed.result, "receipt_no": None,
                                           "reason": parsed.ignored}, item.callback_id)
        return True
    if parsed.payment.bill_no in batch.bills:
        try:  # the checks made before any write: failing one needs no rollback
            precheck(config, parsed.payment, batch)
        except QrpayError as exc:
            _fail(item, exc)
            return True
    sp.begin()
    try:
        res = post_payment(conn, config, parsed.payment, now=item.now, batch=batch)
    except QrpayError as exc:
        sp.rollback()
        _fail(item, exc)
    except Exception as exc:  # noqa: BLE001 - the caller answers 500 and the channel retries
        sp.rollback()
        if is_retryable(exc) and item.tries < MAX_TRIES:
            return False
        item.outcome = ("internal_error", None)
        item.exc = exc
    else:
        item.outcome = (res.result, res.payment_id)
        item.answer = CallbackResult(200, res.as_dict(), item.callback_id)
    return True


def _order(item: _Item) -> tuple[str, str]:
    """Posting order within a batch: by bill, so that concurrent batches (the other
    server process, a counter desk) lock bill rows in one order and cannot deadlock."""
    payment = item.parsed.payment if item.parsed is not None else None
    return (payment.bill_no, payment.txn_id) if payment is not None else ("", "")


def _fill_receipts(items: list[_Item], batch: Batch) -> None:
    """Receipt numbers taken at the end of the batch, also for an in-batch duplicate."""
    for item in items:
        answer = item.answer
        if answer is None or answer.status != 200 or answer.body.get("receipt_no"):
            continue
        number = batch.receipts.get(answer.body.get("payment_id"))  # type: ignore[arg-type]
        if number is not None:
            item.answer = CallbackResult(200, {**answer.body, "receipt_no": number},
                                         answer.callback_id)


Begin = Callable[[], AbstractContextManager[Any]]


class _HeldConnection:
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


def _run_batch(store: Store, config: Config, items: list[_Item],
               begin: Begin | None = None) -> list[_Item]:
    """Store, post and commit ``items`` in one transaction; return those to run again.

    PostgreSQL: first without a savepoint per callback; if any callback fails, that
    transaction rolls back and the batch runs again with savepoints."""
    begin = begin or store.begin
    if store.is_sqlite:
        return _run_once(begin, config, items, savepoints=True)
    try:
        return _run_once(begin, config, items, savepoints=False)
    except _Redo:
        for item in items:
            item.tries -= 1
            item.callback_id = None  # its raw row rolled back with the attempt
            item.outcome = item.answer = item.exc = None
        return _run_once(begin, config, items, savepoints=True)


def _run_once(begin: Begin, config: Config, items: list[_Item], *,
              savepoints: bool) -> list[_Item]:
    again: list[_Item] = []
    with begin() as conn:
        raw = Raw(conn)
        for item in items:
            item.tries += 1
        done: list[_Item] = []
        sp = _Savepoint(raw, savepoints)
        batch = Batch()
        # the raw rows first, then the bills locked and their ledgers read, in one pipeline
        new = [item for item in items if item.callback_id is None]
        ids = batch.lock_bills(conn, {item.parsed.payment.bill_no for item in items
                                      if item.parsed is not None
                                      and item.parsed.payment is not None
                                      and len(item.parsed.payment.bill_no) <= 40},
                               first=lambda r: _insert_raw(r, new))
        if raw.pg:
            ids = sorted(ids)
        for item, row in zip(new, ids, strict=True):
            item.callback_id = int(row[0])
        if not savepoints:  # the attempt rolls back as a whole if any posting fails
            batch.claim_all(conn, config, [(item.parsed.payment, item.now) for item in items
                                           if item.parsed is not None
                                           and item.parsed.payment is not None])
        for item in sorted(items, key=_order):
            (done if _act(conn, sp, config, item, batch) else again).append(item)
        sp.finish()

        def marks() -> tuple[str, list[tuple[Any, ...]]]:
            _fill_receipts(done, batch)
            return _MARK_SQL, [_mark_row(item) for item in done]

        batch.finish(conn, marks)
    return again


def _rescue(store: Store, items: list[_Item]) -> None:
    """The batch failed: keep each callback as received, on its own, before answering."""
    for item in items:
        try:
            with store.begin() as conn:
                raw = Raw(conn)
                _store_raw(raw, [item])
                item.outcome = ("internal_error", None)
                raw.run(_MARK_SQL, _mark_row(item))
        except Exception:  # noqa: BLE001 - the store is down; the answer is 500 anyway
            log.exception("could not store callback %s as received", item.channel)


def process(store: Store, config: Config, items: list[_Item],
            lock: Callable[[], AbstractContextManager[Any]] | None = None,
            begin: Begin | None = None) -> list[_Item]:
    """Run one batch and complete its futures; return the items to run again."""
    for item in items:
        if item.parsed is None and item.error is None:
            _check(item, config)
    try:
        with lock() if lock is not None else contextlib.nullcontext():
            again = _run_batch(store, config, items, begin)
    except Exception as exc:  # noqa: BLE001 - nothing of this batch was committed
        for item in items:
            item.callback_id = None  # its raw row rolled back with the batch
        _rescue(store, items)
        for item in items:
            item.future.set_exception(exc)
        return []
    retry = {id(item) for item in again}
    for item in items:
        if id(item) in retry:
            continue
        if item.exc is not None:
            item.future.set_exception(item.exc)
        else:
            assert item.answer is not None
            item.future.set_result(item.answer)
    return again


def handle_callback(store: Store, config: Config, channel: str, headers: Mapping[str, str],
                    raw_body: bytes, remote: str | None, now: dt.datetime | None = None
                    ) -> CallbackResult:
    """Store, verify, parse and post one callback; see the module docstring."""
    item = _Item(channel, lower_headers(headers), raw_body, remote, now or utcnow())
    pending = [item]
    while pending:
        pending = process(store, config, pending)
    return item.future.result()


class CallbackWriter:
    """Group commit: callbacks submitted from many threads or tasks are posted by one
    writer thread, as many per transaction as have queued up while the previous
    transaction ran (up to :data:`MAX_BATCH`).  ``lock`` (optional) is held around each
    transaction, e.g. a cross-process gate on SQLite.

    ``submit`` returns a future that completes only after the callback's transaction
    committed (or with the exception that made it fail).
    """

    def __init__(self, store: Store, config: Config, *,
                 lock: Callable[[], AbstractContextManager[Any]] | None = None,
                 max_batch: int = MAX_BATCH) -> None:
        self._store = store
        self._config = config
        self._lock = lock
        self._max = max_batch
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def submit(self, channel: str, headers: Mapping[str, str], raw_body: bytes,
               remote: str | None, now: dt.datetime | None = None
               ) -> Future[CallbackResult]:
        item = _Item(channel, lower_headers(headers), raw_body, remote, now or utcnow())
        try:  # verify and parse in the caller's thread, while the writer is on the store
            _check(item, self._config)
        except Exception:  # noqa: BLE001 - the writer checks it again and answers
            item.parsed = item.error = item.signature_ok = None
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

    def _take(self, pending: list[_Item]) -> tuple[list[_Item], bool]:
        batch = list(pending)
        stop = False
        if not batch:
            first = self._queue.get()
            if first is None:
                return [], True
            batch.append(first)
        while len(batch) < self._max:
            try:
                nxt = self._queue.get_nowait()
            except queue.Empty:
                break
            if nxt is None:
                stop = True
                break
            batch.append(nxt)
        return batch, stop

    def _run(self) -> None:
        held = _HeldConnection(self._store)
        try:
            self._loop(held)
        finally:
            held.close()

    def _loop(self, held: _HeldConnection) -> None:
        pending: list[_Item] = []
        stop = False
        while not stop or pending:
            batch, stop_now = self._take(pending)
            stop = stop or stop_now
            if not batch:
                continue
            try:
                pending = process(self._store, self._config, batch, self._lock, held.begin)
            except BaseException as exc:  # noqa: BLE001 - never leave a caller waiting
                log.exception("callback writer")
                pending = []
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(exc)
