"""A look-up by mobile or meter starts from that column's index, statistics or not.

Without statistics (SQLite is never analysed; PostgreSQL until autovacuum gets to a new
table) both planners took ``ix_bills_biller_period`` for ``mobile IN (?, ?) AND biller
IN (?)``, the two spellings of a mobile, and read every bill of the biller: 0.25-0.45 s
a look-up at a million bills on SQLite.  The biller is now a filter only
(:func:`qrpay.bills.of_biller`).
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert, select, text

from qrpay.biller.lookup import _numbers_sql, _sql
from qrpay.bills import of_biller
from qrpay.store.schema import bills


def _young_bills(conn, n: int = 5000) -> None:
    at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    conn.execute(insert(bills), [
        {"bill_no": f"B{i}", "biller": "pbs", "account_no": f"A{i}", "name": "N",
         "period": "2026-11", "amount": 100000, "due_date": dt.date(2026, 11, 30),
         "arrears": 0, "content_hash": "x", "mobile": f"+8801711{i:06d}",
         "meter_no": f"M{i}", "created_at": at, "updated_at": at} for i in range(n)])


def _plan(conn, sql: str, params: tuple[str, ...]) -> str:
    if conn.dialect.name == "postgresql":  # the plan a prepared statement settles on
        marks = iter(range(1, len(params) + 1))
        conn.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        conn.exec_driver_sql("PREPARE lookup_probe AS " + "".join(
            f"${next(marks)}" if ch == "?" else ch for ch in sql))
        try:
            args = ", ".join(f"'{p}'" for p in params)
            return "\n".join(conn.exec_driver_sql(
                f"EXPLAIN EXECUTE lookup_probe{f'({args})' if args else ''}").scalars())
        finally:
            conn.exec_driver_sql("DEALLOCATE lookup_probe")
    return "\n".join(str(r[-1]) for r in conn.exec_driver_sql(
        "EXPLAIN QUERY PLAN " + sql, params))


@pytest.mark.parametrize(("column", "index", "values"), [
    ("mobile", "ix_bills_mobile", ("+8801711000007", "01711000007")),
    ("meter_no", "ix_bills_meter", ("M7", "m7")),
])
@pytest.mark.parametrize("statement", [_numbers_sql, _sql])
def test_the_biller_api_looks_up_a_mobile_or_a_meter_by_its_index(
        store, statement, column, index, values):
    with store.begin() as conn:
        _young_bills(conn)
        plan = _plan(conn, statement(column, len(values), 1), (*values, "pbs"))
    assert index in plan, plan
    assert "ix_bills_biller_period" not in plan, plan


def test_the_chat_and_desk_look_up_a_mobile_by_its_index(store):
    q = select(bills.c.account_no).where(
        of_biller("pbs"), bills.c.mobile.in_(("+8801711000007", "8801711000007")))
    with store.begin() as conn:
        _young_bills(conn)
        sql = str(q.compile(conn, compile_kwargs={"literal_binds": True}))
        plan = _plan(conn, sql, ())
    assert "ix_bills_mobile" in plan, (sql, plan)
