"""Bill import throughput and memory: rows/second and peak RSS, SQLite and PostgreSQL.

    python bench/import.py [--rows 1000000] [--pg-rows 200000] [--no-pg]

Generates a synthetic BEST bill file (``qrpay.samplegen``), then runs the real
``qrpay bills import`` in a child process against a fresh database and reports the
child's wall time, rows/s, its CPU time (user + sys: rows per CPU-second is the figure
that survives a shared machine) and peak resident memory (bounded: it must not grow with
the file).
"""

from __future__ import annotations

import argparse
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

from qrpay.samplegen import write_csv  # noqa: E402

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def run_import(path: Path, db_url: str) -> tuple[float, float, int, str]:
    env = dict(os.environ, QRPAY_DATABASE_URL=db_url, QRPAY_TOKEN_KEY_K1="bench")
    cmd = [sys.executable, "-m", "qrpay", "--config", str(ROOT / "samples/best.toml"),
           "bills", "import", str(path), "--no-progress"]
    if db_url.startswith("postgresql"):
        subprocess.run([sys.executable, "-m", "qrpay", "--config",
                        str(ROOT / "samples/best.toml"), "db", "upgrade"], env=env, check=True,
                       capture_output=True)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    out = proc.stdout.read().decode() if proc.stdout else ""
    if status != 0:
        raise SystemExit(f"import failed: {out} {proc.stderr.read().decode()}")
    cpu = usage.ru_utime + usage.ru_stime  # the importer's own CPU (not the database's)
    return elapsed, cpu, usage.ru_maxrss // 1024, out.strip()


def bench(rows: int, db_url: str, label: str, workdir: Path) -> None:
    path = workdir / f"bills-{rows}.csv"
    if not path.exists():
        with path.open("w", encoding="utf-8") as fh:
            write_csv(fh, "best", rows)
    size = path.stat().st_size / 1e6
    elapsed, cpu, rss_mb, out = run_import(path, db_url)
    print(f"{label:<10} {rows:>9,} rows  {size:7.1f} MB  {elapsed:7.1f} s  "
          f"{rows / elapsed:9,.0f} rows/s  cpu {cpu:6.1f} s = {rows / cpu:9,.0f} rows/cpu-s  "
          f"peak RSS {rss_mb} MB")
    print(f"           {out}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--pg-rows", type=int, default=200_000)
    ap.add_argument("--no-pg", action="store_true")
    args = ap.parse_args()
    print(f"bill import, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bench(min(args.rows, 10_000), f"sqlite:///{work / 'small.db'}", "sqlite", work)
        bench(args.rows, f"sqlite:///{work / 'big.db'}", "sqlite", work)
        if not args.no_pg:
            schema = "bench_" + uuid.uuid4().hex[:8]
            admin = create_engine(PG, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            try:
                bench(args.pg_rows, f"{PG}?options=-csearch_path%3D{schema}", "postgresql",
                      work)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


if __name__ == "__main__":
    main()
