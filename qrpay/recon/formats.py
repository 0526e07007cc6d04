"""Column maps for settlement files, and one file row to a :class:`Line`, exactly.

A map says which column holds each field (a list of candidates: the first non-empty one
wins), whether amounts are in minor units (Razorpay's recon API: paise) or major units
(decimal rupees/taka), and how a row's type column reads as ``payment``, ``refund`` or
``other``.  Built in (each in its channel's module, ``qrpay/channels/<name>.py``, as
``CHANNEL.settlement``; a new format is a new channel file):

``razorpay``  Razorpay settlement recon items (``GET /v1/settlements/recon/combined``
              rows or its CSV export): ``entity_id, type (payment|refund|adjustment),
              amount, fee, tax, credit, debit, settled, settled_at, settlement_id,
              settlement_utr, payment_id, order_receipt, method, created_at``; amounts
              in paise; the bill is ``order_receipt`` (qrpay sets the order's receipt to
              the bill number); a row counts only when ``settled`` is true.
``cashfree``  Cashfree ``/settlement/recon`` event rows: ``event_type (PAYMENT|REFUND|
              ...), cf_payment_id, order_id, event_amount, payment_service_charge,
              payment_service_tax, event_settlement_amount, cf_settlement_id,
              settlement_date, payment_utr, settlement_utr, payment_time, payment_group,
              refund_id``; amounts in rupees; the bill is ``order_id``.
``generic``   the documented wallet format (bKash, Rocket, Nagad... MIS files):
              ``txn_id, bill_no, amount, fee, tax, net, settlement_id, settled_on,
              paid_at, status (success|settled|refund|reversed|failed|pending), utr,
              mode, refund_id``; amounts as decimal strings in major units.

A profile changes a map per channel::

    [channels.bkash.settlement]
    format = "generic"           # which built-in map to start from
    unit = "major"
    window_days = 2              # a posted payment not settled after this is held
    [channels.bkash.settlement.columns]
    txn_id = "TrxID"             # a column name, or a list of candidates
    amount = "Amount (BDT)"

Amounts never pass through a float: text is parsed as a decimal; a number a spreadsheet
stored as a float is read back by its shortest repr (``1234.5`` is exact, ``0.1 + 0.2``
shows as ``0.30000000000000004`` and is refused with ``too_many_decimals``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from qrpay import channels
from qrpay.config import Channel
from qrpay.digits import to_ascii
from qrpay.errors import ConfigError, ValidationError
from qrpay.money import parse_amount

FIELDS = ("txn_id", "bill_no", "utr", "amount", "fee", "tax", "net", "net_debit",
          "settlement_id", "settled_on", "paid_at", "mode", "refund_id", "kind", "settled")
KINDS = ("payment", "refund", "other")


@dataclass(frozen=True)
class ColumnMap:
    name: str
    columns: dict[str, tuple[str, ...]]
    unit: str = "major"  # major: decimal rupees/taka; minor: integer paise/poisha
    kinds: dict[str, str] = field(default_factory=dict)  # kind column value -> kind
    default_kind: str = "payment"
    settled_values: frozenset[str] = frozenset()  # empty: every row counts as settled
    window_days: int = 3

    def column(self, key: str) -> tuple[str, ...]:
        return self.columns.get(key, ())


@dataclass(frozen=True)
class Line:
    """One row of a settlement file, amounts in minor units (always >= 0)."""

    line_no: int
    kind: str  # payment, refund, other
    txn_id: str | None
    bill_no: str | None
    amount: int
    fee: int = 0
    tax: int = 0
    net: int | None = None
    utr: str | None = None
    settlement_id: str | None = None
    settled_on: dt.date | None = None
    paid_at: dt.datetime | None = None
    mode: str | None = None
    refund_id: str | None = None
    settled: bool = True


def cols(**kw: str | tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Column candidates per field: a name or a tuple of names (for a channel's map)."""
    return {k: (v,) if isinstance(v, str) else v for k, v in kw.items()}


def built_in(name: str) -> ColumnMap | None:
    """The settlement map of the channel module ``qrpay/channels/<name>.py`` (its
    ``CHANNEL.settlement``), or None."""
    if name not in channels.names():
        return None
    found = channels.get(name).settlement
    return found if isinstance(found, ColumnMap) else None


def built_in_names() -> list[str]:
    return [c.name for c in channels.all_channels() if isinstance(c.settlement, ColumnMap)]


def column_map(channel: Channel, format_name: str | None = None) -> ColumnMap:
    """The map for ``channel``: the profile's ``[channels.X.settlement]`` over a built-in
    map (``format``, else the channel's adapter when it names one, else ``generic``)."""
    raw = channel.settings.get("settlement", {})
    if not isinstance(raw, dict):
        raise ConfigError(f"channels.{channel.name}.settlement must be a table",
                          code="bad_value", field="settlement")
    name = format_name or str(raw.get("format") or (
        channel.adapter if built_in(channel.adapter) is not None else "generic"))
    base = built_in(name)
    if base is None:
        raise ConfigError(f"unknown settlement format {name!r}; known: "
                          f"{', '.join(built_in_names())}", code="unknown_format",
                          field="format")
    columns = dict(base.columns)
    for key, value in (raw.get("columns") or {}).items():
        if key not in FIELDS:
            raise ConfigError(f"channels.{channel.name}.settlement.columns: unknown field "
                              f"{key!r}; known: {', '.join(FIELDS)}", code="bad_value",
                              field=key)
        names = (value,) if isinstance(value, str) else tuple(str(v) for v in value)
        columns[key] = tuple(n.strip().lower() for n in names)
    unit = str(raw.get("unit", base.unit))
    if unit not in ("major", "minor"):
        raise ConfigError("settlement.unit must be major or minor", code="bad_value",
                          field="unit")
    return dataclasses.replace(base, columns=columns, unit=unit,
                               window_days=int(raw.get("window_days", base.window_days)))


# ------------------------------------------------------------------------- one value

def _bad(column: str, message: str, code: str) -> ValidationError:
    return ValidationError(f"{column}: {message}", code=code, field=column)


def _float_text(value: float, column: str) -> str:
    if value != value or value in (float("inf"), float("-inf")):
        raise _bad(column, f"{value!r} is not an amount", "invalid_amount")
    return repr(value)  # the shortest text that reads back as this float


_PLAIN = re.compile(r"(\d{1,13})(?:\.(\d{1,2}))?")


def money(value: Any, unit: str, column: str) -> int:
    """``value`` from a file cell to minor units, exactly, or ValidationError."""
    if type(value) is str:  # the common case, without Decimal: 1234, 1234.5, 1234.50
        m = _PLAIN.fullmatch(value)
        if m is not None:
            whole, frac = m.groups()
            if unit == "minor":
                if frac is None:
                    return int(whole)
            else:
                return int(whole) * 100 + (int(frac.ljust(2, "0")) if frac else 0)
    return _money(value, unit, column)


def _money(value: Any, unit: str, column: str) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    if isinstance(value, bool):
        raise _bad(column, "a yes/no value is not an amount", "invalid_amount")
    if isinstance(value, float):
        text = _float_text(value, column)
    elif isinstance(value, (int, Decimal)):
        text = str(value)
    elif isinstance(value, str):
        text = to_ascii(value).strip().replace(",", "").replace("₹", "").replace("৳", "")
    else:
        raise _bad(column, f"expected an amount, got {type(value).__name__}", "invalid_amount")
    if unit == "major":
        return abs(parse_amount(text.strip(), field=column))
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise _bad(column, f"{value!r} is not an amount", "invalid_amount") from None
    if number != number.to_integral_value():
        raise _bad(column, f"{value!r} is not a whole number of minor units",
                   "not_minor_units")
    return abs(int(number))


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _text(value: Any, column: str, limit: int = 100) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        if not value.is_integer():  # also NaN and the infinities
            raise _bad(column, f"{value!r} is not an identifier", "invalid_value")
        value = int(value)
    if isinstance(value, (dict, list)):
        raise _bad(column, "expected text", "invalid_value")
    text = str(value).strip()
    if len(text) > limit:
        raise _bad(column, f"longer than {limit} characters", "too_long")
    if _CONTROL.search(text):  # (PostgreSQL refuses NUL in text: a 500, not an error)
        raise _bad(column, "contains a control character", "invalid_value")
    return text or None


def day(value: Any, column: str) -> dt.date | None:
    when = moment(value, column)
    return when.date() if isinstance(when, dt.datetime) else when


def _epoch(seconds: int, value: Any, column: str) -> dt.datetime:
    """Unix seconds as a UTC datetime; a number beyond the calendar is a bad date."""
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (ValueError, OverflowError, OSError):
        raise _bad(column, f"{value!r} is not a date", "invalid_date") from None


def moment(value: Any, column: str) -> Any:
    """A date or datetime cell: ISO text, ``DD-MM-YYYY``, Unix seconds, or a spreadsheet
    date; None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, (dt.datetime, dt.date)):
        return value
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return _epoch(int(value), value, column)
    text = value if type(value) is str and value.isascii() else to_ascii(str(value))
    text = text.strip()
    if text.isdigit() and len(text) >= 9:
        return _epoch(int(text), value, column)
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    for fmt in ("%d-%m-%Y", "%d/%m/%Y", "%d-%m-%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S"):
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise _bad(column, f"{value!r} is not a date", "invalid_date")


# ------------------------------------------------------------------------- one row

def _pick(record: dict[str, Any], names: tuple[str, ...]) -> tuple[str, Any]:
    """(column, value) of the first candidate column with a value; ('', None) if none."""
    for name in names:
        if "." in name and name not in record:  # nested JSON: notes.bill_no
            head, _, tail = name.partition(".")
            inner = record.get(head)
            value = inner.get(tail) if isinstance(inner, dict) else None
        else:
            value = record.get(name)
        if value is not None and not (isinstance(value, str) and not value.strip()):
            return name, value
    return (names[0] if names else ""), None


def check_header(cmap: ColumnMap, header: set[str]) -> str | None:
    """The name of the amount column the header lacks (txn id or amount), else None."""
    for key in ("txn_id", "amount"):
        names = cmap.column(key)
        if not any(n.split(".")[0] in header for n in names):
            return names[0] if names else key
    return None


def _kind(cmap: ColumnMap, record: dict[str, Any]) -> tuple[str, bool]:
    col, value = _pick(record, cmap.column("kind"))
    kind = cmap.kinds.get(str(value).strip().lower(), cmap.default_kind) if col and (
        value is not None) else "payment"
    settled = True
    if cmap.settled_values:
        scol, svalue = _pick(record, cmap.column("settled"))
        if scol:
            settled = str(svalue).strip().lower() in cmap.settled_values
    return kind, settled


class LineParser:
    """:func:`parse_line` with the map's candidate columns narrowed, once per header, to
    those the file has (a file of a million lines looks each field up once, not in
    every candidate column)."""

    def __init__(self, cmap: ColumnMap) -> None:
        self.cmap = cmap
        self._narrowed: dict[tuple[str, ...], ColumnMap] = {}

    def parse(self, line_no: int, record: dict[str, Any]) -> Line:
        keys = tuple(record)
        narrowed = self._narrowed.get(keys)
        if narrowed is None:
            present = set(keys)
            cols = {f: tuple(n for n in names if n in present or n.split(".")[0] in present)
                    or names[:1] for f, names in self.cmap.columns.items()}
            narrowed = self._narrowed[keys] = dataclasses.replace(self.cmap, columns=cols)
        return parse_line(narrowed, line_no, record)


def parse_line(cmap: ColumnMap, line_no: int, record: dict[str, Any]) -> Line:
    """One file row to a :class:`Line`; ValidationError names the file's column."""
    kind, settled = _kind(cmap, record)

    def amount(key: str) -> int:
        col, value = _pick(record, cmap.column(key))
        return money(value, cmap.unit, col) if col else 0

    def text(key: str, limit: int = 100) -> str | None:
        col, value = _pick(record, cmap.column(key))
        return _text(value, col, limit) if col else None

    txn_id = text("txn_id")
    if kind != "other" and not txn_id:
        names = cmap.column("txn_id")
        raise _bad(names[0] if names else "txn_id", "transaction id is empty",
                   "missing_value")
    net = None
    ncol, nvalue = _pick(record, cmap.column("net"))
    if nvalue is not None:
        net = abs(money(nvalue, cmap.unit, ncol) - amount("net_debit"))
    scol, svalue = _pick(record, cmap.column("settled_on"))
    pcol, pvalue = _pick(record, cmap.column("paid_at"))
    paid_at = moment(pvalue, pcol) if pvalue is not None else None
    if isinstance(paid_at, dt.date) and not isinstance(paid_at, dt.datetime):
        paid_at = dt.datetime.combine(paid_at, dt.time())
    bill_no = text("bill_no", 40)
    return Line(line_no=line_no, kind=kind, txn_id=txn_id,
                bill_no=to_ascii(bill_no).replace(" ", "") if bill_no else None,
                amount=amount("amount"), fee=amount("fee"), tax=amount("tax"), net=net,
                utr=text("utr", 64), settlement_id=text("settlement_id"),
                settled_on=day(svalue, scol) if svalue is not None else None,
                paid_at=paid_at, mode=(text("mode", 20) or "").lower() or None,
                refund_id=text("refund_id"), settled=settled)
