"""Daily collection totals kept from the ledger, so reports over millions of entries
answer from a few thousand rows.

``daily_totals`` holds, per biller-local day, biller, channel, payment mode, consumer
category and area, counter and cashier: the number of payments (a reversal or a counter
cancellation counts -1) and the money collected (the negated sum of ``payment``,
``reversal`` and ``cancel`` entries: exactly what the ledger says was paid).  Every ledger
entry with ``id <= rollup_state.last_id`` is counted there once; reports add the entries
above the mark from the ledger itself (:func:`tail`), so a figure is always the ledger's,
whether the rollup ran a second or a day ago.

:func:`catch_up` advances the mark in batches (``qrpay worker`` runs it periodically;
``qrpay report`` runs it first).  On PostgreSQL ids are handed out before commit, so a
transaction still open could commit a lower id later: the mark only passes entries older
than ``LAG``; SQLite's single writer commits in id order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, case, func, select

from qrpay.clock import utcnow, zone
from qrpay.config import Config
from qrpay.payments.ledger import PAID_KINDS
from qrpay.store import Store
from qrpay.store.schema import bills, daily_totals, ledger, payments, rollup_state, shifts
from qrpay.store.upsert import add_to

NAME = "daily_totals"
LAG = dt.timedelta(minutes=5)
BATCH = 200_000
COUNTER = "counter"
DIMS = ("biller", "day", "channel", "mode", "category", "area", "counter", "staff_id")
Key = tuple[str, dt.date, str, str, str, str, str, int]


def entries_query() -> Select[Any]:
    """Ledger entries that move collected money, with what the reports group by."""
    return (select(ledger.c.id, ledger.c.biller, ledger.c.kind, ledger.c.amount,
                   ledger.c.created_at, payments.c.channel, payments.c.mode,
                   payments.c.staff_id, shifts.c.counter, bills.c.category, bills.c.area)
            .select_from(ledger.join(payments, ledger.c.payment_id == payments.c.id)
                         .outerjoin(bills, bills.c.bill_no == ledger.c.bill_no)
                         .outerjoin(shifts, shifts.c.id == payments.c.shift_id))
            .where(ledger.c.kind.in_(PAID_KINDS)))


@dataclass
class Totals:
    """Counts and amounts by :data:`Key`."""

    count: dict[Key, int]
    amount: dict[Key, int]

    @classmethod
    def empty(cls) -> Totals:
        return cls({}, {})

    def add(self, key: Key, count: int, amount: int) -> None:
        self.count[key] = self.count.get(key, 0) + count
        self.amount[key] = self.amount.get(key, 0) + amount

    def rows(self) -> list[dict[str, Any]]:
        return [dict(zip(DIMS, key, strict=True), count=self.count[key],
                     amount=self.amount[key]) for key in self.count]


def aggregate(config: Config, rows: Iterable[Any], into: Totals | None = None) -> Totals:
    """Sum ledger rows from :func:`entries_query` by :data:`Key` (local day)."""
    out = into or Totals.empty()
    zones: dict[str, Any] = {}
    for r in rows:
        biller = zones.get(r.biller)
        if biller is None:
            biller = zones[r.biller] = config.billers.get(r.biller) or config.default_biller
        day = biller.local(r.created_at).date()
        key = (r.biller, day, r.channel, (r.mode or "").lower(), r.category or "",
               r.area or "", r.counter or "", r.staff_id or 0)
        out.add(key, 1 if r.kind == "payment" else -1, -int(r.amount))
    return out


def last_id(conn: Connection) -> int:
    value = conn.execute(select(rollup_state.c.last_id).where(
        rollup_state.c.name == NAME)).scalar()
    return int(value or 0)


def catch_up(store: Store, config: Config, *, now: dt.datetime | None = None,
             lag: dt.timedelta | None = None, batch: int = BATCH) -> int:
    """Fold new ledger entries into ``daily_totals``; return how far the mark moved
    (in ledger ids)."""
    now = now or utcnow()
    lag = (dt.timedelta(0) if store.is_sqlite else LAG) if lag is None else lag
    done = 0
    with store.connect() as conn:  # nothing new: no write transaction (SQLite's lock)
        if conn.execute(select(func.max(ledger.c.id))).scalar() in (None, last_id(conn)):
            return 0
    while True:
        with store.begin() as conn:
            start = last_id(conn)
            hi = conn.execute(select(func.max(ledger.c.id)).where(
                ledger.c.id > start, ledger.c.created_at <= now - lag)).scalar()
            if hi is None:
                return done
            upper = min(int(hi), start + batch)
            add_to(conn, daily_totals, _fold(conn, config, start, upper), ("count", "amount"))
            _set_mark(conn, upper, now, exists=start > 0 or _has_mark(conn))
            done += upper - start
            if upper >= int(hi):
                return done


def _fold(conn: Connection, config: Config, start: int, upper: int) -> list[dict[str, Any]]:
    """Totals of the ledger ids ``(start, upper]``: grouped by the database, the local
    day computed there (PostgreSQL's time zones; SQLite for fixed-offset zones such as
    Asia/Kolkata and Asia/Dhaka), else summed here row by row."""
    rows: list[dict[str, Any]] = []
    python_side: list[str] = []
    for code, biller in config.billers.items():
        day = _day_expr(conn, biller.timezone)
        if day is None:
            python_side.append(code)
            continue
        rows.extend(_grouped(conn, day, start, upper, code))
    rest = entries_query().where(ledger.c.id > start, ledger.c.id <= upper)
    if python_side:
        rest = rest.where(ledger.c.biller.in_(python_side) | ledger.c.biller.not_in(
            list(config.billers)))
    else:
        rest = rest.where(ledger.c.biller.not_in(list(config.billers)))
    rows.extend(aggregate(config, conn.execute(rest)).rows())
    return rows


def _day_expr(conn: Connection, zone_name: str) -> Any:
    if conn.dialect.name == "postgresql":
        return func.date(func.timezone(zone_name, ledger.c.created_at))
    tz = zone(zone_name)
    year = utcnow().year
    offsets = {dt.datetime(y, m, 1, tzinfo=tz).utcoffset() for y in range(year - 30, year + 2)
               for m in (1, 7)}
    if len(offsets) != 1:
        return None  # daylight saving: Python decides each entry's day
    minutes = int(next(iter(offsets)).total_seconds() // 60)  # type: ignore[union-attr]
    return func.date(ledger.c.created_at, f"{minutes:+d} minutes")


def _grouped(conn: Connection, day: Any, start: int, upper: int,
             biller: str) -> list[dict[str, Any]]:
    keys = (ledger.c.biller, day, payments.c.channel,
            func.lower(func.coalesce(payments.c.mode, "")), func.coalesce(bills.c.category, ""),
            func.coalesce(bills.c.area, ""), func.coalesce(shifts.c.counter, ""),
            func.coalesce(payments.c.staff_id, 0))
    sign = case((ledger.c.kind == "payment", 1), else_=-1)
    q = (select(*keys, func.sum(sign), -func.sum(ledger.c.amount))
         .select_from(entries_query().get_final_froms()[0])
         .where(ledger.c.kind.in_(PAID_KINDS), ledger.c.id > start, ledger.c.id <= upper,
                ledger.c.biller == biller)
         .group_by(*keys))
    out = []
    for row in conn.execute(q):
        values = dict(zip(DIMS, row[:8], strict=True))
        if isinstance(values["day"], str):
            values["day"] = dt.date.fromisoformat(values["day"])
        out.append(dict(values, count=int(row[8]), amount=int(row[9])))
    return out


def _has_mark(conn: Connection) -> bool:
    return conn.execute(select(rollup_state.c.name).where(
        rollup_state.c.name == NAME)).first() is not None


def _set_mark(conn: Connection, upper: int, now: dt.datetime, *, exists: bool) -> None:
    if exists:
        conn.execute(rollup_state.update().where(rollup_state.c.name == NAME).values(
            last_id=upper, updated_at=now))
    else:
        conn.execute(rollup_state.insert().values(name=NAME, last_id=upper, updated_at=now))


def tail(conn: Connection, config: Config, start: dt.datetime, end: dt.datetime,
         after_id: int) -> Totals:
    """Entries above the rollup mark, created in ``[start, end)``: what ``daily_totals``
    does not hold yet."""
    q = entries_query().where(ledger.c.id > after_id, ledger.c.created_at >= start,
                              ledger.c.created_at < end)
    return aggregate(config, conn.execute(q))
