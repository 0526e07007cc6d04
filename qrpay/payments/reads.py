"""Hot-path reads for bill pages and the resolver: a bill and its status in one query.

``qrpay.bills.get_bill`` plus ``qrpay.payments.ledger.bill_status`` cost three SQLAlchemy
round trips (about a millisecond of CPU); month-end traffic needs a fraction of that.
:func:`bill_and_status` asks the driver directly, with SQL compiled once per dialect:

1. the bill row joined with its ledger entries (one indexed query, summed here);
2. only when the ledger shows payments: the bill's receipted payments.

It gives exactly what ``bill_status`` gives (the same :class:`~qrpay.payments.ledger.Sums`
and :func:`~qrpay.payments.ledger.status_of`, with the biller's grace days when the reader
has the profile): ``tests/web/test_reads.py`` checks the two against each other on unpaid,
part-paid, paid, credit, late, reversed, adjusted and uncharged bills.  Web pages, the
API, the desk, chat and the channels read bills through this; anything that writes goes
through the posting path.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

from qrpay.bills import Bill, row_to_bill
from qrpay.config import Config
from qrpay.payments.ledger import PAID_KINDS, BillStatus, PaymentSummary, Sums, status_of
from qrpay.store import Store
from qrpay.store.types import as_utc

BILL_COLUMNS = ("bill_no", "biller", "account_no", "name", "period", "amount", "due_date",
                "late_amount", "arrears", "mobile", "category", "area", "units", "address",
                "language", "meter_no", "history", "charges")


def _bill_sql(mark: str) -> str:
    """One row per ledger entry of the bill (a handful), summed here: about half the
    cost of letting SQLite GROUP BY for a single bill."""
    return (f"SELECT {', '.join('b.' + c for c in BILL_COLUMNS)}, l.kind, l.amount\n"
            "FROM bills b LEFT JOIN ledger l ON l.bill_no = b.bill_no\n"
            f"WHERE b.bill_no = {mark}")


def _payments_sql(mark: str) -> str:
    return ("SELECT receipt_no, channel, txn_id, amount, status, paid_at FROM payments "
            f"WHERE bill_no = {mark} AND receipt_no IS NOT NULL ORDER BY id")


class _Row:
    """Enough of a SQLAlchemy Row for :func:`qrpay.bills.row_to_bill`."""

    __slots__ = ("_mapping",)

    def __init__(self, mapping: dict[str, Any]) -> None:
        self._mapping = mapping


def _date(value: Any) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return None if value is None else as_utc(value)


class Reader:
    """Bound to one store: SQL in the driver's parameter style, compiled once.
    ``config``: the profile, for each biller's ``late_payment.grace_days``."""

    def __init__(self, store: Store, config: Config | None = None) -> None:
        self.store = store
        self.config = config
        mark = "?" if store.engine.dialect.paramstyle == "qmark" else "%s"
        self.bill_sql = _bill_sql(mark)
        self.payments_sql = _payments_sql(mark)
        self._local = threading.local()

    def _connection(self) -> Any:
        """This thread's own autocommit connection, kept open: no pool checkout, no
        pre-ping round trip, no rollback on return for every page."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.store.engine.raw_connection()
            if not self.store.is_sqlite:
                driver = conn.driver_connection
                assert driver is not None  # a fresh raw connection always has one
                driver.autocommit = True
            self._local.conn = conn
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.invalidate()

    def _fetch(self, bill_no: str, payments: bool = True
               ) -> tuple[list[Any], tuple[PaymentSummary, ...]]:
        cur = self._connection().cursor()
        try:
            cur.execute(self.bill_sql, (bill_no,))
            rows = cur.fetchall()
            summaries: tuple[PaymentSummary, ...] = ()
            if payments and any(row[_KIND] in PAID_KINDS for row in rows):
                cur.execute(self.payments_sql, (bill_no,))
                summaries = tuple(PaymentSummary(r[0], r[1], r[2], r[3], r[4],
                                                 _datetime(r[5]))
                                  for r in cur.fetchall())
            return rows, summaries
        finally:
            cur.close()

    def close(self) -> None:
        self._drop()

    def bill_and_status(self, bill_no: str, today: Callable[[Bill], dt.date]
                        ) -> tuple[Bill, BillStatus] | None:
        """The bill and its status on ``today(bill)``, or None if there is no such bill."""
        rows, summaries = self._fetch_retrying(bill_no, True)
        return self._build(rows, summaries, today) if rows else None

    def bill_or_stand_in(self, bill_no: str, today: Callable[[Bill], dt.date]
                         ) -> tuple[Bill, BillStatus, bool]:
        """For checking a token without telling whether the bill exists: the bill and its
        status without its payments (one query whatever the ledger holds), or, when there
        is no such bill, a stand-in built the same way from :data:`STAND_IN` (same work);
        the flag says which.  The status lacks ``receipts``/``payments``: read the bill
        with :meth:`bill_and_status` once the token checked."""
        rows, _ = self._fetch_retrying(bill_no, False)
        real = bool(rows)
        bill, status = self._build(rows if real else list(STAND_IN), (), today)
        return bill, status, real

    def _fetch_retrying(self, bill_no: str, payments: bool
                        ) -> tuple[list[Any], tuple[PaymentSummary, ...]]:
        try:
            return self._fetch(bill_no, payments)
        except Exception:
            # a dropped connection (database restart): reconnect once, then give up
            self._drop()
            return self._fetch(bill_no, payments)

    def _build(self, rows: list[Any], summaries: tuple[PaymentSummary, ...],
               today: Callable[[Bill], dt.date]) -> tuple[Bill, BillStatus]:
        sums = Sums.of((row[_KIND], row[_KIND + 1]) for row in rows if row[_KIND] is not None)
        mapping = dict(zip(BILL_COLUMNS, rows[0], strict=False))
        mapping["due_date"] = _date(mapping["due_date"])
        bill = row_to_bill(_Row(mapping))
        return bill, status_of(bill, today(bill), sums, summaries, self._grace_days(bill))

    def _grace_days(self, bill: Bill) -> int:
        if self.config is None or bill.biller not in self.config.billers:
            return 0
        return self.config.biller(bill.biller).late_payment.grace_days


_KIND = len(BILL_COLUMNS)
# The rows of a bill that does not exist, for :meth:`Reader.bill_or_stand_in`: shaped like
# a typical bill's (a charge and a payment in the ledger, a year of history).
_STAND_IN_BILL = ("0000000000000", "", "000000000", "-", "2000-01", 100000, "2000-01-15",
                  102000, 0, None, None, None, 250, None, None, None,
                  "[" + ", ".join(["250"] * 12) + "]", "[]")
STAND_IN = tuple((*_STAND_IN_BILL[:len(BILL_COLUMNS)], kind, amount)
                 for kind, amount in (("charge", 100000), ("payment", -50000)))
