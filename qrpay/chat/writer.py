"""Group commit for conversation turns: many webhook messages and USSD hops, one commit.

On SQLite with ``synchronous=FULL`` a commit is an fsync (several milliseconds on a shared
disk), far more than a turn's own work.  :class:`GroupWriter` runs submitted steps on one
thread: it takes what is queued (up to ``max_batch``), runs each step in its own SAVEPOINT
of one transaction (a step that fails rolls back alone and gets its exception), commits
once, and only then wakes the callers, so nothing is answered before it is durable.  If
the commit itself fails (a PostgreSQL deadlock between two workers' batches, say), every
step of the batch runs again in its own transaction.

On SQLite, chat's writers in every process on the machine take an OS file lock
(:func:`write_lock`, ``flock`` on ``<database>.chat-lock``) around their write
transactions: a blocked ``flock`` wakes the moment the holder lets go, where SQLite's own
busy handler sleeps and polls (up to 100 ms a time), which gave seconds-long tails when
two workers' batches alternated.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from sqlalchemy import Connection

from qrpay.store import Store

log = logging.getLogger("qrpay.chat")
T = TypeVar("T")


_LOCKS: dict[str, Any] = {}
_LOCKS_GUARD = threading.Lock()


@contextlib.contextmanager
def write_lock(store: Store) -> Iterator[None]:
    """An exclusive OS lock shared by chat's SQLite writers on this machine (no-op on
    PostgreSQL, whose row locks queue writers without polling)."""
    path = store.url.split("///", 1)[1] if store.is_sqlite and "///" in store.url else ""
    if not path or path == ":memory:":
        yield
        return
    with _LOCKS_GUARD:
        handle = _LOCKS.get(path)
        if handle is None:
            handle = _LOCKS[path] = (open(path + ".chat-lock", "a+b"), threading.Lock())  # noqa: SIM115
    fh, local = handle
    with local:  # threads of this process queue here; flock is per open file
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


class _Job:
    """A submitted step: a thread waits on ``done``, a coroutine on ``future`` (settled
    on its own event loop)."""

    __slots__ = ("fn", "result", "error", "done", "future")

    def __init__(self, fn: Callable[[Connection], Any],
                 future: asyncio.Future[Any] | None = None) -> None:
        self.fn = fn
        self.result: Any = None
        self.error: BaseException | None = None
        self.future = future
        self.done = threading.Event() if future is None else None


def _settle(jobs: list[_Job]) -> None:
    """On the jobs' event loop: hand each its result (one wake-up per loop and batch)."""
    for job in jobs:
        fut = job.future
        if fut is None or fut.done():  # cancelled: the client went away
            continue
        if job.error is not None:
            fut.set_exception(job.error)
        else:
            fut.set_result(job.result)


def _run_batch(cursor: Any, conn: Connection, batch: list[_Job], pg: bool) -> None:
    """Each job of ``batch`` in its own SAVEPOINT of the batch's transaction, rolled back
    alone if it fails.  The savepoint statements go straight to the driver's cursor
    (SQLAlchemy's ``begin_nested()`` compiled a new, uniquely named SAVEPOINT and RELEASE
    every time, about a sixth of a turn); on PostgreSQL a RELEASE and the next SAVEPOINT
    share one round trip; the last savepoint ends with the commit."""
    cursor.execute("SAVEPOINT chat_step")
    last = len(batch) - 1
    for i, job in enumerate(batch):
        try:
            job.result = job.fn(conn)
        except Exception as exc:  # noqa: BLE001 - handed to the caller
            job.error = exc
            cursor.execute("ROLLBACK TO SAVEPOINT chat_step")
        if i == last:
            break
        if pg:
            cursor.execute("RELEASE SAVEPOINT chat_step; SAVEPOINT chat_step")
        else:  # sqlite3 runs one statement per execute
            cursor.execute("RELEASE SAVEPOINT chat_step")
            cursor.execute("SAVEPOINT chat_step")


class GroupWriter:
    def __init__(self, store: Store, max_batch: int = 64) -> None:
        self.store = store
        self.max_batch = max_batch
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="qrpay-chat-writer",
                                        daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn(conn)`` in a committed transaction; its result, or its exception."""
        if self._closed:
            raise RuntimeError("the chat writer is closed")
        job = _Job(fn)
        self._queue.put(job)
        assert job.done is not None
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[no-any-return]

    def submit_async(self, fn: Callable[[Connection], T]) -> asyncio.Future[T]:
        """The same for a coroutine (call it on the event loop): a future settled after
        the commit, without a thread of the loop's pool waiting for it."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        if self._closed:
            future.set_exception(RuntimeError("the chat writer is closed"))
            return future
        self._queue.put(_Job(fn, future))
        return future

    def close(self) -> None:
        """Run what is queued, then stop; a step submitted after this fails."""
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout=10)
        left: list[_Job] = []
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job.error = RuntimeError("the chat writer is closed")
                left.append(job)
        if left:
            self._wake(left)

    def _take(self, first: _Job) -> tuple[list[_Job], bool]:
        batch, stop = [first], False
        while len(batch) < self.max_batch:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                stop = True
                break
            batch.append(job)
        return batch, stop

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stop = self._take(first)
            self._run(batch)
            if stop:
                return

    def _run(self, batch: list[_Job]) -> None:
        try:
            with write_lock(self.store), self.store.begin() as conn:
                cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
                _run_batch(cursor, conn, batch, conn.dialect.name == "postgresql")
                cursor.close()
        except Exception:
            log.warning("chat batch of %d failed to commit; running its steps one by one",
                        len(batch), exc_info=True)
            for job in batch:
                job.result, job.error = None, None
                try:
                    with write_lock(self.store), self.store.begin() as conn:
                        job.result = job.fn(conn)
                except Exception as exc:  # noqa: BLE001 - handed to the caller
                    job.error = exc
        self._wake(batch)

    @staticmethod
    def _wake(batch: list[_Job]) -> None:
        """Hand every job its outcome: threads by their event, coroutines by one
        callback per event loop."""
        loops: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
        for job in batch:
            if job.done is not None:
                job.done.set()
            elif job.future is not None:
                loops.setdefault(job.future.get_loop(), []).append(job)
        for loop, jobs in loops.items():
            with contextlib.suppress(RuntimeError):  # a loop closed meanwhile
                loop.call_soon_threadsafe(_settle, jobs)
