"""How callbacks reach the store: one group-commit writer per server process, and one
writer transaction at a time across processes.

Each process posts callbacks through a :class:`~qrpay.payments.callbacks.CallbackWriter`
(:func:`callback_writer`): the request hands the raw callback to the writer thread and
awaits its answer, and the writer posts whatever has queued up in one transaction, each
callback in its own savepoint.  The writer holds the gate below around each transaction.

On SQLite every write transaction holds the one database write lock, so callbacks post
one at a time whatever we do.  Left alone, concurrent writers wait in SQLite's busy
handler, which polls with growing sleeps (1, 2, 5, 10 ... 100 ms): throughput holds but
p99 latency explodes.  The gate queues them instead: a thread lock within the process and
an ``flock`` on ``<database>.callbacks.lock`` across the server's worker processes, both
of which wake the next waiter the moment the lock is free.

On PostgreSQL rows lock individually; the batch writers of all processes run side by
side (each batch locks its bill rows in bill-number order and the receipt counter last,
see ``qrpay.payments.callbacks``), and the gate is a no-op there.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import os
import threading
from collections.abc import Iterator
from typing import Any

from qrpay.config import Config
from qrpay.payments.callbacks import CallbackWriter
from qrpay.store import Store

PG_CONCURRENCY = 2


class WriteGate:
    def __init__(self, store: Store) -> None:
        self._local = threading.BoundedSemaphore(1 if store.is_sqlite else PG_CONCURRENCY)
        self._lock_path = _lock_path(store) if store.is_sqlite else None
        self._fd: int | None = None
        self._pid = 0

    def _file(self) -> int | None:
        if self._lock_path is None:
            return None
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        with self._local:
            fd = self._file()
            if fd is None:
                yield
                return
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)


def callback_writer(state: Any) -> CallbackWriter:
    """The process's callback writer on ``app.state`` (made on first use), holding
    ``state.write_gate`` around each transaction."""
    writer: CallbackWriter | None = getattr(state, "callback_writer", None)
    if writer is None:
        with _MAKE:
            writer = getattr(state, "callback_writer", None)
            if writer is None:
                config: Config = state.config
                writer = CallbackWriter(state.store, config, lock=state.write_gate.held)
                state.callback_writer = writer
                # The app, its templates and pools are loaded by now: move them out of
                # the garbage collector's sight, so that a full collection no longer
                # walks them: its pauses of the event loop and the writer set the p99
                # of callbacks (bench/serve.py, SQLite: p99 52-57 -> 28-33 ms).
                gc.freeze()
    return writer


_MAKE = threading.Lock()


def _lock_path(store: Store) -> str | None:
    path = store.url.split("///", 1)[1] if "///" in store.url else ""
    path = path.split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return path + ".callbacks.lock"
