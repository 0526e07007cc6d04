"""WhatsApp webhook and USSD hops under load, on the real server over loopback.

    python bench/chat.py [--senders 4000] [--duration 8] [--connections 32] [--workers 2]
                         [--port N]  (N and N+1; default: any free ports)
                         [--phases whatsapp,ussd] [--backends sqlite[,pg]] [--pg-url URL]

Starts ``qrpay serve --workers N`` (with its chat sender threads) on a fresh SQLite file
(and, with ``--backends sqlite,pg``, on a fresh schema of the PostgreSQL database
``chat_bench``: ``createdb -h 127.0.0.1 -U postgres chat_bench`` once) loaded with
synthetic BEST bills, a fake Graph API (its own process: a bare asyncio protocol counting
``POST /{phone_number_id}/messages``), and drives it with ``wrk`` and a Lua script:

* whatsapp: signed webhook POSTs, each a new message id, senders walking the pay-bill
  flow (hi, 1, 1, 1, consumer number: menus, then the bill read from the ledger); reported:
  webhooks/s and their p50/p99, and replies the fake Graph API received per second from
  wrk's first request to the last reply ("processed and answered");
* ussd: Africa's Talking hops, sessions walking the same flow (``text`` growing by
  ``*``); hops/s, p50/p99.

Also reported: the server's CPU-seconds per webhook and per hop (user + system time of
every process of ``qrpay serve``, its chat sender threads included, read from ``/proc``
before and after each phase; on PostgreSQL also the bench database's backends), which a
shared machine disturbs far less than throughput; and what the bench itself used (wrk, the
fake Graph API), since it shares the cores with the server.

Goals (issue 12): WhatsApp >= 1,000 messages/s answered, USSD >= 2,000 hops/s, p99 < 100 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from bench.serve import (  # noqa: E402
    Request,
    _wait_port,
    free_port,
    load_bills,
    make_bills,
    run_wrk,
    stop_server,
    wrk_script,
)

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/chat_bench"
APP_SECRET = "bench-app-secret"
PNID = "106540352242922"
# The fake Graph API: a bare asyncio protocol on uvloop with httptools' parser (keep-alive,
# any number of requests per connection), about a tenth of the CPU per reply of the same
# route in starlette + uvicorn, so the bench leaves the cores to the server it measures.
FAKE_GRAPH = textwrap.dedent('''
    import asyncio, sys, httptools, uvloop
    seen = [0]
    class Graph(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport, self.url = transport, b""
            self.parser = httptools.HttpRequestParser(self)
        def data_received(self, data):
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserError:
                self.transport.close()
        def on_url(self, url):
            self.url += url
        def on_message_complete(self):
            url, self.url = self.url, b""
            if self.parser.get_method() == b"POST" and url.endswith(b"/messages"):
                seen[0] += 1
                body = b'{"messages":[{"id":"wamid.B%d"}]}' % seen[0]
                head = b"200 OK\\r\\nContent-Type: application/json"
            elif url == b"/count" or url == b"/healthz":
                body, head = str(seen[0]).encode(), b"200 OK\\r\\nContent-Type: text/plain"
            else:
                body, head = b"not found", b"404 Not Found\\r\\nContent-Type: text/plain"
            self.transport.write(b"HTTP/1.1 %s\\r\\nContent-Length: %d\\r\\n\\r\\n%s"
                                 % (head, len(body), body))
    async def main(port):
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Graph, "127.0.0.1", port, backlog=1024)
        await server.serve_forever()
    uvloop.run(main(int(sys.argv[1])))
''')


def profile(work: Path, graph_port: int) -> Path:
    text = (ROOT / "samples" / "best.toml").read_text(encoding="utf-8")
    text = text.replace('graph_base_url = "https://graph.facebook.com/v21.0"',
                        f'graph_base_url = "http://127.0.0.1:{graph_port}/v21.0"')
    text = text.replace("rate_per_second = 80", "rate_per_second = 100000")
    path = work / "bench-chat.toml"
    path.write_text(text, encoding="utf-8")
    return path


def steps(account: str) -> list[str]:
    return ["hi", "1", "1", "1", account]


def webhook_request(sender: str, message_id: str, text: str, pnid: str = PNID,
                    secret: str = APP_SECRET) -> Request:
    """One signed WhatsApp Cloud API webhook carrying one text message."""
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{
        "id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "1", "phone_number_id": pnid},
            "contacts": [{"wa_id": sender}],
            "messages": [{"from": sender, "id": message_id, "timestamp": "1",
                          "type": "text", "text": {"body": text}}]}}]}]},
        separators=(",", ":")).encode()
    sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return Request("POST", "/api/v1/chat/whatsapp",
                   (("Content-Type", "application/json"), ("X-Hub-Signature-256", sig)),
                   body)


def webhook_requests(accounts: list[str]) -> list[Request]:
    return [webhook_request(f"9190{i:08d}", f"wamid.BENCH{k}-{i}", steps(account)[k])
            for k in range(5) for i, account in enumerate(accounts)]


def ussd_request(session: str, phone: str, text: str, service_code: str = "*384*123#"
                 ) -> Request:
    """One Africa's Talking USSD hop (``text``: every input so far, joined by ``*``)."""
    body = urllib.parse.urlencode({"sessionId": session, "serviceCode": service_code,
                                   "phoneNumber": phone, "networkCode": "40401",
                                   "text": text}).encode()
    return Request("POST", "/api/v1/chat/ussd/at",
                   (("Content-Type", "application/x-www-form-urlencoded"),), body)


def ussd_requests(accounts: list[str]) -> list[Request]:
    return [ussd_request(f"AT{i}", f"+9191{i:08d}",
                         "*".join((["1", "1", "1", account, "1"])[:k]))
            for k in range(6) for i, account in enumerate(accounts)]


def cpu_seconds(pgid: int) -> float:
    """User + system CPU time of every live process in process group ``pgid``."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid:  # field 5 (pgrp), counted after the ")"
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


# wrk runs the Lua script (a table of every request, 20,000-24,000 of them) in each of
# its Lua states before it starts the clock: about 0.8 CPU-s measured alone; under load it
# costs some 3-4 µs per request (measured against the fake Graph API at 120,000 req/s).
WRK_NOTE = "most of it loading its Lua table before its clock starts"


def children_cpu() -> float:
    """CPU-seconds of the waited-for children (``wrk``)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def count(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/count", timeout=5) as r:
        return int(r.read())


def start(cmd: list[str], env: dict[str, str], log: Path, port: int, workers: int
          ) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    _wait_port(proc, port, log, workers)
    return proc


def whatsapp_phase(args: argparse.Namespace, work: Path, accounts: list[str], port: int,
                   graph_port: int, meter: Meter, graph: subprocess.Popen[bytes]) -> None:
    wa = webhook_requests(accounts)
    script = work / "wa.lua"
    wrk_script(wa, script, sequential=True)
    before = count(graph_port)
    cpu0, graph0, wrk0 = meter.read(), cpu_seconds(graph.pid), children_cpu()
    r = run_wrk(port, script, args.duration, args.connections)
    ended = time.monotonic()
    cpu_wrk = children_cpu() - wrk0
    sent_by_end = count(graph_port) - before
    answered = min(r.requests, len(wa))
    while count(graph_port) - before < answered and time.monotonic() - ended < 120:
        time.sleep(0.01)
    replies = count(graph_port) - before
    # from wrk's first request (its clock, which starts after it has loaded the script)
    # to the last reply
    elapsed = r.seconds + (time.monotonic() - ended)
    cpu_wa, pg_wa = meter.since(cpu0)
    cpu_graph = cpu_seconds(graph.pid) - graph0
    print(f"whatsapp: {r.rps:,.0f} webhooks/s  p50 {r.p50_ms:.1f} ms  p99 {r.p99_ms:.1f} ms"
          f"  non-2xx {r.non_2xx}  errors {r.errors}")
    print(f"          {replies:,} replies at the fake Graph API in {elapsed:.1f} s = "
          f"{replies / elapsed:,.0f} answered/s ({sent_by_end:,} by the end of the load)")
    print(f"          server CPU {cpu_wa:.1f} s = {cpu_wa / max(r.requests, 1) * 1e3:.2f} "
          f"ms per webhook (processed and answered); load average {loadavg()}")
    if meter.dbname:
        print(f"          PostgreSQL CPU {pg_wa:.1f} s = "
              f"{pg_wa / max(r.requests, 1) * 1e3:.2f} ms per webhook")
    print(f"          bench CPU: wrk {cpu_wrk:.1f} s in all ({WRK_NOTE}), fake Graph API "
          f"{cpu_graph:.1f} s = {cpu_graph / max(replies, 1) * 1e3:.3f} ms per reply")


def ussd_phase(args: argparse.Namespace, work: Path, accounts: list[str], port: int,
               meter: Meter) -> None:
    us = ussd_requests(accounts)
    script = work / "ussd.lua"
    wrk_script(us, script, sequential=True)
    cpu0, wrk0 = meter.read(), children_cpu()
    r = run_wrk(port, script, args.duration, args.connections)
    cpu_us, pg_us = meter.since(cpu0)
    cpu_wrk = children_cpu() - wrk0
    print(f"ussd:     {r.rps:,.0f} hops/s  p50 {r.p50_ms:.1f} ms  p99 {r.p99_ms:.1f} ms"
          f"  non-2xx {r.non_2xx}  errors {r.errors}")
    print(f"          server CPU {cpu_us:.1f} s = {cpu_us / max(r.requests, 1) * 1e3:.2f} "
          f"ms per hop; load average {loadavg()}")
    if meter.dbname:
        print(f"          PostgreSQL CPU {pg_us:.1f} s = "
              f"{pg_us / max(r.requests, 1) * 1e3:.2f} ms per hop")
    print(f"          bench CPU: wrk {cpu_wrk:.1f} s in all ({WRK_NOTE})")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--senders", type=int, default=4000)
    p.add_argument("--duration", type=float, default=8)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--port", type=int, default=0,
                   help="the server's port (the fake Graph API takes the next one)")
    p.add_argument("--phases", default="whatsapp,ussd",
                   help="comma-separated: whatsapp, ussd (one alone, to profile it)")
    p.add_argument("--backends", default="sqlite",
                   help="comma-separated: sqlite, pg (PostgreSQL, a fresh schema of --pg-url)")
    p.add_argument("--pg-url", default=os.environ.get("QRPAY_BENCH_CHAT_PG_URL", PG_DEFAULT))
    args = p.parse_args(argv)
    args.phases = set(args.phases.split(","))
    bills = make_bills(args.senders)
    for backend in args.backends.split(","):
        work = Path(tempfile.mkdtemp(prefix="qrpay-bench-chat-"))
        if backend == "sqlite":
            run_backend(args, work, f"sqlite:///{work / 'chat.db'}", None, bills)
            continue
        schema = "chat_" + uuid.uuid4().hex[:10]
        url, dbname = pg_schema(args.pg_url, schema)
        try:
            run_backend(args, work, url, dbname, bills)
        finally:
            drop_schema(args.pg_url, schema)
    return 0


def pg_schema(base: str, schema: str) -> tuple[str, str]:
    """A new schema in ``base``'s database: the URL that uses it, and the database name
    (whose backends' CPU is counted)."""
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
        dbname = str(conn.execute(text("SELECT current_database()")).scalar_one())
    engine.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", dbname


def drop_schema(base: str, schema: str) -> None:
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()


def run_backend(args: argparse.Namespace, work: Path, url: str, dbname: str | None,
                bills: list[Any]) -> None:
    """Both phases against a fresh database at ``url`` (``dbname``: PostgreSQL's)."""
    load_bills(url, bills)
    accounts = [b.account_no for b in bills]
    port, graph_port = ((args.port, args.port + 1) if args.port
                        else (free_port(), free_port()))
    env = dict(os.environ, QRPAY_DATABASE_URL=url, QRPAY_WHATSAPP_APP_SECRET=APP_SECRET,
               QRPAY_WHATSAPP_TOKEN="bench", QRPAY_WHATSAPP_VERIFY_TOKEN="bench",
               QRPAY_BDAPPS_PASSWORD="bench", QRPAY_TOKEN_KEY_K1="bench-token-key-0123456789",
               QRPAY_SESSION_KEY="bench-session-key-0123456789abcdef",
               QRPAY_SECRET_UPI="x", QRPAY_SECRET_RAZORPAY="x", QRPAY_SECRET_PHONEPE="x")
    env.pop("QRPAY_SECRETS_FILE", None)
    for taken in (port, graph_port):  # else the readiness probe would find another server
        require_free(taken)
    (work / "graph.py").write_text(FAKE_GRAPH)
    graph = start([sys.executable, str(work / "graph.py"), str(graph_port)], env,
                  work / "graph.log", graph_port, 1)
    try:
        server = start([sys.executable, "-m", "qrpay", "--config",
                        str(profile(work, graph_port)), "serve", "--host", "127.0.0.1",
                        "--port", str(port), "--workers", str(args.workers), "--log-level",
                        "warning"], env, work / "serve.log", port, args.workers)
        try:
            print(f"[{'PostgreSQL' if dbname else 'SQLite'}] load average before: "
                  f"{loadavg()}")
            meter = Meter(server.pid, dbname)
            if "whatsapp" in args.phases:
                whatsapp_phase(args, work, accounts, port, graph_port, meter, graph)
            if "ussd" in args.phases:
                ussd_phase(args, work, accounts, port, meter)
        finally:
            stop_server(server)
    finally:
        stop_server(graph)


def require_free(port: int) -> None:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            raise SystemExit(f"port {port} is in use (a server left from an earlier run?)"
                             ) from None


class Meter:
    """CPU-seconds of the server's processes (and, on PostgreSQL, of the backends
    connected to the bench's database, counted as ``bench/monthend.py`` counts them)."""

    def __init__(self, pgid: int, dbname: str | None) -> None:
        self.pgid, self.dbname = pgid, dbname

    def read(self) -> tuple[float, dict[int, int]]:
        from bench.monthend import postgres_cpu  # it imports this module

        return cpu_seconds(self.pgid), postgres_cpu(self.dbname)

    def since(self, before: tuple[float, dict[int, int]]) -> tuple[float, float]:
        from bench.monthend import cpu_used

        app, pg = self.read()
        return app - before[0], cpu_used(before[1], pg)


if __name__ == "__main__":
    sys.exit(main())
