"""The few fixed statements every conversation turn runs, executed on the driver's cursor.

A turn writes the message-id claim, reads and writes its session and writes its outbox
rows: four short statements whose text never changes.  Through SQLAlchemy's
``Connection.execute`` each cost about 95 µs of CPU (statement cache key, compiled
parameters, result metadata) against about 8 µs on the sqlite3 cursor: a third of a
webhook's CPU on the benchmark.  :class:`Fixed` keeps the statement text written once (with
``:name`` parameters, as ``text()`` would take it), rewrites it for the driver's parameter
style once per dialect, converts the few typed values the columns need (timestamps as
:class:`qrpay.store.types.UtcDateTime` stores them, booleans) and runs it on the cursor of
the connection's current transaction, so it commits or rolls back (SAVEPOINTs included)
with everything else the turn does.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from qrpay.clock import aware

_PARAM = re.compile(r"(?<![:\w]):(\w+)")
# SQLAlchemy's SQLite DATETIME storage format (UTC, naive), which every other query of
# these tables compares against as text.
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


def sqlite_time(value: dt.datetime) -> str:
    """``value`` in UTC as SQLAlchemy's SQLite DATETIME stores it (``_SQLITE_TIME``;
    ``isoformat`` writes the same text as that ``strftime`` at a fraction of its cost)."""
    if value.tzinfo is not dt.UTC:
        value = aware(value)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def read_time(value: Any) -> dt.datetime | None:
    """A timestamp column as read from either driver, as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return aware(value)


class Fixed:
    """One statement: ``sql`` with ``:name`` parameters; ``times`` and ``bools`` name the
    parameters that are timestamps and booleans."""

    def __init__(self, sql: str, *, times: tuple[str, ...] = (),
                 bools: tuple[str, ...] = ()) -> None:
        self.sql = sql
        self.times = times
        self.bools = bools
        self._pg = _PARAM.sub(r"%(\1)s", sql)

    def _params(self, dialect: str, params: Mapping[str, Any]) -> dict[str, Any]:
        if dialect != "sqlite":
            return dict(params)
        out = dict(params)
        for name in self.times:
            if isinstance(out.get(name), dt.datetime):
                out[name] = sqlite_time(out[name])
        for name in self.bools:
            if out.get(name) is not None:
                out[name] = int(bool(out[name]))
        return out

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        """Run on ``conn``'s transaction; returns the driver's cursor (fetch from it)."""
        dialect = conn.dialect.name
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(self.sql if dialect == "sqlite" else self._pg,
                       self._params(dialect, params))
        return cursor

    def first(self, conn: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        cursor = self.execute(conn, params)
        try:
            row = cursor.fetchone()
        finally:
            cursor.close()
        return tuple(row) if row is not None else None

    def run(self, conn: Connection, params: Mapping[str, Any]) -> None:
        self.execute(conn, params).close()
