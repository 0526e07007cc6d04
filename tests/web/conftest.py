"""Web-layer fixtures: bills inserted straight into the store, an in-process app and
client, API keys, and a real ``qrpay serve`` subprocess on a random loopback port."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from qrpay.apikeys import create_key
from qrpay.bills import Bill
from qrpay.config import Config
from qrpay.payments.ledger import charge_bill
from qrpay.store import Store, utcnow
from qrpay.store.schema import bills
from qrpay.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
DUE = dt.date(2099, 12, 15)  # far ahead: "today" is before the due date
PAST_DUE = dt.date(2000, 1, 15)  # long gone: "today" is after it


def make_bill(bill_no: str = "B2611100000001", *, biller: str = "best",
              account_no: str | None = None, amount: int = 123450,
              late_amount: int | None = 125000, due_date: dt.date = DUE,
              name: str = "ज्ञानेश्वर देशपांडे", mobile: str | None = "919812345678",
              address: str | None = "203, दादर पश्चिम, मुंबई",
              language: str | None = None, period: str = "2026-11") -> Bill:
    return Bill(bill_no=bill_no, biller=biller, account_no=account_no or bill_no[-9:],
                name=name, period=period, amount=amount, due_date=due_date,
                late_amount=late_amount, mobile=mobile, address=address,
                language=language, units=286)


def insert_bills(store: Store, many: Iterable[Bill]) -> None:
    """Bills straight into the store (and charged to the ledger), in one transaction."""
    now = utcnow()
    with store.begin() as conn:
        for bill in many:
            conn.execute(bills.insert().values(
                bill_no=bill.bill_no, biller=bill.biller, account_no=bill.account_no,
                name=bill.name, period=bill.period, amount=bill.amount,
                due_date=bill.due_date, late_amount=bill.late_amount, arrears=bill.arrears,
                mobile=bill.mobile, address=bill.address, language=bill.language,
                units=bill.units, history="[]", charges="[]", content_hash="x" * 64,
                created_at=now, updated_at=now))
            charge_bill(conn, bill)


def insert_bill(store: Store, bill: Bill) -> Bill:
    insert_bills(store, [bill])
    return bill


def bd_bill(bill_no: str = "2611104231245", **kw: Any) -> Bill:
    kw.setdefault("biller", "dhaka-pbs-1")
    kw.setdefault("amount", 92972)
    kw.setdefault("late_amount", 97621)
    kw.setdefault("name", "রহিমা মিয়া")
    kw.setdefault("mobile", "8801717784483")
    kw.setdefault("address", "গ্রাম গল্লামারী, বাড়ি ১৮৮")
    return make_bill(bill_no, **kw)


@pytest.fixture
def app_for(store: Store) -> Any:
    """``app_for(config)``: the app over the test store, without the SMS sender."""
    def build(config: Config) -> Any:
        return create_app(config, store, start_sender=False)
    return build


@pytest.fixture
def client(app_for: Any, best_config: Config) -> Iterator[TestClient]:
    with TestClient(app_for(best_config), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def breb_client(app_for: Any, breb_config: Config) -> Iterator[TestClient]:
    with TestClient(app_for(breb_config), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def api_key(store: Store) -> str:
    return create_key(store, "test counter")[1]


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# ------------------------------------------------------------------- signed callbacks

def sign(secret: str, body: bytes, t: int | None = None) -> str:
    t = int(time.time()) if t is None else t
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def callback_body(txn_id: str, bill_no: str, amount: str, *, status: str = "success",
                  currency: str = "INR", event_id: str | None = None) -> bytes:
    return json.dumps({
        "event_id": event_id or f"ev-{txn_id}-{status}", "txn_id": txn_id,
        "bill_no": bill_no, "amount": amount, "currency": currency, "status": status,
        "paid_at": "2026-11-20T10:15:00+05:30", "payer": "ravi@okaxis",
        "utr": "4" + txn_id[-11:].rjust(11, "0"),
    }).encode()


def signed_headers(body: bytes, secret: str = "test-secret-upi") -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Qrpay-Signature": sign(secret, body)}


# -------------------------------------------------------------------- a real server

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, *, kill: bool = False) -> None:
        if self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def start_server(profile: Path, db_url: str, log: Path, *, port: int | None = None,
                 workers: int = 1, extra_env: dict[str, str] | None = None,
                 args: Iterable[str] = ()) -> Server:
    """``qrpay serve`` as a subprocess; returns once /healthz answers."""
    port = port or free_port()
    env = dict(os.environ, QRPAY_DATABASE_URL=db_url, PYTHONUNBUFFERED="1",
               **(extra_env or {}))
    cmd = [sys.executable, "-m", "qrpay", "--config", str(profile), "serve", "--host",
           "127.0.0.1", "--port", str(port), "--workers", str(workers),
           "--log-level", "warning", *args]
    fh = log.open("ab")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
    server = Server(proc, port, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"qrpay serve exited {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(server.url + "/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop(kill=True)
    raise RuntimeError(f"qrpay serve did not come up:\n{log.read_text()}")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """``serve(profile, db_url, **kw)`` starts a server, stopped after the test."""
    started: list[Server] = []

    def run(profile: Path, db_url: str, **kw: Any) -> Server:
        s = start_server(profile, db_url, tmp_path / "serve.log", **kw)
        started.append(s)
        return s

    yield run
    for s in started:
        s.stop()
