"""Column types shared by every table.

:class:`UtcDateTime` is the one timestamp type: every value is stored as UTC and read back
as an aware UTC datetime, on both backends.  PostgreSQL's ``timestamptz`` keeps the
instant by itself, but SQLite has no time zones and SQLAlchemy's ``DateTime`` writes the
wall-clock digits and drops the offset, so ``10:15+05:30`` came back as ``10:15`` UTC (a
receipt 5 h 30 min off in India, 6 h in Bangladesh).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from qrpay.clock import aware as as_utc


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored as UTC and read back aware (UTC) on SQLite and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return as_utc(value) if isinstance(value, dt.datetime) else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        return as_utc(value) if isinstance(value, dt.datetime) else value
