"""Biller API under load: bKash inquiries and payments through the real server.

    python bench/biller.py [--bills 20000] [--duration 8] [--connections 32] [--workers 2]
                           [--no-pg] [--no-sqlite] [--loadgen auto|wrk|python]

Starts ``qrpay serve --workers N --no-sender`` with the BREB sample profile on loopback,
against a fresh SQLite file and a fresh PostgreSQL schema, loads synthetic Palli Bidyut
bills and drives it with the load generator of ``bench/serve.py`` (wrk when installed):

* inquiry: ``POST /api/v1/biller/bkash/queryBill`` for random accounts (credentials
  checked in constant time, slow-down looked up, one indexed bill read and its ledger,
  the request journalled by the batching writer);
* payment: ``POST .../payBill``, each a new ``TrxId`` paying 100.00 of a random bill
  (dhaka-pbs-1 takes part payments of at least 100.00): bill locked, policy checked,
  posted through the posting batch with receipt, ledger, SMS and the journal row in one
  transaction.  The payments actually posted are counted in the database.

Each row also gives the CPU time per request (per posted payment) of the server's
processes and, on PostgreSQL, of the backends serving the bench database (``/proc``):
what a run on a busy machine can still compare.

Goals (issue 11): inquiries >= 3,000/s, payments >= 1,000 posted/s, p99 < 50 ms, on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from bench.serve import (  # noqa: E402
    Request,
    _row,
    _wait_port,
    count_payments,
    drive,
    drop_schema,
    free_port,
    hello_baseline,
    pg_url,
)
from qrpay.store import open_store, utcnow  # noqa: E402
from qrpay.store.schema import bills as bills_t  # noqa: E402
from qrpay.store.schema import ledger as ledger_t  # noqa: E402

PROFILE = ROOT / "samples" / "breb.toml"
PASSWORD = secrets.token_hex(12)
SECRETS = {"QRPAY_TOKEN_KEY_K1": secrets.token_hex(32), "QRPAY_SECRET_BKASH": "x",
           "QRPAY_SESSION_KEY": secrets.token_hex(32),
           "QRPAY_SECRET_ROCKET": "x", "QRPAY_SECRET_NAGAD": "x",
           "QRPAY_CHANNEL_PASSWORD_BKASH": PASSWORD,
           # the profile's chat channels (qrpay serve refuses to start without them)
           "QRPAY_WHATSAPP_APP_SECRET": "bench", "QRPAY_WHATSAPP_VERIFY_TOKEN": "bench",
           "QRPAY_BDAPPS_PASSWORD": "bench"}
AMOUNT = 9_000_000  # poisha per synthetic bill: room for 900 part payments of 100.00


def accounts(n: int) -> list[str]:
    return [f"1{i:08d}" for i in range(n)]


def load_bills(url: str, accts: list[str]) -> None:
    store = open_store(url, upgrade=True)
    now = utcnow()
    due = dt.date.today() + dt.timedelta(days=20)
    with store.begin() as conn:
        for start in range(0, len(accts), 5000):
            chunk = accts[start:start + 5000]
            conn.execute(insert(bills_t), [{
                "bill_no": "2611" + a, "biller": "dhaka-pbs-1", "account_no": a,
                "name": "রহিমা মিয়া", "period": "2026-11", "amount": AMOUNT,
                "due_date": due, "late_amount": AMOUNT + AMOUNT // 20, "arrears": 0,
                "mobile": "+8801717784483", "history": "[]", "charges": "[]",
                "content_hash": "x" * 64, "created_at": now, "updated_at": now}
                for a in chunk])
            conn.execute(insert(ledger_t), [{
                "biller": "dhaka-pbs-1", "account_no": a, "bill_no": "2611" + a,
                "kind": "charge", "amount": AMOUNT, "created_at": now} for a in chunk])
    store.dispose()


def _form(fields: dict[str, str]) -> Request:
    body = urllib.parse.urlencode({"UserName": "bkash", "Password": PASSWORD,
                                   **fields}).encode()
    return Request("POST", "", (("Content-Type", "application/x-www-form-urlencoded"),),
                   body)


def _at(path: str, r: Request) -> Request:
    return Request(r.method, path, r.headers, r.body)


def inquiry_requests(accts: list[str]) -> list[Request]:
    return [_at("/api/v1/biller/bkash/queryBill", _form({"AccNo": a})) for a in accts]


def payment_requests(accts: list[str], n: int, tag: str) -> list[Request]:
    rng = random.Random(tag)
    return [_at("/api/v1/biller/bkash/payBill", _form({
        "AccNo": accts[rng.randrange(len(accts))], "Amount": "100.00",
        "TrxId": f"{tag}{i:09d}", "UserMobileNumber": "01711000000"})) for i in range(n)]


def start_server(url: str, port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, QRPAY_DATABASE_URL=url, **SECRETS)
    env.pop("QRPAY_SECRETS_FILE", None)
    cmd = [sys.executable, "-m", "qrpay", "--config", str(PROFILE), "serve", "--host",
           "127.0.0.1", "--port", str(port), "--workers", str(workers), "--no-sender",
           "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    _wait_port(proc, port, log, workers)
    return proc


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


APP = "qrpay_bench_biller"
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_cpu(pid: int) -> float:
    """utime + stime of ``pid`` in seconds (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _group_pids(pgid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:
                out.append(int(entry.name))
    return out


def _backend_pids(url: str) -> list[int]:
    """PostgreSQL backends connected to the bench database (not this one)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        pids = [int(r[0]) for r in conn.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = :app AND pid <> pg_backend_pid()"), {"app": APP})]
    engine.dispose()
    return pids


def cpu_seconds(proc: subprocess.Popen[bytes], url: str) -> dict[int, float]:
    """CPU seconds so far of the server's processes and, on PostgreSQL, of the backends
    serving the bench database (read from /proc), by pid."""
    pids = _group_pids(proc.pid)
    if not url.startswith("sqlite"):
        pids += _backend_pids(url)
    return {pid: _proc_cpu(pid) for pid in pids}


def cpu_split(proc: subprocess.Popen[bytes], before: dict[int, float],
              after: dict[int, float]) -> tuple[float, float]:
    """CPU seconds between two :func:`cpu_seconds` of the server's processes and of
    the PostgreSQL backends serving it."""
    app = set(_group_pids(proc.pid))
    used = {pid: t - before.get(pid, 0.0) for pid, t in after.items()}
    return (sum(t for pid, t in used.items() if pid in app),
            sum(t for pid, t in used.items() if pid not in app))


def _cost(proc: subprocess.Popen[bytes], before: dict[int, float],
          after: dict[int, float], n: float, unit: str) -> str:
    app, pg = cpu_split(proc, before, after)
    n = max(1.0, n)
    out = f"  CPU {1000 * (app + pg) / n:.2f} ms/{unit}"
    return out + (f" (app {1000 * app / n:.2f} + PG {1000 * pg / n:.2f})" if pg else "")


def bench_backend(args: argparse.Namespace, label: str, url: str, work: Path) -> list[str]:
    accts = accounts(args.bills)
    t0 = time.perf_counter()
    load_bills(url, accts)
    print(f"[{label}] loaded {len(accts):,} bills in {time.perf_counter() - t0:.1f} s",
          flush=True)
    port = free_port()
    proc = start_server(url, port, args.workers, work / f"server-{label}.log")
    rows = []
    warm = min(2.0, args.duration)
    try:
        reqs = inquiry_requests(accts)
        drive(args, port, reqs, work, "warm", warm)
        cpu0 = cpu_seconds(proc, url)
        r = drive(args, port, reqs, work, "inquiry", args.duration)
        rows.append(_row(label, "inquiry", r)
                    + _cost(proc, cpu0, cpu_seconds(proc, url), r.rps * r.seconds, "req"))
        print(rows[-1], flush=True)
        drive(args, port, payment_requests(accts, 3000, "W"), work, "paywarm", warm,
              sequential=True)
        before = count_payments(url)
        want = int(args.duration * 3000) + 1000
        cpu0 = cpu_seconds(proc, url)
        r = drive(args, port, payment_requests(accts, want, "P"), work, "payment",
                  args.duration, sequential=True)
        cpu1 = cpu_seconds(proc, url)
        posted = count_payments(url) - before
        rows.append(_row(label, "payment", r, posted=posted)
                    + _cost(proc, cpu0, cpu1, posted, "posted"))
        print(rows[-1], flush=True)
    finally:
        stop_server(proc)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--bills", type=int, default=20_000)
    ap.add_argument("--duration", type=float, default=8.0, help="seconds per scenario")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--no-hello", action="store_true", help="skip the hello-world baseline")
    ap.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    args = ap.parse_args(argv)
    if args.loadgen == "auto":
        args.loadgen = "wrk" if shutil.which("wrk") else "python"
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"qrpay serve --workers {args.workers} (BREB profile, bKash dialect); load: "
          f"{args.loadgen}, {args.connections} connections, {args.duration:g} s per "
          f"scenario; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}")
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="qrpay-bench-biller-") as tmp:
        work = Path(tmp)
        if not args.no_hello:  # the calibration row: a bare Starlette app on this machine now
            rows.append(hello_baseline(args, work))
            print(rows[-1], flush=True)
        if not args.no_sqlite:
            rows += bench_backend(args, "SQLite", f"sqlite:///{work / 'bench.db'}", work)
        if not args.no_pg:
            schema = "bench_" + uuid.uuid4().hex[:10]
            url = pg_url(schema)
            if url:  # its backends told apart from any other client's by name
                url += f"&application_name={APP}"
                try:
                    rows += bench_backend(args, "PostgreSQL", url, work)
                finally:
                    drop_schema(schema)
    print(f"\nload average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| backend    | scenario   |    req/s | p50 ms | p99 ms |")
    print("|------------|------------|----------|--------|--------|")
    for row in rows:
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
