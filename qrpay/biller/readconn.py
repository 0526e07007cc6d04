"""The connection read-only biller requests use: on PostgreSQL one per thread, kept open
in autocommit (a pooled checkout cost a pre-ping round trip and a rollback on return,
three round trips for a one-statement inquiry); on SQLite a pooled one (local, cheap)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from qrpay.store import Store

_LOCAL = threading.local()


def _kept(store: Store) -> Connection:
    """This thread's kept connection to ``store``; one per thread (a connection to another
    store, e.g. the previous test's, is closed first)."""
    hit: tuple[Store, Connection] | None = getattr(_LOCAL, "hit", None)
    if hit is not None and hit[0] is store and not hit[1].closed and not hit[1].invalidated:
        return hit[1]
    _drop()
    conn = store.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    _LOCAL.hit = (store, conn)
    return conn


def _drop() -> None:
    hit: tuple[Store, Connection] | None = getattr(_LOCAL, "hit", None)
    _LOCAL.hit = None
    if hit is not None:
        with contextlib.suppress(Exception):
            hit[1].close()


@contextlib.contextmanager
def reading(store: Store) -> Iterator[Connection]:
    """A connection for one read-only request (a dropped one is replaced next time)."""
    if store.is_sqlite:
        with store.connect() as conn:
            yield conn
        return
    conn = _kept(store)
    try:
        yield conn
    except DBAPIError:
        _drop()  # a database restart: a fresh connection for the next request
        raise
