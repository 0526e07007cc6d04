"""The store's raw-SQL helper for the hot path: fixed statements with bound parameters,
run on the DB-API connection underneath the caller's SQLAlchemy transaction.

Building a SQLAlchemy Core statement per execution (``insert().values(...)``, cache key,
compiled-cache look-up, result wrapping) cost about 70 us a statement, most of a
callback's CPU.  The statements a posting runs never change, so they are written once
here with ``?`` placeholders (turned into ``%s`` for psycopg) and executed directly;
psycopg prepares them server-side after a few runs.  Values are bound exactly as
SQLAlchemy would bind them: on SQLite ``DateTime`` goes through SQLAlchemy's own bind
processor, so rows written here and rows written through Core read back the same.

Only the steady path uses this; rare paths (a bill never charged, a reversal, a counter
cancellation) keep the Core statements.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from functools import cache
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import sqlite

from qrpay.store.types import UtcDateTime, as_utc

_SQLITE = sqlite.dialect()
_SQLITE_TS: Callable[[Any], Any] | None = UtcDateTime().bind_processor(_SQLITE)

# Deadlock, serialisation failure, lock not available: the statement lost a race and
# the same work can simply run again in a later transaction.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001", "55P03"})


@cache
def _pg_sql(statement: str) -> str:
    return statement.replace("?", "%s")


class Raw:
    """The DB-API connection of a SQLAlchemy ``Connection``, with the dialect's quirks."""

    __slots__ = ("pg", "_dbapi")

    def __init__(self, conn: Connection) -> None:
        self.pg = conn.dialect.name == "postgresql"
        self._dbapi: Any = conn.connection.driver_connection

    def ts(self, value: dt.datetime | None) -> Any:
        if value is None:
            return value
        if self.pg:
            return as_utc(value)
        assert _SQLITE_TS is not None
        return _SQLITE_TS(value)

    def _exec(self, statement: str, params: Sequence[Any]) -> Any:
        if self.pg:
            return self._dbapi.execute(_pg_sql(statement), params)
        return self._dbapi.execute(statement, params)

    def run(self, statement: str, params: Sequence[Any] = ()) -> None:
        self._exec(statement, params)

    def script(self, *statements: str) -> None:
        """Parameterless statements; on PostgreSQL sent as one simple query (one round
        trip), on SQLite one by one (``executescript`` would commit)."""
        if self.pg:
            self._dbapi.execute("; ".join(statements))
        else:
            for statement in statements:
                self._dbapi.execute(statement)

    def one(self, statement: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._exec(statement, params).fetchone()
        return row

    def all(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self._exec(statement, params).fetchall()
        return rows

    def many_returning(self, statement: str, rows: Sequence[Sequence[Any]]
                       ) -> list[tuple[Any, ...]]:
        """One ``RETURNING`` row per parameter row, in order (pipelined on PostgreSQL)."""
        if not self.pg:
            out = []
            for params in rows:
                row = self.one(statement, params)
                assert row is not None
                out.append(row)
            return out
        with self._dbapi.cursor() as cur:
            cur.executemany(_pg_sql(statement), rows, returning=True)
            out = []
            while True:
                out.append(cur.fetchone())
                if not cur.nextset():
                    break
            return out

    def pipeline(self) -> AbstractContextManager[Any]:
        """On PostgreSQL, statements sent inside are pipelined: one round trip at the
        end of the block, whose results :meth:`Pending.rows` then gives.  Each statement
        still runs after the one before it has finished, with its own snapshot (a read
        after a ``FOR UPDATE`` sees what the lock holder committed).  SQLite: runs each
        statement at once."""
        return self._dbapi.pipeline() if self.pg else contextlib.nullcontext()

    def query(self, statement: str, params: Sequence[Any] = ()) -> Pending:
        """Run ``statement``; its rows from ``.rows()`` (after the pipeline block)."""
        if self.pg:
            return Pending(self._dbapi.execute(_pg_sql(statement), params), many=False)
        return Pending(None, self.all(statement, params))

    def query_many(self, statement: str, rows: Sequence[Sequence[Any]]) -> Pending:
        """``executemany``: with ``RETURNING``, one row per parameter row, in order."""
        returning = "RETURNING" in statement
        if not rows:
            return Pending(None, [])
        if not self.pg:
            if returning:
                return Pending(None, self.many_returning(statement, rows))
            self.many(statement, rows)
            return Pending(None, [])
        cur = self._dbapi.cursor()
        cur.executemany(_pg_sql(statement), rows, returning=returning)
        return Pending(cur, None if returning else [], many=True)

    def many(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if self.pg:
            with self._dbapi.cursor() as cur:
                cur.executemany(_pg_sql(statement), rows)
        else:
            self._dbapi.executemany(statement, rows)


class Pending:
    """The result of a statement that may still be in a pipeline."""

    __slots__ = ("_cur", "_rows", "_many")

    def __init__(self, cur: Any, rows: list[tuple[Any, ...]] | None = None, *,
                 many: bool = False) -> None:
        self._cur = cur
        self._rows = rows
        self._many = many

    def rows(self) -> list[tuple[Any, ...]]:
        if self._rows is None:
            if not self._many:
                self._rows = self._cur.fetchall() if self._cur.description else []
            else:
                out = []
                while True:
                    out.append(self._cur.fetchone())
                    if not self._cur.nextset():
                        break
                self._rows = out
                self._cur.close()
        return self._rows


def as_date(value: Any) -> dt.date:
    """A ``Date`` column as read raw: a date (psycopg) or ISO text (SQLite)."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def is_retryable(exc: BaseException) -> bool:
    """A PostgreSQL deadlock or serialisation failure (raw or wrapped by SQLAlchemy)."""
    orig = getattr(exc, "orig", exc)
    return getattr(orig, "sqlstate", None) in RETRYABLE_SQLSTATES
