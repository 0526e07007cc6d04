"""Bill import throughput and memory: rows/second and peak RSS, SQLite and PostgreSQL.

    python bench/import.py [--rows 1000000] [--pg-rows 200000] [--no-pg] [--no-sqlite]
                           [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/import_bench]
                           [--workdir DIR]

Generates a synthetic BEST bill file (``qrpay.samplegen``), then runs the real
``qrpay bills import`` in a child process against a fresh database and reports the
child's wall time, rows/s, its CPU time (user + sys, all its threads: rows per CPU-second
is the figure that survives a shared machine), on PostgreSQL also the CPU of the server
backend that served it (sampled from /proc every 0.1 s while it runs), how many cores
that CPU kept busy on average, peak resident memory (bounded: it must not grow with the
file) and the load average; then the most two free cores could do by that CPU (twice the
rows per CPU-second of every process, and on PostgreSQL no more than its one backend's
rows per CPU-second), beside the goal of 50,000 rows/s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qrpay.samplegen import write_csv  # noqa: E402

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/import_bench"
APP = "qrpay_import_bench"
TICK = os.sysconf("SC_CLK_TCK")
GOAL = 50_000  # rows/s on 2 cores, issue 14 item 5


class BackendCpu:
    """CPU seconds of the PostgreSQL backends serving application_name ``APP`` (the
    server runs on this machine): /proc/<pid>/stat sampled until stopped."""

    def __init__(self, admin_url: str) -> None:
        self.engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.cpu: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.engine.connect() as conn:
            while not self.stop.is_set():
                pids = conn.execute(text("SELECT pid FROM pg_stat_activity "
                                         "WHERE application_name = :a"), {"a": APP}).scalars()
                for pid in pids:
                    try:
                        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    self.cpu[pid] = (int(fields[11]) + int(fields[12])) / TICK
                self.stop.wait(0.1)

    def __enter__(self) -> BackendCpu:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.engine.dispose()

    @property
    def seconds(self) -> float:
        return sum(self.cpu.values())


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


def bench(rows: int, db_url: str, label: str, workdir: Path,
          backend: BackendCpu | None = None) -> None:
    path = workdir / f"bills-{rows}.csv"
    if not path.exists():
        with path.open("w", encoding="utf-8") as fh:
            write_csv(fh, "best", rows)
    size = path.stat().st_size / 1e6
    load = os.getloadavg()[0]
    if backend is not None:
        with backend:
            elapsed, cpu, rss_mb, out = run_import(path, db_url)
        db_cpu = backend.seconds
    else:
        elapsed, cpu, rss_mb, out = run_import(path, db_url)
        db_cpu = 0.0
    load = max(load, os.getloadavg()[0])
    both = f"  + server {db_cpu:5.1f} s = {rows / (cpu + db_cpu):8,.0f} rows/cpu-s" \
        if backend is not None else ""
    print(f"{label:<10} {rows:>9,} rows  {size:7.1f} MB  {elapsed:7.1f} s  "
          f"{rows / elapsed:9,.0f} rows/s  importer cpu {cpu:6.1f} s = {rows / cpu:9,.0f} "
          f"rows/cpu-s{both}  cores busy {(cpu + db_cpu) / elapsed:4.2f}  "
          f"peak RSS {rss_mb} MB  load {load:.1f}")
    print(f"           {out}")
    # on two free cores the import can do at most 2 x rows/cpu-s (every process
    # counted), and on PostgreSQL at most what its one backend does: rows / server cpu
    bound = min(2 * rows / (cpu + db_cpu), rows / db_cpu if db_cpu else float("inf"))
    print(f"           on two free cores at most {bound:,.0f} rows/s by CPU "
          f"(goal {GOAL:,} rows/s)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--pg-rows", type=int, default=200_000)
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--workdir", type=Path, help="keep the generated files (and databases) "
                    "here, to reuse them in the next run")
    ap.add_argument("--pg-url", default=PG, help="a database of the bench's own "
                    "(createdb -h 127.0.0.1 -U postgres import_bench); it makes a schema")
    args = ap.parse_args()
    print(f"bill import, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for db in work.glob("*.db*"):
            db.unlink()
        if not args.no_sqlite:
            bench(min(args.rows, 10_000), f"sqlite:///{work / 'small.db'}", "sqlite", work)
            bench(args.rows, f"sqlite:///{work / 'big.db'}", "sqlite", work)
        if not args.no_pg:
            schema = "bench_" + uuid.uuid4().hex[:8]
            admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            try:
                bench(args.pg_rows, f"{args.pg_url}?options=-csearch_path%3D{schema}"
                      f"&application_name={APP}", "postgresql", work, BackendCpu(args.pg_url))
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


if __name__ == "__main__":
    main()
