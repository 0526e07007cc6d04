"""Retrying a short write while the database is unreachable (a PostgreSQL restart).

A sender that has just handed a message to a provider must record that, or the row is
sent again once its lease runs out.  :func:`until_written` retries such a write while
the error is a lost or refused connection (``OperationalError``, or a DBAPI error that
invalidated the connection), for at most ``seconds``; any other error, or the last one,
is raised.  The write must be safe to repeat (the senders' writes are fenced by the
claim's ``attempts``), because a commit whose answer was lost may have happened.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger("qrpay.store")
T = TypeVar("T")


def _driver_errors() -> tuple[type[BaseException], ...]:
    try:  # statements run on the driver's cursor (qrpay.chat.fixedsql) raise its own
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return ()
    return (psycopg.OperationalError,)


DRIVER_ERRORS = _driver_errors()
_CAUGHT: tuple[type[BaseException], ...] = (DBAPIError, *DRIVER_ERRORS)


def disconnected(exc: BaseException) -> bool:
    """True for the errors of a database that went away (worth retrying)."""
    return isinstance(exc, (OperationalError, *DRIVER_ERRORS)) or (
        isinstance(exc, DBAPIError) and bool(exc.connection_invalidated))


def until_written(write: Callable[[], T], *, seconds: float = 20.0, what: str = "write",
                  sleep: Callable[[float], None] = time.sleep) -> T:
    """``write()``, retried with a growing pause while the database is unreachable."""
    deadline = time.monotonic() + seconds
    pause = 0.2
    while True:
        try:
            return write()
        except _CAUGHT as exc:
            if not disconnected(exc) or time.monotonic() + pause > deadline:
                raise
            log.warning("%s: database unreachable, retrying in %.1f s", what, pause)
            sleep(pause)
            pause = min(pause * 2, 2.0)
