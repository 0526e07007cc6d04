"""Collection reports over a big ledger: seconds per report, SQLite and PostgreSQL.

    python bench/reports.py [--entries 10000000] [--pg-entries 10000000] [--no-pg]

Builds a synthetic ledger in the database itself (set-based INSERT ... SELECT: payments
over four channels and four modes, spread over the twelve months 2025-12..2026-11, one
ledger entry each, 100,000 bills with categories and areas), folds it into the daily
totals once (``rollup.catch_up``, timed), adds 10,000 entries the rollup has not seen (the
report must add those from the ledger itself), then times ``collections`` for November
2026 by mode, channel, day and category (best of three) and, for comparison, the same
month summed straight from the ledger (``ledger_figure``), checking both agree.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qrpay.config import load_config  # noqa: E402
from qrpay.reports import rollup  # noqa: E402
from qrpay.reports.collections import collections, ledger_figure  # noqa: E402
from qrpay.store import open_store  # noqa: E402

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
START = dt.datetime(2025, 11, 30, 18, 30, tzinfo=dt.UTC)  # 2025-12-01 00:00 IST
SPAN = 365 * 86400
BILLS = 100_000


def _run(conn, sql: str) -> None:  # type: ignore[no-untyped-def]
    """A parameterless statement (on PostgreSQL straight to psycopg: its % are operators)."""
    if conn.dialect.name == "postgresql":
        conn.connection.driver_connection.execute(sql)
    else:
        conn.exec_driver_sql(sql)


def _sqlite_fill(conn, first: int, n: int) -> None:  # type: ignore[no-untyped-def]
    ts = ("strftime('%Y-%m-%d %H:%M:%S.000000', '2025-11-30 18:30:00', '+' || "
          f"CAST(((i - 1) % {n}) * {SPAN} / {n} AS INTEGER) || ' seconds')")
    seq = (f"WITH RECURSIVE s(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM s "
           f"WHERE i < {first + n - 1}) ")
    conn.exec_driver_sql(
        seq + "INSERT INTO payments (id, channel, txn_id, biller, bill_no, account_no, amount,"
        " currency, status, mode, receipt_no, created_at, updated_at, posted_at) "
        "SELECT i, CASE i % 4 WHEN 0 THEN 'razorpay' WHEN 1 THEN 'upi' WHEN 2 THEN "
        "'phonepe' ELSE 'counter' END, 't' || i, 'best', 'B' || (i % 100000), "
        "printf('%09d', i % 100000), 10000 + i % 500000, 'INR', 'success', "
        "CASE i % 4 WHEN 0 THEN 'card' WHEN 1 THEN 'upi' WHEN 2 THEN 'wallet' ELSE 'cash' "
        f"END, 'R' || i, {ts}, {ts}, {ts} FROM s")
    conn.exec_driver_sql(
        seq + "INSERT INTO ledger (biller, account_no, bill_no, kind, amount, payment_id, "
        "created_at) SELECT 'best', printf('%09d', i % 100000), 'B' || (i % 100000), "
        f"'payment', -(10000 + i % 500000), i, {ts} FROM s")


def _pg_fill(conn, first: int, n: int) -> None:  # type: ignore[no-untyped-def]
    ts = f"(TIMESTAMPTZ '{START.isoformat()}' + ((i - 1) % {n}) * ({SPAN}.0 / {n}) * " \
         "INTERVAL '1 second')"
    series = f"FROM generate_series({first}, {first + n - 1}) AS i"
    _run(conn,
        "INSERT INTO payments (id, channel, txn_id, biller, bill_no, account_no, amount, "
        "currency, status, mode, receipt_no, created_at, updated_at, posted_at) "
        "SELECT i, (ARRAY['razorpay','upi','phonepe','counter'])[1 + i % 4], 't' || i, "
        "'best', 'B' || (i % 100000), lpad((i % 100000)::text, 9, '0'), 10000 + i % 500000, "
        "'INR', 'success', (ARRAY['card','upi','wallet','cash'])[1 + i % 4], 'R' || i, "
        f"{ts}, {ts}, {ts} {series}")
    _run(conn,
        "INSERT INTO ledger (biller, account_no, bill_no, kind, amount, payment_id, "
        "created_at) SELECT 'best', lpad((i % 100000)::text, 9, '0'), 'B' || (i % 100000), "
        f"'payment', -(10000 + i % 500000), i, {ts} {series}")
    _run(conn, "SELECT setval(pg_get_serial_sequence('payments', 'id'), "
                         f"{first + n})")


def _bills(conn, pg: bool) -> None:  # type: ignore[no-untyped-def]
    if pg:
        _run(conn,
            "INSERT INTO bills (bill_no, biller, account_no, name, period, amount, due_date, "
            "arrears, category, area, content_hash, created_at, updated_at) "
            "SELECT 'B' || i, 'best', lpad(i::text, 9, '0'), 'x', '2026-11', 100000, "
            "DATE '2026-12-05', 0, (ARRAY['domestic','commercial','small & medium'])[1 + i % 3],"
            " (ARRAY['urban','rural'])[1 + i % 2], 'x', now(), now() "
            f"FROM generate_series(0, {BILLS - 1}) AS i")
        return
    _run(conn,
        f"WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < {BILLS - 1})"
        " INSERT INTO bills (bill_no, biller, account_no, name, period, amount, due_date, "
        "arrears, category, area, content_hash, created_at, updated_at) "
        "SELECT 'B' || i, 'best', printf('%09d', i), 'x', '2026-11', 100000, '2026-12-05', "
        "0, CASE i % 3 WHEN 0 THEN 'domestic' WHEN 1 THEN 'commercial' ELSE 'small & medium' "
        "END, CASE i % 2 WHEN 0 THEN 'urban' ELSE 'rural' END, 'x', "
        "'2026-11-01 00:00:00.000000', '2026-11-01 00:00:00.000000' FROM s")


def fill(store, entries: int) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    pg = not store.is_sqlite
    chunk = 1_000_000
    with store.begin() as conn:
        _bills(conn, pg)
    for first in range(1, entries + 1, chunk):
        with store.begin() as conn:
            (_pg_fill if pg else _sqlite_fill)(conn, first, min(chunk, entries - first + 1))
        print(f"  ... {min(first + chunk - 1, entries):,} entries", flush=True)
    if pg:
        with store.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE ledger")
            conn.exec_driver_sql("VACUUM ANALYZE payments")
            conn.exec_driver_sql("VACUUM ANALYZE bills")
    return time.perf_counter() - t


def best_of(fn, n: int = 3) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    best, out = float("inf"), None
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def bench(url: str, label: str, entries: int) -> None:
    config = load_config(ROOT / "samples" / "best.toml")
    store = open_store(url, upgrade=True)
    print(f"{label}: building {entries:,} ledger entries ...", flush=True)
    built = fill(store, entries)
    t = time.perf_counter()
    rollup.catch_up(store, config, lag=dt.timedelta(0))
    folded = time.perf_counter() - t
    # 10,000 entries the rollup has not folded: the report reads them from the ledger
    with store.begin() as conn:
        (_pg_fill if not store.is_sqlite else _sqlite_fill)(conn, entries + 1, 10_000)
    print(f"{label}: built in {built:.0f} s; first rollup of {entries:,} entries "
          f"{folded:.1f} s ({entries / folded:,.0f} entries/s)")
    with store.connect() as conn:
        for by in ("mode", "channel", "day", "category"):
            secs, report = best_of(lambda by=by: collections(conn, config, "2026-11", by=by))
            print(f"{label}: report --by {by:<9} {secs * 1000:7.1f} ms "
                  f"({report.total.count:,} payments)")  # type: ignore[attr-defined]
        secs, direct = best_of(lambda: ledger_figure(conn, config, "best", "2026-11"), 1)
        mine = collections(conn, config, "2026-11").total
        assert mine == direct, (mine, direct)
        print(f"{label}: the same month summed from the ledger directly {secs:.1f} s "
              f"(equal: {mine == direct})")
    t = time.perf_counter()
    rollup.catch_up(store, config, lag=dt.timedelta(0))
    print(f"{label}: incremental rollup of 10,000 entries "
          f"{(time.perf_counter() - t) * 1000:.0f} ms")
    store.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=10_000_000)
    ap.add_argument("--pg-entries", type=int, default=10_000_000)
    ap.add_argument("--no-pg", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench(f"sqlite:///{Path(tmp) / 'bench.db'}", "SQLite", args.entries)
    if not args.no_pg:
        name = "bench_" + uuid.uuid4().hex[:8]
        admin = create_engine(PG, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {name}"))
        try:
            bench(f"{PG}?options=-csearch_path%3D{name}", "PostgreSQL", args.pg_entries)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f"DROP SCHEMA {name} CASCADE"))


if __name__ == "__main__":
    main()
