"""A month-end peak hour through the real server: every request kind alone, then the mix.

    python bench/monthend.py [--seconds 6] [--connections 16] [--bills 20000]
                             [--no-sqlite] [--no-pg] [--pg URL] [--json FILE]

Starts ``qrpay serve --workers 2`` (with its SMS and chat senders) on loopback with the
BREB sample profile (bKash and Rocket biller-API dialects switched on, WhatsApp pointed at
a fake Graph API), on a fresh SQLite file and then on a fresh schema of the PostgreSQL
database ``monthend_bench`` (``createdb -h 127.0.0.1 -U postgres monthend_bench``), loads
synthetic Palli Bidyut bills, logs one cashier in per connection, and drives it from
another process with an asyncio client over raw keep-alive sockets.  Kinds (one
"operation" each):

* ``page``: ``GET /b/{bill_no}?t=...``, the bill page the e-bill's link opens;
* ``scan``: ``POST /api/v1/scan`` with the bill's Bangla QR payload (API key);
* ``callback``: ``POST /api/v1/callbacks/bkash``, a signed QR payment of 100.00;
* ``bkash_inquiry`` / ``bkash_payment``: ``queryBill`` / ``payBill`` (bKash dialect);
* ``rocket_inquiry`` / ``rocket_payment``: ``validation`` / ``confirmation`` (Rocket);
* ``whatsapp``: one signed webhook, senders walking hi, 1, 1, account, 1 (pay);
* ``ussd``: one Africa's Talking hop, sessions walking the same five screens;
* ``desk``: a logged-in cashier's ``POST /desk/scan`` of the bill's QR then
  ``POST /desk/collect`` of 100.00 cash, both with the CSRF token (two requests).

Each kind runs ``--seconds`` alone, then the mix (:data:`MIX`: requests per 100 payments
of BREB's month-end peak hour, derived in docs/scaling.md) runs ``--seconds``.  For every
phase: operations/s, p50 and p99 latency, errors; the CPU the server's processes used
(utime + stime of every process in its session, from ``/proc``) and the CPU of the
PostgreSQL backends connected to the bench database, both per operation; and payments
posted in the database against payment requests acknowledged.  CPU is read after the
outbox (SMS, WhatsApp replies) has drained, so a notice's sending is charged to the kind
that queued it, less what the idle server and its idle backends use in the same time.
At the end: bytes per row of the tables a payment writes, measured in the bench
database.  A full run (two backends, 11 phases each, 6 s) takes 4-5 minutes; then the
capacity model of docs/scaling.md (:mod:`bench.capacity`) is printed from its figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402

from bench import biller as biller_bench  # noqa: E402
from bench import capacity  # noqa: E402
from bench.chat import APP_SECRET, FAKE_GRAPH, ussd_request, webhook_request  # noqa: E402
from bench.chat import start as start_process  # noqa: E402
from bench.serve import (  # noqa: E402
    Request,
    _raw,
    callback_request,
    load_bills,
    page_requests,
    scan_requests,
    stop_server,
)
from qrpay.apikeys import create_key  # noqa: E402
from qrpay.bills import Bill  # noqa: E402
from qrpay.config import load_config  # noqa: E402
from qrpay.desk.staff import add_staff  # noqa: E402
from qrpay.payload import bill_payload  # noqa: E402
from qrpay.store import open_store  # noqa: E402
from qrpay.store.schema import outbox as outbox_t  # noqa: E402
from qrpay.store.schema import payments as payments_t  # noqa: E402

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/monthend_bench"
BILLER = "dhaka-pbs-1"
PNID = "106540352242923"  # dhaka-pbs-1's WhatsApp number in samples/breb.toml
USSD_CODE = "*384*2#"  # dhaka-pbs-1's USSD code in samples/breb.toml
AMOUNT = biller_bench.AMOUNT  # 90,000.00 per bill: room for many part payments of 100.00
DESK_PASSWORD = "monthend-desk-pass-1"
ROCKET_PASSWORD = "rocket-bench-pass-1"
SECRETS = {**biller_bench.SECRETS, "QRPAY_CHANNEL_PASSWORD_ROCKET": ROCKET_PASSWORD,
           "QRPAY_WHATSAPP_APP_SECRET": APP_SECRET, "QRPAY_WHATSAPP_TOKEN": "bench",
           "QRPAY_WHATSAPP_VERIFY_TOKEN": "bench"}

#: Requests of each kind per 100 payments in BREB's month-end peak hour (docs/scaling.md,
#: "The month-end mix"): most consumers pay from a wallet (bKash, then Rocket), the app
#: asks for the bill before it pays; some scan the bill's QR in the wallet; one in five
#: pays at a PBS counter; bill links, agents' scans, USSD and WhatsApp look bills up.
MIX: dict[str, float] = capacity.BREB_MIX
KINDS = tuple(MIX)
PAYING = ("callback", "bkash_payment", "rocket_payment", "desk")
CHAT_STEPS = 5  # hi, 1 (pay bill), 1 (by account), the account, 1 (pay): see chat flows


# ------------------------------------------------------------------------- test data

def make_bills(n: int) -> list[Bill]:
    import datetime as dt

    due = dt.date.today() + dt.timedelta(days=20)
    return [Bill(bill_no="2611" + a, biller=BILLER, account_no=a, name="রহিমা মিয়া",
                 period="2026-11", amount=AMOUNT, due_date=due, late_amount=AMOUNT * 21 // 20,
                 mobile="+8801717784483", units=250, address="গ্রাম: কালিয়াকৈর, গাজীপুর")
            for a in biller_bench.accounts(n)]


def bench_profile(work: Path, graph_port: int) -> Path:
    """samples/breb.toml with Rocket's biller API on, WhatsApp at the fake Graph API and
    the rate limits above what one loopback client sends (they still count every hit)."""
    raw = (ROOT / "samples" / "breb.toml").read_text(encoding="utf-8")
    swaps = {
        'display_name = "Rocket (DBBL)"':
            'display_name = "Rocket (DBBL)"\nbiller_api = "rocket"\nusername = "rocket"',
        'graph_base_url = "https://graph.facebook.com/v21.0"':
            f'graph_base_url = "http://127.0.0.1:{graph_port}/v21.0"',
        "rate_per_second = 80": "rate_per_second = 100000",
    }
    for old, new in swaps.items():
        assert old in raw, f"samples/breb.toml no longer has {old!r}"
        raw = raw.replace(old, new)
    assert PNID in raw and USSD_CODE in raw
    raw += "\n[rate_limits]\npublic_per_minute = 100000000\napi_per_minute = 100000000\n"
    path = work / "monthend.toml"
    path.write_text(raw, encoding="utf-8")
    return path


@dataclass
class Plan:
    """What the load generator sends: prebuilt pages and scans, and the makers of the
    requests that must be new each time (payments, chat turns, desk collects)."""

    bills: list[Bill]
    pages: list[Request]
    scans: list[Request]
    payloads: list[str]  # the bills' QR payloads, for the desk's scanner
    desks: list[tuple[str, str]] = field(default_factory=list)  # (cookie, csrf) per cashier


@dataclass
class Conn:
    """One client connection's own counters and conversations (so a chat session's turns
    go in order: the connection waits for each answer before the next)."""

    phase: int
    index: int
    n: int = 0
    wa: tuple[int, int] = (0, 0)  # (conversation, step)
    ussd: tuple[int, int] = (0, 0)
    ussd_text: str = ""

    def serial(self) -> str:
        self.n += 1
        return f"{self.phase:02d}{self.index:03d}{self.n:07d}"


def _form(path: str, fields: dict[str, str], headers: tuple[tuple[str, str], ...] = ()
          ) -> Request:
    return Request("POST", path, (("Content-Type", "application/x-www-form-urlencoded"),
                                  *headers), urllib.parse.urlencode(fields).encode())


def _rocket(op: str, body: dict[str, str]) -> Request:
    import base64

    auth = base64.b64encode(f"rocket:{ROCKET_PASSWORD}".encode()).decode()
    return Request("POST", f"/api/v1/biller/rocket/{op}",
                   (("Content-Type", "application/json"), ("Authorization", f"Basic {auth}")),
                   json.dumps(body).encode())


def _chat_text(step: int, account: str) -> str:
    return ("hi", "1", "1", account, "1")[step]


def _whatsapp(plan: Plan, c: Conn) -> list[Request]:
    conv, step = c.wa
    account = plan.bills[(c.index * 7919 + conv) % len(plan.bills)].account_no
    sender = f"88018{c.phase:02d}{c.index:02d}{conv % 10000:04d}"
    c.wa = (conv + 1, 0) if step == CHAT_STEPS - 1 else (conv, step + 1)
    return [webhook_request(sender, f"wamid.M{c.phase}.{c.index}.{conv}.{step}",
                            _chat_text(step, account), pnid=PNID)]


def _ussd(plan: Plan, c: Conn) -> list[Request]:
    conv, step = c.ussd
    account = plan.bills[(c.index * 7919 + conv) % len(plan.bills)].account_no
    c.ussd_text = "" if step == 0 else (
        "1" if step == 1 else f"{c.ussd_text}*{_chat_text(step, account)}")
    req = ussd_request(f"M{c.phase}-{c.index}-{conv}",
                       f"+88019{c.phase:02d}{c.index:02d}{conv % 10000:04d}", c.ussd_text,
                       USSD_CODE)
    c.ussd = (conv + 1, 0) if step == CHAT_STEPS - 1 else (conv, step + 1)
    return [req]


def _desk(plan: Plan, c: Conn) -> list[Request]:
    cookie, csrf = plan.desks[c.index % len(plan.desks)]
    i = random.randrange(len(plan.bills))
    hdrs = (("Cookie", cookie),)
    scan = _form("/desk/scan", {"csrf": csrf, "payload": plan.payloads[i]}, hdrs)
    collect = _form("/desk/collect", {
        "csrf": csrf, "bill_no": plan.bills[i].bill_no, "txn_id": f"Dmonthend{c.serial()}",
        "amount": "100.00", "mode": "cash", "reference": ""}, hdrs)
    return [scan, collect]


def make_requests(plan: Plan, kind: str, c: Conn) -> list[Request]:
    bill = plan.bills[random.randrange(len(plan.bills))]
    if kind == "page":
        return [random.choice(plan.pages)]
    if kind == "scan":
        return [random.choice(plan.scans)]
    if kind == "callback":
        return [callback_request(bill.bill_no, f"MC{c.serial()}", c.n, b"x",
                                 channel="bkash", currency="BDT")]
    if kind == "bkash_inquiry":
        return [_form("/api/v1/biller/bkash/queryBill", {
            "UserName": "bkash", "Password": biller_bench.PASSWORD, "AccNo": bill.account_no})]
    if kind == "bkash_payment":
        return [_form("/api/v1/biller/bkash/payBill", {
            "UserName": "bkash", "Password": biller_bench.PASSWORD, "AccNo": bill.account_no,
            "Amount": "100.00", "TrxId": f"MB{c.serial()}", "UserMobileNumber": "01711000000"})]
    if kind == "rocket_inquiry":
        return [_rocket("validation", {"refNo1": bill.account_no})]
    if kind == "rocket_payment":
        return [_rocket("confirmation", {"txnId": f"9{c.serial()}", "refNo1": bill.bill_no,
                                         "amount": "100.00",
                                         "txnDate": "2026-12-01 10:15:00"})]
    if kind == "whatsapp":
        return _whatsapp(plan, c)
    if kind == "ussd":
        return _ussd(plan, c)
    if kind == "desk":
        return _desk(plan, c)
    raise ValueError(kind)


def answered_ok(kind: str, step: int, status: int, headers: bytes, body: bytes) -> bool:
    """Whether one answer is the success the kind expects (a payment: acknowledged)."""
    if kind == "desk" and step == 1:
        return status == 303 and b"location: /desk/receipt/" in headers.lower()
    if status != 200:
        return False
    if kind in ("bkash_inquiry", "bkash_payment"):
        return json.loads(body).get("ErrorCode") == "200"  # type: ignore[no-any-return]
    if kind == "rocket_payment":
        return json.loads(body).get("status") == "success"  # type: ignore[no-any-return]
    if kind == "whatsapp":
        return json.loads(body).get("answered") == 1  # type: ignore[no-any-return]
    if kind == "ussd":
        return body.startswith((b"CON ", b"END "))
    return True


# ------------------------------------------------------------------ the load generator

@dataclass
class KindStats:
    ops: int = 0
    requests: int = 0
    errors: int = 0
    lat: list[float] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)  # the first few bad answers


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, head, await reader.readexactly(length) if length else b""


async def _connection(port: int, plan: Plan, pick: Callable[[], str], c: Conn,
                      stop_at: float, stats: dict[str, KindStats]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    while time.perf_counter() < stop_at:
        kind = pick()
        st = stats[kind]
        t0 = time.perf_counter()
        ok = True
        for step, req in enumerate(make_requests(plan, kind, c)):
            st.requests += 1
            writer.write(_raw(req))
            try:
                status, head, body = await _read_answer(reader)
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                status, head, body = 0, b"", repr(exc).encode()
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            if not answered_ok(kind, step, status, head, body):
                ok = False
                if len(st.samples) < 3:
                    st.samples.append(f"{status} {body[:200]!r}")
                break
        st.lat.append(time.perf_counter() - t0)
        st.ops += 1
        st.errors += not ok
    writer.close()


def _picker(kinds: dict[str, float]) -> Callable[[], str]:
    names, weights = list(kinds), list(kinds.values())
    if len(names) == 1:
        return lambda: names[0]
    return lambda: random.choices(names, weights)[0]


def _pct(lat: list[float], q: float) -> float:
    return lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else 0.0


def _load(port: int, plan: Plan, kinds: dict[str, float], phase: int, seconds: float,
          connections: int, label: str, out: Any) -> None:
    stats = {k: KindStats() for k in kinds}
    pick = _picker(kinds)

    async def progress(start: float) -> None:
        while True:
            await asyncio.sleep(1.0)
            done = sum(s.ops for s in stats.values())
            sys.stderr.write(f"\r  {label}: {time.perf_counter() - start:4.0f}/{seconds:g} s"
                             f"  {done:,} ops ")
            sys.stderr.flush()

    async def main() -> float:
        start = time.perf_counter()
        ticker = asyncio.create_task(progress(start)) if sys.stderr.isatty() else None
        await asyncio.gather(*(_connection(port, plan, pick, Conn(phase, i), start + seconds,
                                           stats) for i in range(connections)))
        if ticker:
            ticker.cancel()
            sys.stderr.write("\r" + " " * 60 + "\r")
        return time.perf_counter() - start

    elapsed = asyncio.run(main())
    result = {}
    every: list[float] = []
    for k, s in stats.items():
        s.lat.sort()
        every += s.lat
        result[k] = {"ops": s.ops, "requests": s.requests, "errors": s.errors,
                     "p50_ms": _pct(s.lat, 0.5), "p99_ms": _pct(s.lat, 0.99),
                     "samples": s.samples}
    every.sort()
    out.put((elapsed, result, _pct(every, 0.5), _pct(every, 0.99)))


def run_load(port: int, plan: Plan, kinds: dict[str, float], phase: int, seconds: float,
             connections: int, label: str
             ) -> tuple[float, dict[str, dict[str, Any]], float, float]:
    """(seconds, figures per kind, p50 and p99 of every operation)."""
    ctx = mp.get_context("fork")  # the plan (bills, sessions) goes over by fork, unpickled
    q: Any = ctx.Queue()
    p = ctx.Process(target=_load, args=(port, plan, kinds, phase, seconds, connections,
                                        label, q))
    p.start()
    result = q.get(timeout=seconds + 120)
    p.join()
    return result  # type: ignore[no-any-return]


# ------------------------------------------------------------------------ CPU from /proc

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()


CpuSnapshot = dict[int, int]  # pid -> utime + stime, in clock ticks


def session_cpu(sid: int) -> CpuSnapshot:
    """CPU ticks (utime + stime) of every live process in session ``sid``."""
    out = {}
    for entry in os.listdir("/proc"):
        f = _stat(entry) if entry.isdigit() else None
        if f and int(f[3]) == sid:  # field 6 of stat: the session id
            out[int(entry)] = int(f[11]) + int(f[12])
    return out


def postgres_cpu(dbname: str | None) -> CpuSnapshot:
    """CPU ticks of the PostgreSQL backends connected to ``dbname`` (their process title
    is ``postgres: [cluster: ]user database host(port) state``)."""
    out: CpuSnapshot = {}
    for entry in os.listdir("/proc") if dbname else ():
        if not entry.isdigit():
            continue
        try:
            title = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, UnicodeDecodeError):
            continue
        words = title.split()
        if words[:1] == ["postgres:"] and dbname in words[1:4]:
            f = _stat(entry)
            if f:
                out[int(entry)] = int(f[11]) + int(f[12])
    return out


def cpu_used(before: CpuSnapshot, after: CpuSnapshot) -> float:
    """CPU seconds between two snapshots: what each process still alive used since the
    first (all of it for a process started in between).  A process that ended in between
    (a pooled connection closed) is left out: a small undercount, never a negative."""
    return sum(t - before.get(pid, 0) for pid, t in after.items()) / TICK


# ------------------------------------------------------------------------ one backend

@dataclass
class Backend:
    label: str
    url: str
    dbname: str | None  # PostgreSQL database whose backends are counted
    schema: str | None = None


def count_rows(engine: Any, table: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where))
                   .scalar_one())


def wait_drained(engine: Any, limit: float = 60.0) -> float:
    """Wait until no outbox row is pending or being sent; the seconds it took."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if not count_rows(engine, outbox_t, outbox_t.c.status.in_(("pending", "sending"))):
            break
        time.sleep(0.2)
    time.sleep(0.3)  # the biller journal's batching writer
    return time.monotonic() - t0


def desk_logins(port: int, n: int) -> list[tuple[str, str]]:
    out = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        for i in range(n):
            client.cookies.clear()
            page = client.get("/desk/login").text
            r = client.post("/desk/login", data={"username": f"cashier{i:02d}",
                                                 "password": DESK_PASSWORD,
                                                 "csrf": _csrf(page)})
            assert r.status_code == 303, r.text[:300]
            cookie = f"qrpay_desk={client.cookies['qrpay_desk']}"
            out.append((cookie, _csrf(client.get("/desk").text)))
    return out


def _csrf(html: str) -> str:
    import re

    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the desk page"
    return found.group(1)


def prepare(backend: Backend, args: argparse.Namespace, config: Any) -> Plan:
    bills = make_bills(args.bills)
    load_bills(backend.url, bills)
    store = open_store(backend.url)
    key = create_key(store, "monthend")[1]
    with store.begin() as conn:
        for i in range(args.connections):
            add_staff(conn, f"cashier{i:02d}", DESK_PASSWORD, role="cashier", biller=BILLER,
                      counter=f"C{i:02d}")
    store.dispose()
    sample = bills[: min(len(bills), 5000)]
    biller = config.biller(BILLER)
    return Plan(bills=bills, pages=page_requests(sample, config, BILLER),
                scans=scan_requests(sample, config, key, BILLER),
                payloads=[bill_payload(b, biller, config) for b in bills])


def idle_cpu(backend: Backend, sid: int, seconds: float = 4.0) -> tuple[float, float]:
    """CPU seconds per second of the idle server (its sender threads polling the outbox)
    and of its idle PostgreSQL backends: taken off each phase, so an operation is charged
    only what it adds."""
    app0, pg0 = session_cpu(sid), postgres_cpu(backend.dbname)
    time.sleep(seconds)
    pg = cpu_used(pg0, postgres_cpu(backend.dbname))
    return cpu_used(app0, session_cpu(sid)) / seconds, pg / seconds


def phase_row(backend: Backend, engine: Any, sid: int, port: int, plan: Plan,
              kinds: dict[str, float], phase: int, args: argparse.Namespace,
              name: str, idle: tuple[float, float]) -> dict[str, Any]:
    success = payments_t.c.status == "success"
    before_pay = count_rows(engine, payments_t, success)
    rows0 = table_rows(engine)
    wall0 = time.monotonic()
    app0, pg0 = session_cpu(sid), postgres_cpu(backend.dbname)
    elapsed, kinds_out, p50, p99 = run_load(port, plan, kinds, phase, args.seconds,
                                            args.connections, f"[{backend.label}] {name}")
    drain = wait_drained(engine)
    app = cpu_used(app0, session_cpu(sid))
    pg = cpu_used(pg0, postgres_cpu(backend.dbname))
    wall = time.monotonic() - wall0
    posted = count_rows(engine, payments_t, success) - before_pay
    rows = {t: n - rows0[t] for t, n in table_rows(engine).items()}
    ops = sum(k["ops"] for k in kinds_out.values())
    acked = sum(k["ops"] - k["errors"] for n, k in kinds_out.items() if n in PAYING)
    return {"phase": name, "seconds": elapsed, "drain_seconds": drain, "ops": ops,
            "requests": sum(k["requests"] for k in kinds_out.values()),
            "p50_ms": p50, "p99_ms": p99, "errors": sum(k["errors"] for k in kinds_out.values()),
            "wall_seconds": wall, "app_cpu_s": max(0.0, app - idle[0] * wall),
            "pg_cpu_s": max(0.0, pg - idle[1] * wall), "app_cpu_gross_s": app,
            "pg_cpu_gross_s": pg, "payments_posted": posted,
            "payments_acked": acked, "rows_written": rows, "kinds": kinds_out}


def bench_backend(backend: Backend, args: argparse.Namespace, work: Path, graph_port: int
                  ) -> dict[str, Any]:
    os.environ.update(SECRETS)
    profile = bench_profile(work, graph_port)
    config = load_config(profile)
    t0 = time.perf_counter()
    open_store(backend.url, upgrade=True).dispose()
    plan = prepare(backend, args, config)
    print(f"[{backend.label}] {args.bills:,} bills, {args.connections} cashiers in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)
    env = dict(os.environ, QRPAY_DATABASE_URL=backend.url, **SECRETS)
    env.pop("QRPAY_SECRETS_FILE", None)
    cmd = [sys.executable, "-m", "qrpay", "--config", str(profile), "serve", "--host",
           "127.0.0.1", "--port", str(args.port), "--workers", str(args.workers),
           "--log-level", "warning"]
    server = start_process(cmd, env, work / f"serve-{backend.label}.log", args.port,
                           args.workers)
    engine = create_engine(backend.url)
    phases = []
    try:
        plan.desks = desk_logins(args.port, args.connections)
        run_load(args.port, plan, MIX, 0, min(2.0, args.seconds), args.connections,
                 f"[{backend.label}] warm-up")
        wait_drained(engine)
        idle = idle_cpu(backend, server.pid)
        print(f"[{backend.label}] idle server: app {idle[0] * 1000:.1f} ms/s, PostgreSQL "
              f"{idle[1] * 1000:.1f} ms/s (taken off every phase)", flush=True)
        todo: list[tuple[str, dict[str, float]]] = [(k, {k: 1.0}) for k in args.kinds]
        todo.append(("mix", MIX))
        for i, (name, kinds) in enumerate(todo, start=1):
            row = phase_row(backend, engine, server.pid, args.port, plan, kinds, i, args,
                            name, idle)
            phases.append(row)
            print(f"[{backend.label}] {i:2d}/{len(todo)} {_line(name, row, row)}", flush=True)
        storage = table_bytes(engine, backend)
    finally:
        engine.dispose()
        stop_server(server)
    return {"backend": backend.label, "phases": phases, "storage": storage,
            "idle_cpu_per_s": {"app": idle[0], "pg": idle[1]}}


# ------------------------------------------------------------------------ storage

TABLES = ("bills", "payments", "ledger", "outbox", "channel_requests", "callbacks", "audit",
          "chat_sessions", "chat_inbound")


def table_rows(engine: Any) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
                for t in TABLES}


def table_bytes(engine: Any, backend: Backend) -> dict[str, dict[str, int]]:
    """Rows and bytes (heap, TOAST and indexes) of the tables a payment or turn writes."""
    out = {}
    with engine.connect() as conn:
        if backend.dbname:
            for t in TABLES:
                rows, size = conn.execute(text(
                    f"SELECT count(*), pg_total_relation_size('{t}') FROM {t}")).one()
                out[t] = {"rows": int(rows), "bytes": int(size)}
            return out
        sizes: dict[str, int] = {}
        for _name, tbl, size in conn.execute(text(
                "SELECT m.name, m.tbl_name, sum(d.pgsize) FROM dbstat d JOIN sqlite_master m "
                "ON m.name = d.name GROUP BY m.name")):
            sizes[tbl] = sizes.get(tbl, 0) + int(size)
        for t in TABLES:
            rows = conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            out[t] = {"rows": int(rows), "bytes": sizes.get(t, 0)}
    return out


# ------------------------------------------------------------------------ report

def _ms(cpu_s: float, ops: int) -> float:
    return cpu_s * 1000 / ops if ops else 0.0


def _line(name: str, k: dict[str, Any], row: dict[str, Any]) -> str:
    """One table row: ``k`` the kind's figures, ``row`` its phase (for the CPU)."""
    ops = k["ops"]
    rate = ops / row["seconds"] if row["seconds"] else 0.0
    cpu = (f"{_ms(row['app_cpu_s'], row['ops']):7.2f} | {_ms(row['pg_cpu_s'], row['ops']):6.2f}"
           if k is row or len(row["kinds"]) == 1 else "        |       ")
    p50, p99 = k["p50_ms"], k["p99_ms"]
    return (f"| {name:<15} | {ops:7,} | {rate:7,.0f} | {p50:6.1f} | {p99:7.1f} | "
            f"{k['errors']:4} | {cpu} |")


HEAD = ("| kind            |     ops |   ops/s | p50 ms |  p99 ms | errs | app CPU | PG CPU |\n"
        "|                 |         |         |        |         |      |   ms/op |  ms/op |\n"
        "|-----------------|---------|---------|--------|---------|------|---------|--------|")


def report(result: dict[str, Any]) -> str:
    lines = [f"### {result['backend']}", "", "Alone (each kind by itself):", "", HEAD]
    alone = {r["phase"]: r for r in result["phases"] if r["phase"] != "mix"}
    for name, row in alone.items():
        lines.append(_line(name, row["kinds"][name], row))
    mix = next((r for r in result["phases"] if r["phase"] == "mix"), None)
    if mix:
        lines += ["", "Mix (BREB month-end peak hour):", "", HEAD]
        for name, k in mix["kinds"].items():
            lines.append(_line(name, k, mix))
        lines.append(_line("all", mix, mix))
        predicted = sum(k["ops"] * _ms(alone[n]["app_cpu_s"], alone[n]["ops"])
                        for n, k in mix["kinds"].items() if n in alone)
        if predicted and mix["ops"]:
            lines.append(f"\nmix app CPU {_ms(mix['app_cpu_s'], mix['ops']):.2f} ms/op "
                         f"measured, {predicted / mix['ops']:.2f} ms/op from the kinds alone")
    posted = sum(r["payments_posted"] for r in result["phases"])
    acked = sum(r["payments_acked"] for r in result["phases"])
    lines.append(f"payments acknowledged {acked:,}, posted {posted:,}")
    lines += ["", "Bytes per row (heap + indexes + TOAST):", "",
              "| table            |    rows | bytes/row |", "|---|---|---|"]
    for t, s in result["storage"].items():
        per = s["bytes"] / s["rows"] if s["rows"] else 0
        lines.append(f"| {t:<16} | {s['rows']:7,} | {per:9,.0f} |")
    return "\n".join(lines)


def bad_answers(result: dict[str, Any]) -> list[str]:
    return [f"{result['backend']} {r['phase']} {n}: {s}" for r in result["phases"]
            for n, k in r["kinds"].items() for s in k["samples"]]


# ------------------------------------------------------------------------ main

def pg_backend(base: str) -> Backend | None:
    schema = "monthend_" + uuid.uuid4().hex[:8]
    try:
        engine = create_engine(base, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
            dbname = str(conn.execute(text("SELECT current_database()")).scalar_one())
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure: no PostgreSQL here
        print(f"PostgreSQL not reachable at {base}: {exc.__class__.__name__}; skipping it")
        return None
    sep = "&" if "?" in base else "?"
    return Backend("PostgreSQL", f"{base}{sep}options=-csearch_path%3D{schema}", dbname,
                   schema)


def drop_schema(base: str, schema: str) -> None:
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()


def backends(args: argparse.Namespace, work: Path) -> Iterator[Backend]:
    if not args.no_sqlite:
        yield Backend("SQLite", f"sqlite:///{work / 'monthend.db'}", None)
    if not args.no_pg:
        b = pg_backend(args.pg)
        if b:
            try:
                yield b
            finally:
                if not args.keep:
                    drop_schema(args.pg, str(b.schema))


def make_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=6.0, help="seconds per phase")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--bills", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--port", type=int, default=8800, help="server port (monthend: 8800-8819)")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--pg", default=os.environ.get("QRPAY_BENCH_PG_URL", PG_DEFAULT),
                    help="PostgreSQL database (a fresh schema is made in it and dropped)")
    ap.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema")
    ap.add_argument("--kinds", default=",".join(KINDS),
                    help="kinds to run alone before the mix (comma-separated)")
    ap.add_argument("--json", type=Path, help="write every figure to this file")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    args.kinds = [k for k in args.kinds.split(",") if k]
    unknown = set(args.kinds) - set(KINDS)
    if unknown:
        raise SystemExit(f"unknown kinds: {', '.join(sorted(unknown))}")
    load = os.getloadavg()
    print(f"qrpay serve --workers {args.workers} (BREB profile); {args.connections} "
          f"connections; {args.seconds:g} s per phase; {os.cpu_count()} CPUs; load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="qrpay-monthend-") as tmp:
        work = Path(tmp)
        graph_port = args.port + 1
        graph_py = work / "graph.py"
        graph_py.write_text(FAKE_GRAPH)
        graph = start_process([sys.executable, str(graph_py), str(graph_port)], dict(os.environ),
                              work / "graph.log", graph_port, 1)
        try:
            for backend in backends(args, work):
                results.append(bench_backend(backend, args, work, graph_port))
        finally:
            stop_server(graph)
    load_end = os.getloadavg()
    print()
    for result in results:
        print(report(result))
        print()
    for bad in (b for r in results for b in bad_answers(r)):
        print("bad answer:", bad)
    if results:
        print(capacity.report(capacity.pick({"results": results}, "PostgreSQL")))
        print()
    print(f"load average at the end {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}")
    if args.json:
        args.json.write_text(json.dumps({
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "load_start": load, "load_end": load_end, "cpus": os.cpu_count(),
            "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
