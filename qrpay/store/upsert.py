"""Add to counters keyed by a primary key: ``INSERT ... ON CONFLICT DO UPDATE`` on both
SQLite and PostgreSQL (the key columns are the table's primary key)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def add_to(conn: Connection, table: Table, rows: Sequence[dict[str, Any]],
           sums: Sequence[str]) -> None:
    """Insert ``rows``; where the key exists, add each column of ``sums`` to it."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    keys = [c.name for c in table.primary_key.columns]
    stmt = stmt.on_conflict_do_update(
        index_elements=keys,
        set_={name: table.c[name] + stmt.excluded[name] for name in sums})
    conn.execute(stmt, list(rows))
