"""``channel_requests``: every biller-API request as received, with the answer it got.

A payment's row is written in the payment's own transaction (:func:`row` +
:func:`write`), so an acknowledged payment and its record commit together.  Read-only
requests (inquiries, status) and refusals are queued to :class:`Journal`, a writer thread
per store that commits them in batches (an inquiry must not wait for a disk flush); it
stops when idle and starts again on the next entry.  ``flush()`` waits until everything
queued is written; at interpreter exit (a server stopping) every journal is flushed.
Those rows are the one thing a crash can lose: they record answers that changed nothing.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import logging
import queue
import re
import threading
import time
from typing import Any

from sqlalchemy import Connection

from qrpay.biller.feed import Feed
from qrpay.biller.writer import gate
from qrpay.store import Store
from qrpay.store.raw import Raw

log = logging.getLogger("qrpay.biller")
# never stored: credentials (Basic auth, API keys, GSMA's end-user PIN headers), cookies
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key",
                            "x-user-credential-1", "x-user-credential-2", "x-user-bearer"})
BATCH = 1000
GATHER_SECONDS = 0.25
IDLE_SECONDS = 2.0


# a password sent in the body (bKash's form fields) is not kept: disputes need the
# request, not the channel's secret
_FORM_PASSWORD = re.compile(rb"((?:^|&)Password=)[^&]*")
_PART_PASSWORD = re.compile(rb'(name="Password"\r\n(?:[^\r\n]+\r\n)*\r\n)[^\r]*')


def redact(body: bytes) -> bytes:
    """``body`` with the value of a ``Password`` form field replaced by ``***``."""
    if b"Password" not in body:
        return body
    body = _FORM_PASSWORD.sub(rb"\1***", body)
    return _PART_PASSWORD.sub(rb"\1***", body)


def row(*, channel: str, op: str, received_at: dt.datetime, remote: str | None,
        headers: dict[str, str], body: bytes, status: int, answer: bytes, outcome: str,
        txn_id: str | None = None, payment_id: int | None = None) -> dict[str, Any]:
    safe = {k: v for k, v in headers.items() if k.lower() not in SECRET_HEADERS}
    return {"channel": channel, "op": op, "received_at": received_at, "remote": remote,
            "headers": json.dumps(safe, ensure_ascii=False, sort_keys=True), "body": redact(body),
            "status": status, "answer": answer, "outcome": outcome,
            "txn_id": (txn_id or None) and txn_id[:100], "payment_id": payment_id}


_COLUMNS = ("channel", "op", "received_at", "remote", "headers", "body", "status", "answer",
            "outcome", "txn_id", "payment_id")
_INSERT = (f"INSERT INTO channel_requests ({', '.join(_COLUMNS)}) "
           f"VALUES ({', '.join('?' * len(_COLUMNS))})")


INSERT = _INSERT


def values(raw: Raw, r: dict[str, Any]) -> tuple[Any, ...]:
    """The parameters of :data:`INSERT` for one row from :func:`row`."""
    return tuple(raw.ts(r[c]) if c == "received_at" else r[c] for c in _COLUMNS)


def write(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (from :func:`row`) in the caller's transaction."""
    if not rows:
        return
    raw = Raw(conn)
    raw.many(_INSERT, [values(raw, r) for r in rows])


class Journal:
    """Batched writer of read-only requests' rows for one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._feed: Feed[dict[str, Any]] = Feed("qrpay-journal", self._run)
        self._idle = threading.Condition()
        self._pending = 0

    def add(self, entry: dict[str, Any]) -> None:
        with self._idle:
            self._pending += 1
        self._feed.put(entry)

    def flush(self, timeout: float = 10.0) -> None:
        with self._idle:
            self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def _take(self) -> list[dict[str, Any]]:
        """What arrives within :data:`GATHER_SECONDS` of the first entry (at most
        :data:`BATCH`): a few commits a second, so that the journal does not compete
        with payments for the database's write lock (and its disk flush)."""
        waiting = self._feed.queue
        first = waiting.get(timeout=IDLE_SECONDS)
        batch = [first]
        until = time.monotonic() + GATHER_SECONDS
        while len(batch) < BATCH:
            left = until - time.monotonic()
            if left <= 0:
                break
            try:
                batch.append(waiting.get(timeout=left))
            except queue.Empty:
                break
        return batch

    def _run(self) -> None:
        for batch in self._feed.batches(self._take):
            try:
                with gate(self.store), self.store.begin() as conn:
                    write(conn, batch)
            except Exception:  # noqa: BLE001 - a journal failure must not stop the API
                log.exception("could not store %d biller-API requests", len(batch))
            with self._idle:
                self._pending -= len(batch)
                self._idle.notify_all()


_JOURNALS: dict[int, tuple[Store, Journal]] = {}
_JLOCK = threading.Lock()


def flush_all(timeout: float = 5.0) -> None:
    """Write what is queued (at interpreter exit: a stopped server keeps its journal)."""
    for _store, journal in list(_JOURNALS.values()):
        journal.flush(timeout)


def journal_for(store: Store) -> Journal:
    with _JLOCK:
        if not _JOURNALS:
            atexit.register(flush_all)
        hit = _JOURNALS.get(id(store))
        if hit is None or hit[0] is not store:
            hit = (store, Journal(store))
            _JOURNALS[id(store)] = hit
        return hit[1]
