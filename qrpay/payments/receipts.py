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

from qrpay.store.raw import Raw

WIDTH = 9


def format_receipt(biller: str, number: int) -> str:
    """``format_receipt("best", 123) -> 'BEST-000000123'``."""
    return f"{biller.upper()}-{number:0{WIDTH}d}"


_TAKE_MANY_SQL = ("INSERT INTO receipt_counters (biller, last_no) VALUES (?, ?) "
                  "ON CONFLICT (biller) DO UPDATE SET last_no = receipt_counters.last_no + ? "
                  "RETURNING last_no")


def take_receipt_nos(raw: Raw, biller: str, count: int) -> list[str]:
    """The next ``count`` receipt numbers for ``biller`` in one counter update (a batch of
    postings takes its numbers together, after every posting of the batch is decided)."""
    row = raw.one(_TAKE_MANY_SQL, (biller, count, count))
    assert row is not None
    last = int(row[0])
    return [format_receipt(biller, n) for n in range(last - count + 1, last + 1)]
