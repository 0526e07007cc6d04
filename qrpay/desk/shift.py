"""Counter shifts: opened at the first login at a counter, closed with a cash count.

One shift is open per (biller, counter) at a time; every cashier who logs in at that
counter joins it.  Closing it totals the counter payments per cashier and mode, compares
the expected cash with the cash declared, and freezes both on the shift row.  The day
book is every counter receipt of the shift, cancelled ones included, as CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from qrpay.clock import aware as _aware
from qrpay.config import Biller
from qrpay.desk.staff import Staff
from qrpay.errors import Conflict, NotFound
from qrpay.money import to_decimal_str
from qrpay.payments.posting import COUNTER_CHANNEL
from qrpay.store.schema import bills, payments, shifts, staff

MODES = ("cash", "card", "cheque")
MIN_NOTE = 3
MAX_NOTE = 300
IN_FORCE = "success"


@dataclass(frozen=True)
class Shift:
    id: int
    biller: str
    counter: str
    staff_id: int
    opened_at: dt.datetime
    closed_at: dt.datetime | None = None
    expected_cash: int | None = None
    declared_cash: int | None = None
    closed_by: str | None = None  # the username
    close_note: str | None = None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


@dataclass(frozen=True)
class CloseHold:
    """Why a shift was not closed (nothing changed): ``shortage`` needs the shortfall
    confirmed, ``missing_note`` a note saying why the cash is short."""

    code: str
    expected_cash: int
    declared_cash: int

    @property
    def difference(self) -> int:
        return self.declared_cash - self.expected_cash

    def audit_detail(self) -> dict[str, Any]:
        return {"code": self.code, "expected_cash": self.expected_cash,
                "declared_cash": self.declared_cash, "difference": self.difference}


@dataclass(frozen=True)
class Total:
    cashier: str
    mode: str
    count: int
    amount: int


@dataclass(frozen=True)
class ShiftSummary:
    shift: Shift
    totals: tuple[Total, ...]  # receipts in force, per cashier and mode
    cancelled: int  # receipts cancelled in the shift
    cancelled_amount: int
    expected_cash: int

    @property
    def total(self) -> int:
        return sum(t.amount for t in self.totals)

    @property
    def receipts(self) -> int:
        return sum(t.count for t in self.totals)

    def difference(self, declared: int | None) -> int | None:
        """Declared minus expected cash: negative is a shortage."""
        return None if declared is None else declared - self.expected_cash


@dataclass(frozen=True)
class DaybookRow:
    receipt_no: str
    paid_at: dt.datetime | None
    bill_no: str
    account_no: str
    name: str
    mode: str
    reference: str
    amount: int
    cashier: str
    status: str


def _shift(row: Any) -> Shift:
    m = row._mapping
    return Shift(id=m["id"], biller=m["biller"], counter=m["counter"], staff_id=m["staff_id"],
                 opened_at=_aware(m["opened_at"]) or m["opened_at"],
                 closed_at=_aware(m["closed_at"]), expected_cash=m["expected_cash"],
                 declared_cash=m["declared_cash"], closed_by=m.get("closer"),
                 close_note=m["close_note"])


def get_shift(conn: Connection, shift_id: int) -> Shift:
    closer = staff.alias("closer")
    q = (select(shifts, closer.c.username.label("closer"))
         .select_from(shifts.outerjoin(closer, closer.c.id == shifts.c.closed_by))
         .where(shifts.c.id == shift_id))
    row = conn.execute(q).first()
    if row is None:
        raise NotFound(f"no shift {shift_id}", code="unknown_shift")
    return _shift(row)


def lock_shift(conn: Connection, shift_id: int, *, exclusive: bool) -> Shift:
    """Read the shift and lock its row until the transaction ends.

    Collect and cancel take a shared lock (cashiers at one counter still post side by
    side); closing takes an exclusive one, so it waits for every posting in flight on the
    shift to commit and counts them, and a posting that waited on a close sees the shift
    closed.  SQLite's ``BEGIN IMMEDIATE`` already serialises the writers.
    """
    q = select(shifts).where(shifts.c.id == shift_id)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(read=not exclusive)
    row = conn.execute(q).first()
    if row is None:
        raise NotFound(f"no shift {shift_id}", code="unknown_shift")
    return _shift(row)


def open_shift_for(conn: Connection, biller: str, counter: str) -> Shift | None:
    row = conn.execute(select(shifts).where(
        shifts.c.biller == biller, shifts.c.counter == counter, shifts.c.closed_at.is_(None))
        .order_by(shifts.c.id.desc()).limit(1)).first()
    return _shift(row) if row else None


def join_or_open(conn: Connection, who: Staff, now: dt.datetime) -> tuple[Shift, bool]:
    """The counter's open shift, or a new one opened by ``who``; True when opened now.

    Call inside a write transaction (on SQLite ``BEGIN IMMEDIATE`` serialises logins; on
    PostgreSQL two first logins racing may each open one, and the newest is used).
    """
    found = open_shift_for(conn, who.biller, who.counter)
    if found is not None:
        return found, False
    result = conn.execute(shifts.insert().values(
        staff_id=who.id, biller=who.biller, counter=who.counter, opened_at=now))
    pk = result.inserted_primary_key
    assert pk is not None
    return Shift(id=int(pk[0]), biller=who.biller,
                 counter=who.counter, staff_id=who.id, opened_at=now), True


def _shift_payments(conn: Connection, shift_id: int) -> list[Any]:
    q = (select(payments, staff.c.username, bills.c.name)
         .select_from(payments.outerjoin(staff, staff.c.id == payments.c.staff_id)
                      .outerjoin(bills, bills.c.bill_no == payments.c.bill_no))
         .where(payments.c.shift_id == shift_id, payments.c.channel == COUNTER_CHANNEL,
                payments.c.receipt_no.is_not(None))
         .order_by(payments.c.id))
    return list(conn.execute(q))


def summarise(conn: Connection, shift_id: int) -> ShiftSummary:
    """Totals of the shift's counter receipts in force, per cashier and mode."""
    shift = get_shift(conn, shift_id)
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    cancelled = cancelled_amount = 0
    for row in _shift_payments(conn, shift_id):
        m = row._mapping
        if m["status"] != IN_FORCE:
            cancelled += 1
            cancelled_amount += m["amount"]
            continue
        key = (m["username"] or "?", m["mode"] or "cash")
        sums[key][0] += 1
        sums[key][1] += m["amount"]
    totals = tuple(Total(cashier=c, mode=mode, count=n, amount=a)
                   for (c, mode), (n, a) in sorted(sums.items()))
    expected = sum(t.amount for t in totals if t.mode == "cash")
    return ShiftSummary(shift=shift, totals=totals, cancelled=cancelled,
                        cancelled_amount=cancelled_amount, expected_cash=expected)


def check_close(expected: int, declared: int, confirm_short: int | None,
                note: str) -> CloseHold | None:
    """A shortage closes only once confirmed (the amount short, as shown) with a note."""
    if declared >= expected:
        return None
    if confirm_short != expected - declared:
        return CloseHold("shortage", expected, declared)
    if len(note) < MIN_NOTE:
        return CloseHold("missing_note", expected, declared)
    return None


def close_note(text: str) -> str:
    return " ".join((text or "").split())[:MAX_NOTE]


def close_shift(conn: Connection, shift_id: int, declared_cash: int, by: Staff,
                now: dt.datetime, *, note: str = "",
                confirm_short: int | None = None) -> ShiftSummary | CloseHold:
    """Close the shift with the cash counted; ``Conflict(shift_closed)`` if already closed.

    Call inside a write transaction: the shift row is locked first, so payments still
    being posted on it are counted (see :func:`lock_shift`).  A shortage not confirmed
    (or without a note) returns a :class:`CloseHold` and changes nothing.
    """
    if not lock_shift(conn, shift_id, exclusive=True).is_open:
        raise Conflict(f"shift {shift_id} is already closed", code="shift_closed")
    summary = summarise(conn, shift_id)
    note = close_note(note)
    hold = check_close(summary.expected_cash, declared_cash, confirm_short, note)
    if hold is not None:
        return hold
    result = conn.execute(shifts.update().where(
        shifts.c.id == shift_id, shifts.c.closed_at.is_(None)).values(
        closed_at=now, expected_cash=summary.expected_cash, declared_cash=declared_cash,
        closed_by=by.id, close_note=note or None))
    if result.rowcount != 1:
        raise Conflict(f"shift {shift_id} is already closed", code="shift_closed")
    return summarise(conn, shift_id)


def daybook(conn: Connection, shift_id: int) -> list[DaybookRow]:
    out = []
    for row in _shift_payments(conn, shift_id):
        m = row._mapping
        out.append(DaybookRow(
            receipt_no=m["receipt_no"], paid_at=_aware(m["paid_at"]), bill_no=m["bill_no"],
            account_no=m["account_no"], name=m["name"] or "", mode=m["mode"] or "",
            reference=m["reference"] or "", amount=m["amount"], cashier=m["username"] or "",
            status="in force" if m["status"] == IN_FORCE else "cancelled"))
    return out


DAYBOOK_COLUMNS = ("receipt_no", "paid_at", "bill_no", "account_no", "name", "mode",
                   "reference", "amount", "currency", "cashier", "status")


def _safe_cell(value: str) -> str:
    # Spreadsheets run cells starting with these as formulas.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def daybook_csv(rows: list[DaybookRow], biller: Biller) -> str:
    """The day book as CSV: times on the biller's clock (ISO 8601 with the offset, so a
    program reads them right too), amounts in rupees/taka as plain decimals with the
    currency beside them, text cells made formula-safe."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(DAYBOOK_COLUMNS)
    for r in rows:
        paid_at = biller.local(r.paid_at).isoformat(timespec="seconds") if r.paid_at else ""
        writer.writerow([
            r.receipt_no, paid_at, r.bill_no, r.account_no, _safe_cell(r.name), r.mode,
            _safe_cell(r.reference), to_decimal_str(r.amount), biller.currency, r.cashier,
            r.status])
    return buf.getvalue()
