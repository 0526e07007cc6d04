"""Settlement import at scale: a 1,000,000-line Razorpay settlement file reconciled against
1,000,000 posted payments, wall time and peak memory of the real command.

    python bench/recon.py [--lines 1000000] [--pg-lines 200000] [--no-pg]

The payments (posted by callback, spread over the 30 days before the settlement) are
built in the database with set-based SQL; the file (CSV, amounts in paise, 2 % fee and
18 % tax on it, 100 settlement ids) names every one of them plus 100 payments whose
callback never came (posted by the import, receipt and SMS).  ``qrpay recon import``
runs in a child process; its peak RSS (``wait4``) shows the memory is bounded.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.reports import _run  # noqa: E402
from qrpay.store import open_store  # noqa: E402

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MISSING = 100  # payments with no callback: the file brings them


def fill(store, n: int) -> None:  # type: ignore[no-untyped-def]
    pg = not store.is_sqlite
    with store.begin() as conn:  # one bill per payment (a bill paid twice is the exception)
        if pg:
            _run(conn, "INSERT INTO bills (bill_no, biller, account_no, name, period, amount, "
                 "due_date, arrears, content_hash, created_at, updated_at) SELECT 'B' || i, "
                 "'best', lpad(i::text, 9, '0'), 'x', '2026-10', 10000 + i % 50000, "
                 f"DATE '2026-11-05', 0, 'x', now(), now() FROM generate_series(1, {n + MISSING})"
                 " AS i")
        else:
            _run(conn, f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE "
                 f"i < {n + MISSING}) INSERT INTO bills (bill_no, biller, account_no, name, "
                 "period, amount, due_date, arrears, content_hash, created_at, updated_at) "
                 "SELECT 'B' || i, 'best', printf('%09d', i), 'x', '2026-10', "
                 "10000 + i % 50000, '2026-11-05', 0, 'x', '2026-10-01 00:00:00.000000', "
                 "'2026-10-01 00:00:00.000000' FROM s")
    chunk = 500_000
    for first in range(1, n + 1, chunk):
        last = min(first + chunk - 1, n)
        with store.begin() as conn:
            if pg:
                ts = (f"(TIMESTAMPTZ '2026-10-21 00:00+00' + i * (2592000.0 / {n}) * "
                      "INTERVAL '1 second')")
                _run(conn, "INSERT INTO payments (id, channel, txn_id, biller, bill_no, "
                     "account_no, amount, currency, status, mode, receipt_no, created_at, "
                     "updated_at, posted_at) SELECT i, 'razorpay', 'pay_' || i, 'best', "
                     "'B' || i, lpad(i::text, 9, '0'), "
                     "10000 + i % 50000, 'INR', 'success', 'upi', 'R' || i, "
                     f"{ts}, {ts}, {ts} FROM generate_series({first}, {last}) AS i")
            else:
                ts = ("strftime('%Y-%m-%d %H:%M:%S.000000', '2026-10-21 00:00:00', '+' || "
                      f"CAST(i * 2592000 / {n} AS INTEGER) || ' seconds')")
                _run(conn, f"WITH RECURSIVE s(i) AS (SELECT {first} UNION ALL SELECT i + 1 "
                     f"FROM s WHERE i < {last}) INSERT INTO payments (id, channel, txn_id, "
                     "biller, bill_no, account_no, amount, currency, status, mode, "
                     "receipt_no, created_at, updated_at, posted_at) SELECT i, 'razorpay', "
                     "'pay_' || i, 'best', 'B' || i, printf('%09d', i), "
                     f"10000 + i % 50000, 'INR', 'success', 'upi', 'R' || i, {ts}, {ts}, "
                     f"{ts} FROM s")
    if pg:
        with store.begin() as conn:
            _run(conn, f"SELECT setval(pg_get_serial_sequence('payments', 'id'), {n + 1})")
        with store.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE payments")


def write_file(path: Path, n: int) -> None:
    settled_at = 1795219200  # 2026-11-20
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["entity_id", "type", "debit", "credit", "amount", "currency", "fee",
                    "tax", "on_hold", "settled", "created_at", "settled_at", "settlement_id",
                    "settlement_utr", "payment_id", "order_id", "order_receipt", "method"])
        for i in range(1, n + MISSING + 1):
            amount = 10000 + i % 50000
            fee = amount * 2 // 100
            tax = fee * 18 // 100
            txn = f"pay_{i}" if i <= n else f"pay_missing_{i}"
            w.writerow([txn, "payment", 0, amount - fee - tax, amount, "INR", fee, tax,
                        "false", "true", settled_at - 86400, settled_at,
                        f"setl_{i % 100}", f"UTR{i % 100}", "", f"order_{i}",
                        f"B{i}", "upi"])


def run(path: Path, url: str) -> tuple[float, float, int, str]:
    env = dict(os.environ, QRPAY_DATABASE_URL=url, QRPAY_TOKEN_KEY_K1="bench")
    cmd = [sys.executable, "-m", "qrpay", "--config", str(ROOT / "samples/best.toml"),
           "recon", "import", str(path), "--channel", "razorpay"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    out = proc.stdout.read().decode() if proc.stdout else ""
    if status != 0:
        raise SystemExit(f"recon import failed: {out}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024, out


def bench(url: str, label: str, n: int, workdir: Path) -> None:
    store = open_store(url, upgrade=True)
    t = time.perf_counter()
    fill(store, n)
    store.dispose()
    path = workdir / f"settlement-{n}.csv"
    write_file(path, n)
    print(f"{label}: {n:,} payments built and the file written in "
          f"{time.perf_counter() - t:.0f} s ({path.stat().st_size / 1e6:.0f} MB)", flush=True)
    elapsed, cpu, rss, out = run(path, url)
    lines = n + MISSING
    print(f"{label}: {lines:,} lines reconciled in {elapsed:.1f} s wall, {cpu:.1f} s CPU "
          f"({lines / elapsed:,.0f} lines/s), peak RSS {rss} MB")
    print("\n".join("    " + ln for ln in out.strip().splitlines()))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--pg-lines", type=int, default=200_000)
    ap.add_argument("--no-pg", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench(f"sqlite:///{Path(tmp) / 'bench.db'}", "SQLite", args.lines, Path(tmp))
        if not args.no_pg:
            name = "bench_" + uuid.uuid4().hex[:8]
            admin = create_engine(PG, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f"CREATE SCHEMA {name}"))
            try:
                bench(f"{PG}?options=-csearch_path%3D{name}", "PostgreSQL", args.pg_lines,
                      Path(tmp))
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f"DROP SCHEMA {name} CASCADE"))


if __name__ == "__main__":
    main()
