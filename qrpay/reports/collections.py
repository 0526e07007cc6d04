"""Collection reports: what was collected in a month, grouped one way, from the ledger.

Figures come from ``daily_totals`` (kept by :mod:`qrpay.reports.rollup`) plus the ledger
entries above the rollup mark, so they are always exactly the ledger's (see
:func:`ledger_figure`, which sums the ledger directly, for the check).  Days are the
biller's calendar days.  A payment counts +1 and its money; a reversal or counter
cancellation counts -1 and takes its money back.

``by``: ``mode`` (the KESCO table: card, net banking, e-wallet...; the default),
``channel``, ``day``, ``biller``, ``category``, ``area``, ``counter``, ``cashier``.
Digital means any channel but the counter desk; the target is the biller's
``digital_target_percent``.  Settled money is what the channels' settlement files
confirmed (``daily_settled``) of the digital money collected.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from qrpay.clock import zone
from qrpay.config import Config
from qrpay.errors import ValidationError
from qrpay.payments.ledger import PAID_KINDS
from qrpay.reports import rollup
from qrpay.reports.labels import MODES, mode_key
from qrpay.store.schema import daily_settled, daily_totals, ledger, payments, staff

BY = ("mode", "channel", "day", "biller", "category", "area", "counter", "cashier")
COLUMN = {"mode": "mode", "channel": "channel", "day": "day", "biller": "biller",
          "category": "category", "area": "area", "counter": "counter",
          "cashier": "staff_id"}
COUNTER = rollup.COUNTER


@dataclass(frozen=True)
class Figure:
    count: int = 0
    amount: int = 0

    def __add__(self, other: Figure) -> Figure:
        return Figure(self.count + other.count, self.amount + other.amount)

    def __sub__(self, other: Figure) -> Figure:
        return Figure(self.count - other.count, self.amount - other.amount)


@dataclass(frozen=True)
class Line:
    key: str
    figure: Figure


@dataclass(frozen=True)
class CollectionReport:
    billers: tuple[str, ...]
    currency: str
    period: str
    by: str
    lines: tuple[Line, ...]
    total: Figure
    digital: Figure
    settled: Figure
    previous: Figure
    last_year: Figure
    target_percent: Decimal | None
    by_channel: tuple[Line, ...]
    daily: tuple[tuple[dt.date, str, Figure], ...]  # (day, channel, figure)
    names: dict[str, str] = field(default_factory=dict)  # cashier id -> username

    @property
    def digital_percent(self) -> Decimal | None:
        return percent(self.digital.count, self.total.count)

    @property
    def unsettled(self) -> Figure:
        return self.digital - self.settled


def percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def change(now: int, before: int) -> Decimal | None:
    """Percent change from ``before`` to ``now`` (None when there was nothing before)."""
    if not before:
        return None
    return (Decimal(now - before) * 100 / Decimal(before)).quantize(Decimal("0.1"),
                                                                   ROUND_HALF_UP)


# ----------------------------------------------------------------------- periods

def month_days(period: str) -> tuple[dt.date, dt.date]:
    """First and last day of ``YYYY-MM``."""
    try:
        first = dt.date.fromisoformat(period + "-01")
    except ValueError:
        raise ValidationError(f"period {period!r} is not YYYY-MM", code="invalid_period",
                              field="period") from None
    nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, nxt - dt.timedelta(days=1)


def shift_month(period: str, months: int) -> str:
    first, _ = month_days(period)
    n = first.year * 12 + first.month - 1 + months
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


def utc_bounds(first: dt.date, last: dt.date, zone_name: str) -> tuple[dt.datetime, dt.datetime]:
    """The instants the biller-local days ``first``..``last`` begin and end."""
    tz = zone(zone_name)
    start = dt.datetime.combine(first, dt.time(), tzinfo=tz).astimezone(dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    return start, end.astimezone(dt.UTC)


# ----------------------------------------------------------------------- sources

class Source:
    """Grouped figures over some billers and days: ``daily_totals`` + the ledger tail."""

    def __init__(self, conn: Connection, config: Config, billers: tuple[str, ...],
                 first: dt.date, last: dt.date) -> None:
        self.conn, self.billers, self.first, self.last = conn, billers, first, last
        mark = rollup.last_id(conn)
        bounds = [utc_bounds(first, last, config.biller(b).timezone) for b in billers]
        tail = rollup.tail(conn, config, min(b[0] for b in bounds),
                           max(b[1] for b in bounds), mark)
        self.tail: list[tuple[dict[str, Any], int, int]] = [
            (dict(zip(rollup.DIMS, key, strict=True)), tail.count[key],
                      tail.amount[key]) for key in tail.count]

    def group(self, dims: tuple[str, ...]) -> dict[tuple[Any, ...], Figure]:
        wanted = tuple(dict.fromkeys(dims + (("channel",) if "mode" in dims else ())))
        cols = [daily_totals.c[COLUMN[d]] for d in wanted]
        q = (select(*cols, func.sum(daily_totals.c.count), func.sum(daily_totals.c.amount))
             .where(daily_totals.c.biller.in_(self.billers),
                    daily_totals.c.day >= self.first, daily_totals.c.day <= self.last))
        if cols:
            q = q.group_by(*cols)
        out: dict[tuple[Any, ...], Figure] = {}
        for row in self.conn.execute(q):
            if row[-2] is not None:
                self._add(out, dims, dict(zip(wanted, row[:-2], strict=True)),
                          int(row[-2]), int(row[-1]))
        for values, count, amount in self.tail:
            if values["biller"] in self.billers and self.first <= values["day"] <= self.last:
                named = {d: values[COLUMN[d]] for d in wanted}
                self._add(out, dims, named, count, amount)
        return out

    @staticmethod
    def _add(out: dict[tuple[Any, ...], Figure], dims: tuple[str, ...],
             values: dict[str, Any], count: int, amount: int) -> None:
        if "mode" in values:
            values["mode"] = mode_key(values["mode"], values["channel"])
        key = tuple(values[d] for d in dims)
        out[key] = out.get(key, Figure()) + Figure(count, amount)

    def total(self) -> Figure:
        return self.group(()).get((), Figure())


def settled_figure(conn: Connection, billers: tuple[str, ...], first: dt.date,
                   last: dt.date) -> Figure:
    q = select(func.coalesce(func.sum(daily_settled.c.count), 0),
               func.coalesce(func.sum(daily_settled.c.amount), 0)).where(
        daily_settled.c.biller.in_(billers), daily_settled.c.day >= first,
        daily_settled.c.day <= last, daily_settled.c.channel != COUNTER)
    count, amount = conn.execute(q).one()
    return Figure(int(count), int(amount))


def ledger_figure(conn: Connection, config: Config, biller: str, period: str) -> Figure:
    """The month's collections summed from the ledger itself (slow: for checks)."""
    first, last = month_days(period)
    start, end = utc_bounds(first, last, config.biller(biller).timezone)
    q = (select(func.count(), func.coalesce(func.sum(ledger.c.amount), 0))
         .select_from(ledger.join(payments, ledger.c.payment_id == payments.c.id))
         .where(ledger.c.biller == biller, ledger.c.kind.in_(PAID_KINDS),
                ledger.c.created_at >= start, ledger.c.created_at < end))
    n_pay = conn.execute(q.where(ledger.c.kind == "payment")).one()[0]
    n_all, amount = conn.execute(q).one()
    return Figure(int(n_pay) - (int(n_all) - int(n_pay)), -int(amount))


# ----------------------------------------------------------------------- the report

def collections(conn: Connection, config: Config, period: str, *, by: str = "mode",
                biller: str | None = None) -> CollectionReport:
    if by not in BY:
        raise ValidationError(f"--by must be one of {', '.join(BY)}", code="bad_value",
                              field="by")
    billers = tuple(config.billers) if by == "biller" else (config.biller(biller).code,)
    first, last = month_days(period)
    src = Source(conn, config, billers, first, last)
    lines = _lines(src.group((by,)), by)
    channels = src.group(("channel",))
    digital = sum((f for (ch,), f in channels.items() if ch != COUNTER), Figure())
    daily = sorted(((d, ch, f) for (d, ch), f in src.group(("day", "channel")).items()),
                   key=lambda x: (x[0], x[1]))
    main = config.biller(billers[0])
    target = Decimal(main.digital_target_percent) if main.digital_target_percent else None
    return CollectionReport(
        billers=billers, currency=main.currency, period=period, by=by, lines=lines,
        total=sum((ln.figure for ln in lines), Figure()), digital=digital,
        settled=settled_figure(conn, billers, first, last),
        previous=_month_total(conn, config, billers, shift_month(period, -1)),
        last_year=_month_total(conn, config, billers, shift_month(period, -12)),
        target_percent=target, by_channel=_lines(channels, "channel"), daily=tuple(daily),
        names=_staff_names(conn) if by == "cashier" else {})


def _month_total(conn: Connection, config: Config, billers: tuple[str, ...],
                 period: str) -> Figure:
    first, last = month_days(period)
    return Source(conn, config, billers, first, last).total()


def _lines(groups: dict[tuple[Any, ...], Figure], by: str) -> tuple[Line, ...]:
    items = [(str(k[0]) if not isinstance(k[0], dt.date) else k[0].isoformat(), f)
             for k, f in groups.items() if f.count or f.amount]
    if by == "day":
        items.sort()
    elif by == "mode":
        order = list(MODES)
        items.sort(key=lambda kv: (order.index(kv[0]) if kv[0] in order else 99, kv[0]))
    else:
        items.sort(key=lambda kv: (-kv[1].amount, kv[0]))
    return tuple(Line(k, f) for k, f in items)


def _staff_names(conn: Connection) -> dict[str, str]:
    return {str(i): u for i, u in conn.execute(select(staff.c.id, staff.c.username))}
