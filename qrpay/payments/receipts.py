"""Receipt numbers: sequential per biller, no gaps.

A number is taken inside the posting transaction with one atomic upsert on
``receipt_counters``::

    INSERT INTO receipt_counters (biller, last_no) VALUES (:biller, 1)
    ON CONFLICT (biller) DO UPDATE SET last_no = receipt_counters.last_no + 1
    RETURNING last_no

On PostgreSQL the upsert row-locks the counter until the posting commits or rolls back, so
a second posting for the same biller waits and then sees the committed value; a rolled-back
posting gives its number back.  On SQLite the ``BEGIN IMMEDIATE`` write lock of
``Store.begin()`` serialises writers.  Either way the numbers that exist are 1..N with no
holes.

Format: ``<BILLER CODE upper-cased>-<9 digits>``, e.g. ``BEST-000000123`` or
``DHAKA-PBS-1-000000007``.
"""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from qrpay.store.schema import receipt_counters

WIDTH = 9


def format_receipt(biller: str, number: int) -> str:
    """``format_receipt("best", 123) -> 'BEST-000000123'``."""
    return f"{biller.upper()}-{number:0{WIDTH}d}"


def next_receipt_no(conn: Connection, biller: str) -> str:
    """Take the next receipt number for ``biller``.  Call inside the posting transaction."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    upsert = insert(receipt_counters).values(biller=biller, last_no=1)
    stmt = upsert.on_conflict_do_update(
        index_elements=[receipt_counters.c.biller],
        set_={"last_no": receipt_counters.c.last_no + 1},
    ).returning(receipt_counters.c.last_no)
    number = conn.execute(stmt).scalar_one()
    return format_receipt(biller, int(number))
