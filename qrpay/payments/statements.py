"""The SQL text of the posting path, from small builder functions.

Every statement takes the number of rows it covers and whether it runs on PostgreSQL
(``FOR UPDATE``); placeholders are ``?`` (:class:`qrpay.store.raw.Raw` turns them into
``%s`` for psycopg).  No statement is made by editing another one's text.  Builders are
cached: a batch of n rows uses the same text each time, so psycopg can prepare it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

BILL_COLUMNS = ("bill_no", "biller", "account_no", "name", "period", "amount", "due_date",
                "late_amount", "arrears", "mobile", "language")
PAYMENT_COLUMNS = ("channel", "txn_id", "biller", "bill_no", "account_no", "amount",
                   "currency", "status", "mode", "reference", "paid_at", "payer", "utr",
                   "staff_id", "shift_id", "created_at", "updated_at")
# what a decision reads of a stored payment, and what it may change
PAYMENT_STATE = ("id", "channel", "txn_id", "bill_no", "amount", "status", "receipt_no",
                 "paid_at", "utr", "payer", "posted_at", "reversed_at")
PAYMENT_CHANGES = ("status", "receipt_no", "paid_at", "utr", "payer", "posted_at",
                   "reversed_at", "updated_at")
# what a reserved payment's row also holds when it is first inserted
PAYMENT_FINAL = ("receipt_no", "posted_at", "reversed_at")
LEDGER_COLUMNS = ("biller", "account_no", "bill_no", "kind", "amount", "payment_id",
                  "receipt_no", "note", "created_at")
CALLBACK_COLUMNS = ("channel", "received_at", "headers", "body", "remote")


def marks(n: int) -> str:
    """``(?, ?, ..., ?)`` with ``n`` placeholders."""
    return "(" + ", ".join("?" * n) + ")"


def values(columns: int, rows: int) -> str:
    """The VALUES list of ``rows`` rows of ``columns`` placeholders each."""
    return ", ".join([marks(columns)] * rows)


@cache
def insert(table: str, columns: Sequence[str], rows: int = 1, tail: str = "") -> str:
    """``INSERT INTO table (columns) VALUES (...), ... tail``."""
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
            f"{values(len(columns), rows)}{' ' + tail if tail else ''}")


@cache
def bills_locked(rows: int, pg: bool) -> str:
    """The bills of a batch in bill-number order; PostgreSQL: locked (``FOR UPDATE``)."""
    return (f"SELECT {', '.join(BILL_COLUMNS)} FROM bills WHERE bill_no IN {marks(rows)} "
            f"ORDER BY bill_no{' FOR UPDATE' if pg else ''}")


@cache
def ledger_sums(rows: int) -> str:
    """Each bill's ledger summed per kind: ``(bill_no, kind, sum)``."""
    return ("SELECT bill_no, kind, CAST(SUM(amount) AS BIGINT) FROM ledger "
            f"WHERE bill_no IN {marks(rows)} GROUP BY bill_no, kind")


@cache
def claim_payments(rows: int) -> str:
    """New payment rows; an existing ``(channel, txn_id)`` is left alone and not returned."""
    return insert("payments", PAYMENT_COLUMNS, rows,
                  "ON CONFLICT (channel, txn_id) DO NOTHING RETURNING id, channel, txn_id")


@cache
def insert_payment() -> str:
    """A new payment row in its final state (a batch's reserved payment); an existing
    ``(channel, txn_id)`` is left alone and not returned.  One parameter row per payment
    (``executemany`` in a pipeline: cheaper than one statement of many rows, measured)."""
    return insert("payments", PAYMENT_COLUMNS + PAYMENT_FINAL, 1,
                  "ON CONFLICT (channel, txn_id) DO NOTHING RETURNING id, channel, txn_id")


@cache
def payments_locked(rows: int, pg: bool) -> str:
    """The payment rows of ``rows`` ``(channel, txn_id)`` keys in key order; PostgreSQL:
    locked, and (read committed) seeing rows other transactions committed meanwhile."""
    keys = ", ".join(["(?, ?)"] * rows)
    return (f"SELECT {', '.join(PAYMENT_STATE)} FROM payments WHERE (channel, txn_id) IN "
            f"({keys}) ORDER BY channel, txn_id{' FOR UPDATE' if pg else ''}")


@cache
def update_payment() -> str:
    """A payment's state after a batch (one parameter row per changed payment)."""
    sets = ", ".join(f"{c} = ?" for c in PAYMENT_CHANGES)
    return f"UPDATE payments SET {sets} WHERE id = ?"


@cache
def insert_ledger() -> str:
    return insert("ledger", LEDGER_COLUMNS)


@cache
def insert_callbacks(rows: int) -> str:
    """Raw callback rows; PostgreSQL returns the ids in sequence (so VALUES) order."""
    return insert("callbacks", CALLBACK_COLUMNS, rows, "RETURNING id")


@cache
def mark_callback() -> str:
    return ("UPDATE callbacks SET result = ?, signature_ok = ?, event_id = ?, txn_id = ?, "
            "payment_id = ? WHERE id = ?")
