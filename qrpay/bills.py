"""Bills as values, and reading them from the store."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, select

from qrpay.digits import to_ascii
from qrpay.errors import NotFound
from qrpay.money import parse_amount, to_decimal_str
from qrpay.store.schema import bills

CATEGORIES = ("domestic", "commercial", "public lamps", "small & medium", "public water works",
              "large & heavy", "agriculture", "industrial", "institutional")
AREAS = ("rural", "urban", "agriculture")


@dataclass(frozen=True)
class Readings:
    """The meter's register at the last two readings; units = (present - previous) x
    multiplier (a CT meter's multiplier, 1 for a direct meter)."""

    previous: int
    present: int
    previous_date: dt.date | None = None
    present_date: dt.date | None = None
    multiplier: int = 1

    @property
    def units(self) -> int:
        return (self.present - self.previous) * self.multiplier


@dataclass(frozen=True)
class Bill:
    bill_no: str
    biller: str
    account_no: str
    name: str
    period: str  # YYYY-MM
    amount: int  # minor units payable by the due date (may be zero or a credit)
    due_date: dt.date
    late_amount: int | None = None  # payable after the due date
    arrears: int = 0
    mobile: str | None = None
    category: str | None = None
    area: str | None = None
    units: int | None = None
    address: str | None = None
    language: str | None = None
    meter_no: str | None = None
    history: tuple[int, ...] = ()
    charges: tuple[tuple[str, int], ...] = field(default=())
    # optional print fields (a bill file column each; shown on the e-bill when present)
    bill_date: dt.date | None = None
    tariff: str | None = None
    sanctioned_load: str | None = None  # kW, decimal text ("2.5")
    readings: Readings | None = None
    last_payment: int | None = None  # minor units
    last_payment_date: dt.date | None = None

    def is_late(self, day: dt.date, grace_days: int = 0) -> bool:
        """Whether the late amount applies on ``day`` (the biller's local date): after
        the due date and the biller's ``late_payment.grace_days`` after it.  The one
        place this is decided; callers go through :mod:`qrpay.payments.ledger`."""
        return day > self.due_date + dt.timedelta(days=grace_days)

    def late_from(self, grace_days: int = 0) -> dt.date:
        """The first day the late amount applies."""
        return self.due_date + dt.timedelta(days=grace_days + 1)

    def amount_due_on(self, day: dt.date, grace_days: int = 0) -> int:
        """What the bill asks for on ``day``: the late amount once late."""
        if self.late_amount is not None and self.is_late(day, grace_days):
            return self.late_amount
        return self.amount

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view: amounts as decimal strings, dates ISO."""
        return {
            "bill_no": self.bill_no, "biller": self.biller, "account_no": self.account_no,
            "name": self.name, "period": self.period, "amount": to_decimal_str(self.amount),
            "due_date": self.due_date.isoformat(),
            "late_amount": (None if self.late_amount is None
                            else to_decimal_str(self.late_amount)),
            "arrears": to_decimal_str(self.arrears), "mobile": self.mobile,
            "category": self.category, "area": self.area, "units": self.units,
            "address": self.address, "language": self.language, "meter_no": self.meter_no,
            "history": list(self.history),
            "charges": {head: to_decimal_str(v) for head, v in self.charges},
            **details_dict(self),
        }


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def details_dict(bill: Bill) -> dict[str, Any]:
    """The optional print fields that are present, JSON-ready (absent ones are left out, so
    a bill without them keeps its content hash)."""
    r = bill.readings
    out: dict[str, Any] = {
        "bill_date": _iso(bill.bill_date), "tariff": bill.tariff,
        "sanctioned_load": bill.sanctioned_load,
        "last_payment": None if bill.last_payment is None else to_decimal_str(bill.last_payment),
        "last_payment_date": _iso(bill.last_payment_date),
    }
    if r is not None:
        out.update(previous_reading=r.previous, present_reading=r.present,
                   previous_reading_date=_iso(r.previous_date),
                   present_reading_date=_iso(r.present_date), multiplier=r.multiplier)
    return {k: v for k, v in out.items() if v is not None}


def _day(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def details_from_json(text: str | None) -> dict[str, Any]:
    """Bill keyword arguments from the ``details`` column (see :func:`details_dict`)."""
    if not text:
        return {}
    d = json.loads(text)
    readings = None
    if "present_reading" in d:
        readings = Readings(previous=d["previous_reading"], present=d["present_reading"],
                            previous_date=_day(d.get("previous_reading_date")),
                            present_date=_day(d.get("present_reading_date")),
                            multiplier=d.get("multiplier", 1))
    last = d.get("last_payment")
    return {"bill_date": _day(d.get("bill_date")), "tariff": d.get("tariff"),
            "sanctioned_load": d.get("sanctioned_load"), "readings": readings,
            "last_payment": None if last is None else parse_amount(last),
            "last_payment_date": _day(d.get("last_payment_date"))}


def normalise_bill_no(raw: str) -> str:
    """A bill number as stored: ASCII digits (Bengali and Devanagari ones mapped), upper
    case, no surrounding space.  Every way in (bill page, API, callbacks) uses it."""
    return to_ascii(raw).strip().upper()


def row_to_bill(row: Any) -> Bill:
    m = row._mapping
    return Bill(
        bill_no=m["bill_no"], biller=m["biller"], account_no=m["account_no"], name=m["name"],
        period=m["period"], amount=m["amount"], due_date=m["due_date"],
        late_amount=m["late_amount"], arrears=m["arrears"] or 0, mobile=m["mobile"],
        category=m["category"], area=m["area"], units=m["units"], address=m["address"],
        language=m["language"], meter_no=m["meter_no"],
        history=tuple(json.loads(m["history"])) if m["history"] else (),
        charges=tuple((h, int(v)) for h, v in json.loads(m["charges"])) if m["charges"] else (),
        **details_from_json(m.get("details")),
    )


def of_biller(code: str) -> ColumnElement[bool]:
    """``bills.biller = code`` as a filter only, never an index to start from: for a
    look-up by a column of its own (a mobile, a meter).  With no statistics (SQLite is
    never analysed; PostgreSQL until autovacuum gets to a new table) both planners took
    ix_bills_biller_period for two spellings of a mobile and read every bill of the
    biller (0.25-0.45 s a look-up at a million bills on SQLite); an expression has no index.
    :mod:`qrpay.biller.lookup` writes the same in its SQL."""
    return (bills.c.biller + "") == code


def find_bill(conn: Connection, bill_no: str) -> Bill | None:
    row = conn.execute(select(bills).where(bills.c.bill_no == bill_no)).first()
    return row_to_bill(row) if row else None


def get_bill(conn: Connection, bill_no: str) -> Bill:
    bill = find_bill(conn, bill_no)
    if bill is None:
        raise NotFound(f"no bill {bill_no}", code="unknown_bill", field="bill_no")
    return bill


def iter_bills(conn: Connection, *, period: str | None = None, biller: str | None = None,
               batch: int = 5000) -> Iterator[Bill]:
    """Bills in bill-number order, streamed in batches (keyset pagination)."""
    last = ""
    while True:
        q = select(bills).where(bills.c.bill_no > last).order_by(bills.c.bill_no).limit(batch)
        if period:
            q = q.where(bills.c.period == period)
        if biller:
            q = q.where(bills.c.biller == biller)
        rows = conn.execute(q).fetchall()
        if not rows:
            return
        for row in rows:
            yield row_to_bill(row)
        last = rows[-1]._mapping["bill_no"]
