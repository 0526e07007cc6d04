"""What the chaos runs share: the BREB profile pointed at local fake providers that can be
taken down and brought back on the same port, a mixed burst (QR callbacks, bKash
payBill, WhatsApp messages, each sent twice at once the way channels retry), and the
checks made on the database itself afterwards.

Sizes and the outage come from the environment so that the same code runs short in
``make test`` and long in ``make chaos``:

* ``CHAOS_SCALE`` (default 1): multiplies the number of bills, payments and messages;
* ``CHAOS_OUTAGE`` (default 6): seconds the SMS provider and the Graph API stay down
  (``make chaos``: 600, the issue's ten minutes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from qrpay.channels import get as get_channel
from qrpay.store import Store
from qrpay.store.schema import chat_inbound, ledger, outbox, payments
from tests.biller.conftest import PASSWORDS, bd_bill
from tests.biller.conftest import insert_bill as insert_bd_bill
from tests.chat.conftest import APP_SECRET, BREB_PNID, VERIFY_TOKEN, signed, wa_payload
from tests.chat.fakegraph import TOKEN, FakeGraph
from tests.conftest import ROOT, TEST_SECRETS
from tests.notify.conftest import FakeProvider

SCALE = max(1, int(os.environ.get("CHAOS_SCALE", "1")))
OUTAGE = float(os.environ.get("CHAOS_OUTAGE", "6"))
BILLER = "dhaka-pbs-1"
SMS_LEASE = 3  # seconds: a dead sender's SMS rows are taken over this long after its claim
CHAT_LEASE = 5  # seconds: the same for WhatsApp replies (chat's default is 30)
SMS_TOKEN = "chaos-ssl-token"
CREDS = {"UserName": "bkash", "Password": PASSWORDS["QRPAY_CHANNEL_PASSWORD_BKASH"]}

#: everything a node, the worker and the render need in their environment
ENV = {**TEST_SECRETS, **PASSWORDS, "QRPAY_WHATSAPP_APP_SECRET": APP_SECRET,
       "QRPAY_WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN, "QRPAY_WHATSAPP_TOKEN": TOKEN,
       "QRPAY_BDAPPS_PASSWORD": "test-bdapps-password",
       "QRPAY_SSLWIRELESS_API_TOKEN": SMS_TOKEN}


# ------------------------------------------------------------------- fake providers

class Restartable:
    """A fake HTTP server that goes down (its port refuses connections) and comes back
    on the same port: a provider's outage as its clients see it."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.handler = handler
        self.server: ThreadingHTTPServer | None = None
        self.port = 0
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self.handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def down(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def graph_handler(fake: FakeGraph) -> type[BaseHTTPRequestHandler]:
    """The Graph API's HTTP face for :class:`FakeGraph` (as ``serve_fake_graph`` has it)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0)))
                                 or b"{}")
            status, body = fake.answer(self.path, self.headers, payload)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@dataclass
class Fakes:
    sms: FakeProvider
    sms_server: Restartable
    graph: FakeGraph
    graph_server: Restartable

    def down(self) -> None:
        self.sms_server.down()
        self.graph_server.down()

    def up(self) -> None:
        self.sms_server.up()
        self.graph_server.up()


@dataclass
class FakesFactory:
    made: list[Fakes] = field(default_factory=list)

    def __call__(self) -> Fakes:
        sms = FakeProvider()
        sms.server.server_close()  # its own port-0 server: replaced by a restartable one
        graph = FakeGraph()
        fakes = Fakes(sms, Restartable(sms._handler()), graph,
                      Restartable(graph_handler(graph)))
        self.made.append(fakes)
        return fakes

    def close(self) -> None:
        for f in self.made:
            f.down()


def profile(tmp: Path, fakes: Fakes) -> Path:
    """samples/breb.toml with SSL Wireless and the Graph API at the fakes."""
    text = (ROOT / "samples" / "breb.toml").read_text(encoding="utf-8")
    text = text.replace('logo = "logos/', f'logo = "{ROOT}/samples/logos/')
    text = text.replace('[sms]\nprovider = "console"',
                        f'[sms]\nprovider = "sslwireless"\nbase_url = "{fakes.sms_server.url}"'
                        f'\nsid = "CHAOS"\ntimeout = "2"\nlease_seconds = "{SMS_LEASE}"')
    text = text.replace("[chat]\n", f"[chat]\nlease_seconds = {CHAT_LEASE}\n", 1)
    text = text.replace('graph_base_url = "https://graph.facebook.com/v21.0"',
                        f'graph_base_url = "{fakes.graph_server.url}/v21.0"')
    text = text.replace('bdapps_url = "https://developer.bdapps.com/ussd/send"',
                        f'bdapps_url = "{fakes.graph_server.url}/ussd/send"')
    assert "sslwireless" in text and fakes.graph_server.url in text and "lease_seconds = 5" in text
    path = tmp / "chaos-breb.toml"
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------ the burst

@dataclass(frozen=True)
class Burst:
    """What is sent: callbacks (txn, bill_no), payBills (TrxId, account), WhatsApp
    messages (wamid, sender).  Every bill has its own mobile so each SMS names it."""

    callbacks: tuple[tuple[str, str], ...]
    paybills: tuple[tuple[str, str], ...]
    messages: tuple[tuple[str, str], ...]

    @classmethod
    def make(cls, tag: str, n: int = 24) -> Burst:
        n *= SCALE
        return cls(
            callbacks=tuple((f"{tag}-CB{i:05d}", bill_no(account(i))) for i in range(n)),
            paybills=tuple((f"{tag}P{i:05d}", account(n + i)) for i in range(n)),
            messages=tuple((f"wamid.{tag}{i:05d}", f"8801{(700000000 + i):09d}")
                           for i in range(n)))

    @property
    def accounts(self) -> list[str]:
        return [account(i) for i in range(len(self.callbacks) + len(self.paybills))]


def account(i: int) -> str:
    return f"1{i:08d}"


def bill_no(acc: str) -> str:
    return "2611" + acc


def insert_bills(store: Store, burst: Burst) -> None:
    with store.begin() as conn:
        for i, acc in enumerate(burst.accounts):
            insert_bd_bill(conn, bd_bill(acc, biller=BILLER, amount=92972,
                                         mobile=f"+88017{i:08d}", name="রহিমা মিয়া"))


@dataclass
class Answers:
    """The acknowledged requests (a 200 with the channel's success), by kind."""

    callbacks: set[str] = field(default_factory=set)
    paybills: dict[str, str] = field(default_factory=dict)  # TrxId -> RefNumber
    messages: set[str] = field(default_factory=set)
    refused: Counter[str] = field(default_factory=Counter)  # "kind status": answered, not OK
    lost: int = 0  # no answer at all (the node or the database died under it)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def total(self) -> int:
        return len(self.callbacks) + len(self.paybills) + len(self.messages)


def _callback(client: httpx.Client, txn: str, bill: str) -> tuple[int, str | None]:
    body = json.dumps({"event_id": f"ev-{txn}", "txn_id": txn, "bill_no": bill,
                       "amount": "500.00", "currency": "BDT", "status": "success",
                       "utr": txn[-12:]}).encode()
    callback = get_channel("generic").callback
    assert callback is not None
    headers = callback.sign(TEST_SECRETS["QRPAY_SECRET_NAGAD"], body, time.time())
    r = client.post("/api/v1/callbacks/nagad", content=body,
                    headers={**headers, "content-type": "application/json"})
    ok = r.status_code == 200 and r.json().get("result") in ("posted", "duplicate")
    return r.status_code, txn if ok else None


def _paybill(client: httpx.Client, trx: str, acc: str) -> tuple[int, str | None]:
    r = client.post("/api/v1/biller/bkash/payBill", data={
        **CREDS, "AccNo": acc, "Amount": "929.72", "TrxId": trx,
        "UserMobileNumber": "01711000000"})
    if r.status_code != 200 or r.json().get("ErrorCode") != "200":
        return r.status_code, None
    return r.status_code, str(r.json()["RefNumber"])


def _message(client: httpx.Client, wamid: str, sender: str) -> tuple[int, str | None]:
    body, headers = signed(wa_payload(sender, {"type": "text", "text": {"body": "hi"}},
                                      pnid=BREB_PNID, msg_id=wamid))
    r = client.post("/api/v1/chat/whatsapp", content=body, headers=headers)
    return r.status_code, wamid if r.status_code == 200 else None


SENDERS = {"cb": _callback, "pay": _paybill, "wa": _message}


def send(urls: list[str], burst: Burst, answers: Answers,
         stop: Callable[[], None] = lambda: None, *, threads: int = 12) -> None:
    """Everything in ``burst``, kinds interleaved, each request twice at once (a
    channel's retry), spread over ``urls``; ``stop()`` runs before each request (the
    fault goes in there)."""
    jobs: list[tuple[str, str, str]] = []
    for i in range(max(len(burst.callbacks), len(burst.paybills), len(burst.messages))):
        for kind, items in (("cb", burst.callbacks), ("pay", burst.paybills),
                            ("wa", burst.messages)):
            if i < len(items):
                jobs += [(kind, *items[i])] * 2
    clients = [httpx.Client(base_url=u, timeout=30) for u in urls]

    def one(n: int) -> None:
        stop()
        kind, key, other = jobs[n]
        client = clients[(n // 2) % len(clients)]
        try:
            status, ref = SENDERS[kind](client, key, other)
        except httpx.HTTPError:
            with answers.lock:
                answers.lost += 1
            return
        with answers.lock:
            if ref is None:
                answers.refused[f"{kind} {status}"] += 1
            elif kind == "cb":
                answers.callbacks.add(key)
            elif kind == "pay":
                assert answers.paybills.setdefault(key, str(ref)) == ref, (key, ref)
            else:
                answers.messages.add(key)

    try:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, range(len(jobs))))
    finally:
        for c in clients:
            c.close()


# --------------------------------------------------------------------- processes

def start_worker(profile_path: Path, db_url: str, log: Path) -> subprocess.Popen[bytes]:
    """``qrpay worker`` (the SMS sender loop) as a subprocess."""
    env = dict(os.environ, **ENV, QRPAY_DATABASE_URL=db_url, PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "qrpay", "--config", str(profile_path), "worker",
           "--interval", "0.2", "--recon-interval", "0"]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("ab"),
                            stderr=subprocess.STDOUT)


def wait_until(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return check()


def undelivered(store: Store) -> list[Any]:
    with store.connect() as conn:
        return conn.execute(select(outbox.c.kind, outbox.c.status, outbox.c.attempts,
                                   outbox.c.last_error).where(outbox.c.status != "sent")
                            ).all()


# ------------------------------------------------------------------- the checks

def check_database(store: Store, burst: Burst, answers: Answers,
                   fakes: Fakes | None = None, *, resent_replies: int = 0) -> None:
    """On the database itself: every acknowledged callback and payBill posted exactly
    once (and nothing posted that was not sent), receipt numbers 1..N without a gap, one
    notice per posting, every acknowledged chat message recorded and answered; with
    ``fakes`` (after the outbox drained): each notice and each reply delivered once, but
    for at most ``resent_replies`` WhatsApp replies a killed sender had on the wire (the
    Graph API has no idempotency key: the at-least-once edge of ``qrpay.chat.sender``)."""
    with store.connect() as conn:
        rows = conn.execute(select(payments.c.id, payments.c.txn_id, payments.c.channel,
                                   payments.c.status, payments.c.receipt_no)).all()
        posted = Counter(conn.execute(select(ledger.c.payment_id).where(
            ledger.c.kind == "payment")).scalars())
        notices = conn.execute(select(outbox.c.kind, outbox.c.dedupe_key,
                                      outbox.c.recipient, outbox.c.status)).all()
        inbound = set(conn.execute(select(chat_inbound.c.message_id)).scalars())
    sent_txns = {t for t, _ in burst.callbacks} | {t for t, _ in burst.paybills}
    by_txn: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        by_txn[r.txn_id].append(r)
    assert set(by_txn) <= sent_txns, set(by_txn) - sent_txns
    # one payment row per transaction, posted once, with its receipt
    assert all(len(v) == 1 for v in by_txn.values()), [v for v in by_txn.values() if len(v) > 1]
    assert answers.callbacks <= set(by_txn), answers.callbacks - set(by_txn)
    assert set(answers.paybills) <= set(by_txn), set(answers.paybills) - set(by_txn)
    for r in rows:
        assert r.status == "success" and r.receipt_no, r
        assert posted[r.id] == 1, r
    numbers = sorted(int(r.receipt_no.rsplit("-", 1)[1]) for r in rows)
    assert numbers == list(range(1, len(numbers) + 1)), "receipt numbers have a gap"
    # one notice per posting
    keys = Counter(n.dedupe_key for n in notices if n.kind == "sms")
    assert keys == Counter(f"payment:{r.id}:received" for r in rows), keys
    # every acknowledged message recorded, and answered (its first reply queued once)
    assert answers.messages <= inbound, answers.messages - inbound
    replies = Counter(n.dedupe_key.rsplit(":", 1)[0] for n in notices
                      if n.kind == "whatsapp" and n.dedupe_key.startswith("chat:reply:"))
    assert set(replies) == {f"chat:reply:{m}" for m in inbound}, "a message without reply"
    if fakes is None:
        return
    assert {n.status for n in notices} == {"sent"}, Counter(n.status for n in notices)
    # the provider delivered each SMS once (SSL Wireless refuses a csms_id it has)
    with fakes.sms.lock:
        delivered = Counter(r["json"]["csms_id"] for r in fakes.sms.requests)
    assert fakes.sms.delivered == len(keys), (fakes.sms.delivered, len(keys))
    assert len(delivered) == len(keys)
    # the Graph API got each reply once: as many per recipient as rows queued for it
    with fakes.graph.lock:
        got = Counter(p["to"] for p in fakes.graph.received)
    queued = Counter(n.recipient for n in notices if n.kind == "whatsapp")
    assert not queued - got, queued - got  # none missing
    assert sum((got - queued).values()) <= resent_replies, got - queued
