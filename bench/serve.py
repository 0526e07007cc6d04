"""Scan-to-pay service under load: bill pages, scan resolves and verified callbacks.

    python bench/serve.py [--bills 20000] [--duration 8] [--connections 32] [--workers 2]
                          [--no-pg] [--loadgen auto|wrk|python]

Starts the real server (``qrpay serve --workers N --no-sender``) on loopback against a
fresh SQLite file and a fresh PostgreSQL schema, loads synthetic BEST bills, and drives it
with a load generator in another process: ``wrk`` (Debian package ``wrk``) when present,
else a raw-socket asyncio client.  For each scenario it prints requests/s, p50 and p99
latency; for callbacks it also counts the payments actually posted in the database.

* bill page: ``GET /b/{bill_no}?t=...`` over random bills (token check, one bill query,
  the ledger status, the Jinja page);
* scan: ``POST /api/v1/scan`` with random bill QR payloads (API key, offline verdict,
  bill and status);
* callbacks: ``POST /api/v1/callbacks/upi``, each a new transaction id signed with the
  channel secret (verified on raw bytes, stored, posted exactly once, SMS queued).

Bounded: every scenario runs ``--duration`` seconds after a short warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import hashlib
import hmac
import json
import multiprocessing as mp
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402

from qrpay.apikeys import create_key  # noqa: E402
from qrpay.bills import Bill  # noqa: E402
from qrpay.config import load_config  # noqa: E402
from qrpay.payload import bill_payload, bill_url  # noqa: E402
from qrpay.store import open_store, utcnow  # noqa: E402
from qrpay.store.schema import bills as bills_t  # noqa: E402
from qrpay.store.schema import ledger as ledger_t  # noqa: E402
from qrpay.store.schema import payments as payments_t  # noqa: E402

PG = os.environ.get("QRPAY_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PROFILE = ROOT / "samples" / "best.toml"
# every secret the BEST profile names: `qrpay serve` refuses to start without them
SECRETS = {"QRPAY_TOKEN_KEY_K1": secrets.token_hex(32),
           "QRPAY_SECRET_UPI": secrets.token_hex(24),
           "QRPAY_SECRET_RAZORPAY": secrets.token_hex(24),
           "QRPAY_SECRET_PHONEPE": secrets.token_hex(24),
           "QRPAY_SESSION_KEY": secrets.token_hex(32),
           # the profile's chat channels (qrpay serve refuses to start without them)
           "QRPAY_WHATSAPP_APP_SECRET": "bench", "QRPAY_WHATSAPP_VERIFY_TOKEN": "bench",
           "QRPAY_WHATSAPP_TOKEN": "bench"}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


@dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


# ------------------------------------------------------------------------- test data

def make_bills(n: int) -> list[Bill]:
    rng = random.Random(7)
    due = time.gmtime(time.time() + 20 * 86400)
    import datetime as dt

    due_date = dt.date(due.tm_year, due.tm_mon, due.tm_mday)
    out = []
    for i in range(n):
        amount = rng.randrange(10_000, 900_000)
        out.append(Bill(bill_no=f"B2611{i:09d}", biller="best", account_no=f"{i:09d}",
                        name="ज्ञानेश्वर देशपांडे", period="2026-11", amount=amount,
                        due_date=due_date, late_amount=amount + amount // 80,
                        mobile="919812345678", units=rng.randrange(50, 900),
                        address="203, दादर पश्चिम, मुंबई"))
    return out


def load_bills(url: str, bills: list[Bill]) -> None:
    store = open_store(url, upgrade=True)
    now = utcnow()
    with store.begin() as conn:
        for start in range(0, len(bills), 5000):
            chunk = bills[start:start + 5000]
            conn.execute(insert(bills_t), [{
                "bill_no": b.bill_no, "biller": b.biller, "account_no": b.account_no,
                "name": b.name, "period": b.period, "amount": b.amount,
                "due_date": b.due_date, "late_amount": b.late_amount, "arrears": 0,
                "mobile": b.mobile, "units": b.units, "address": b.address,
                "history": "[]", "charges": "[]", "content_hash": "x" * 64,
                "created_at": now, "updated_at": now} for b in chunk])
            conn.execute(insert(ledger_t), [{
                "biller": b.biller, "account_no": b.account_no, "bill_no": b.bill_no,
                "kind": "charge", "amount": b.amount, "created_at": now} for b in chunk])
    store.dispose()


def page_requests(bills: list[Bill], config: Any, biller_code: str = "best") -> list[Request]:
    biller = config.biller(biller_code)
    out = []
    for b in bills:
        parts = urllib.parse.urlsplit(bill_url(b, biller, config, b.amount))
        out.append(Request("GET", f"{parts.path}?{parts.query}"))
    return out


def scan_requests(bills: list[Bill], config: Any, key: str,
                  biller_code: str = "best") -> list[Request]:
    biller = config.biller(biller_code)
    hdrs = (("Authorization", f"Bearer {key}"), ("Content-Type", "application/json"))
    return [Request("POST", "/api/v1/scan", hdrs,
                    json.dumps({"payload": bill_payload(b, biller, config)}).encode())
            for b in bills]


def callback_request(bill_no: str, txn: str, serial: int, secret: bytes, *,
                     channel: str = "upi", currency: str = "INR", t: int | None = None
                     ) -> Request:
    """One generic-adapter callback paying 100.00 of ``bill_no``, signed with ``secret``."""
    t = int(time.time()) if t is None else t
    body = json.dumps({"event_id": f"e{txn}", "txn_id": txn, "bill_no": bill_no,
                       "amount": "100.00", "currency": currency, "status": "success",
                       "paid_at": "2026-11-20T10:15:00+05:30", "payer": "x@okaxis",
                       "utr": f"{serial:012d}"}).encode()
    mac = hmac.new(secret, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return Request("POST", f"/api/v1/callbacks/{channel}",
                   (("Content-Type", "application/json"),
                    ("X-Qrpay-Signature", f"t={t},v1={mac}")), body)


def callback_requests(bills: list[Bill], n: int, tag: str) -> list[Request]:
    rng = random.Random(tag)
    secret = SECRETS["QRPAY_SECRET_UPI"].encode()
    t = int(time.time())
    return [callback_request(bills[rng.randrange(len(bills))].bill_no, f"{tag}{i:08d}", i,
                             secret, t=t) for i in range(n)]


# ----------------------------------------------------------------------------- server

def hello_baseline(args: argparse.Namespace, work: Path) -> str:
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "bench.serve:starlette_hello", "--host",
           "127.0.0.1", "--port", str(port), "--workers", str(args.workers),
           "--log-level", "warning", "--no-access-log", "--app-dir", str(ROOT)]
    proc = subprocess.Popen(cmd, stdout=(work / "hello.log").open("wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_port(proc, port, work / "hello.log", args.workers, path="/")
        reqs = [Request("GET", "/")]
        drive(args, port, reqs, work, "hello_warm", min(2.0, args.duration))
        r = drive(args, port, reqs, work, "hello", args.duration)
    finally:
        stop_server(proc)
    return _row("(none)", "hello world", r)


def _starlette_hello() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def hello(request: Any) -> Any:
        return PlainTextResponse("hello")

    return Starlette(routes=[Route("/", hello)])


starlette_hello = _starlette_hello()

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


def _wait_port(proc: subprocess.Popen[bytes], port: int, log: Path, workers: int,
               path: str = "/healthz") -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                          .encode())
                if b" 200 " in s.recv(100):
                    time.sleep(1.0 if workers > 1 else 0)  # let every worker come up
                    return
        except OSError:
            pass
        time.sleep(0.1)
    stop_server(proc)
    raise SystemExit(f"server did not start: {log.read_text()}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# ------------------------------------------------------------------ load: wrk + Lua

def _lua_str(data: str | bytes) -> str:
    text_ = data.decode() if isinstance(data, bytes) else data
    level = "=" * 3
    assert f"]{level}]" not in text_
    return f"[{level}[{text_}]{level}]"


LUA_BLOCK = 4000


def wrk_script(reqs: list[Request], path: Path, *, sequential: bool) -> None:
    """A Lua file for wrk: random (or, for callbacks, each-once) requests from the list."""
    # A Lua function holds at most 2^16 constants: past some 30,000 requests one table
    # literal does not load, and wrk then silently sends its default "GET /" instead.
    # Each block of requests is built by a function of its own.
    lines = ["local reqs = {}"]
    for start in range(0, len(reqs), LUA_BLOCK):
        lines.append("do local function block() return {")
        for r in reqs[start:start + LUA_BLOCK]:
            hdrs = ", ".join(f"[ {_lua_str(k)} ] = {_lua_str(v)}" for k, v in r.headers)
            lines.append(f"  wrk.format({_lua_str(r.method)}, {_lua_str(r.path)}, {{{hdrs}}}, "
                         f"{_lua_str(r.body) if r.body else 'nil'}),")
        lines.append("} end for _, r in ipairs(block()) do reqs[#reqs + 1] = r end end")
    lines.append("local n = 0")
    if sequential:
        lines.append("request = function() n = n + 1; return reqs[((n - 1) % #reqs) + 1] end")
    else:
        lines.append("math.randomseed(os.time())")
        lines.append("request = function() return reqs[math.random(#reqs)] end")
    lines.append("""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end""")
    path.write_text("\n".join(lines), encoding="utf-8")


def run_wrk(port: int, script: Path, duration: float, connections: int) -> Result:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout",
           "5s", "-s", str(script), f"http://127.0.0.1:{port}"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    out = done.stdout
    m = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)", out)
    if not m:  # the script did not load (wrk then sends "GET /"): say why
        raise SystemExit(f"wrk gave no result:\n{out}{done.stderr}")
    n, dur_us, p50, p99, non2xx, errs = map(int, m.groups())
    return Result(n, dur_us / 1e6, p50 / 1000, p99 / 1000, non2xx, errs)


# ------------------------------------------------- load: asyncio raw sockets (fallback)

def _raw(r: Request) -> bytes:
    head = [f"{r.method} {r.path} HTTP/1.1", "Host: 127.0.0.1"]
    head += [f"{k}: {v}" for k, v in r.headers]
    if r.body:
        head.append(f"Content-Length: {len(r.body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + r.body


async def _conn_loop(port: int, raws: list[bytes], stop_at: float, seq: list[int],
                     lat: list[float], stats: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    while time.perf_counter() < stop_at:
        i = seq[0]
        seq[0] += 1
        t0 = time.perf_counter()
        writer.write(raws[i % len(raws)] if seq[1] else random.choice(raws))
        status_line = await reader.readline()
        length = 0
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        lat.append(time.perf_counter() - t0)
        if b" 2" not in status_line[:13]:
            stats[0] += 1
    writer.close()


def _python_load(port: int, reqs: list[Request], duration: float, connections: int,
                 sequential: bool, out: Any) -> None:
    raws = [_raw(r) for r in reqs]
    lat: list[float] = []
    stats = [0]
    seq = [0, 1 if sequential else 0]

    async def main() -> float:
        start = time.perf_counter()
        stop_at = start + duration
        await asyncio.gather(*(_conn_loop(port, raws, stop_at, seq, lat, stats)
                               for _ in range(connections)))
        return time.perf_counter() - start

    seconds = asyncio.run(main())
    lat.sort()
    pick = (lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000) if lat else (
        lambda q: 0.0)
    out.put(Result(len(lat), seconds, pick(0.5), pick(0.99), stats[0], 0))


def run_python(port: int, reqs: list[Request], duration: float, connections: int,
               sequential: bool) -> Result:
    q: Any = mp.Queue()
    p = mp.Process(target=_python_load, args=(port, reqs, duration, connections,
                                              sequential, q))
    p.start()
    result = q.get(timeout=duration + 60)
    p.join()
    return result


# ------------------------------------------------------------------------------ main

def drive(args: argparse.Namespace, port: int, reqs: list[Request], work: Path, name: str,
          duration: float, *, sequential: bool = False) -> Result:
    if args.loadgen == "wrk":
        script = work / f"{name}.lua"
        wrk_script(reqs, script, sequential=sequential)
        return run_wrk(port, script, duration, args.connections)
    return run_python(port, reqs, duration, args.connections, sequential)


def connection_split(port: int) -> str:
    """How the load generator's connections are spread over the server's worker
    processes (the kernel hands each one to whichever worker accepts first; a lopsided
    split leaves one process, one GIL, with most of the work)."""
    try:
        out = subprocess.run(["ss", "-Htnp", "state", "established", f"( sport = :{port} )"],
                             capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    per_pid = collections.Counter(re.findall(r"pid=(\d+)", out))
    return "  connections/worker " + "/".join(str(n) for n in sorted(per_pid.values(),
                                                                       reverse=True))


def count_payments(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(payments_t)
                         .where(payments_t.c.status == "success")).scalar_one()
    engine.dispose()
    return int(n)


def bench_backend(args: argparse.Namespace, label: str, url: str, work: Path) -> list[str]:
    os.environ.update(SECRETS)
    config = load_config(PROFILE)
    bills = make_bills(args.bills)
    t0 = time.perf_counter()
    load_bills(url, bills)
    print(f"[{label}] loaded {len(bills):,} bills in {time.perf_counter() - t0:.1f} s",
          flush=True)
    store = open_store(url)
    key = create_key(store, "bench")[1]
    store.dispose()
    pages = page_requests(bills, config)
    scans = scan_requests(bills[: min(len(bills), 5000)], config, key)
    port = free_port()
    proc = start_server(url, port, args.workers, work / f"server-{label}.log")
    rows = []
    try:
        warm = min(2.0, args.duration)
        for name, reqs in (("bill page", pages), ("scan", scans)):
            if name.split()[-1] not in args.scenarios:
                continue
            drive(args, port, reqs, work, "warm", warm)
            r = drive(args, port, reqs, work, name.replace(" ", "_"), args.duration)
            rows.append(_row(label, name, r))
            print(rows[-1], flush=True)
        if "callbacks" not in args.scenarios:
            return rows
        drive(args, port, callback_requests(bills, 3000, "W"), work, "cbwarm", warm,
              sequential=True)
        before = count_payments(url)
        want = int(args.duration * 3000) + 1000
        split: list[str] = []
        peek = threading.Timer(args.duration * 0.6,
                               lambda: split.append(connection_split(port)))
        peek.start()
        r = drive(args, port, callback_requests(bills, want, "C"), work, "callbacks",
                  args.duration, sequential=True)
        peek.join()
        posted = count_payments(url) - before
        rows.append(_row(label, "callbacks", r, posted=posted) + "".join(split))
        print(rows[-1], flush=True)
    finally:
        stop_server(proc)
    return rows


def _row(label: str, name: str, r: Result, posted: int | None = None) -> str:
    extra = f"  posted {posted / r.seconds:7,.0f}/s" if posted is not None else ""
    bad = f"  non-2xx {r.non_2xx}" if r.non_2xx else ""
    bad += f"  socket errors {r.errors}" if r.errors else ""
    return (f"| {label:<10} | {name:<10} | {r.rps:8,.0f} | {r.p50_ms:6.1f} | "
            f"{r.p99_ms:6.1f} |{extra}{bad}")


def pg_url(schema: str) -> str | None:
    try:
        engine = create_engine(PG, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure: no PostgreSQL here
        print(f"PostgreSQL not reachable at {PG}: {exc.__class__.__name__}; skipping it")
        return None
    sep = "&" if "?" in PG else "?"
    return f"{PG}{sep}options=-csearch_path%3D{schema}"


def drop_schema(schema: str) -> None:
    engine = create_engine(PG, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bills", type=int, default=20_000)
    ap.add_argument("--duration", type=float, default=8.0, help="seconds per scenario")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--scenarios", default="hello,page,scan,callbacks",
                    help="comma-separated: hello (baseline), page, scan, callbacks")
    ap.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    args = ap.parse_args(argv)
    args.scenarios = set(args.scenarios.split(","))
    if args.loadgen == "auto":
        args.loadgen = "wrk" if shutil.which("wrk") else "python"
    print(f"qrpay serve --workers {args.workers}; load: {args.loadgen}, "
          f"{args.connections} connections, {args.duration:g} s per scenario; "
          f"{os.cpu_count()} CPUs; Python {sys.version.split()[0]}")
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="qrpay-bench-") as tmp:
        work = Path(tmp)
        if "hello" in args.scenarios:
            rows.append(hello_baseline(args, work))
            print(rows[-1], flush=True)
        if not args.no_sqlite:
            rows += bench_backend(args, "SQLite", f"sqlite:///{work / 'bench.db'}", work)
        if not args.no_pg:
            schema = "bench_" + uuid.uuid4().hex[:10]
            url = pg_url(schema)
            if url:
                try:
                    rows += bench_backend(args, "PostgreSQL", url, work)
                finally:
                    drop_schema(schema)
    print()
    print("| backend    | scenario   |    req/s | p50 ms | p99 ms |")
    print("|------------|------------|----------|--------|--------|")
    for row in rows:
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
