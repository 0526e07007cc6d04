"""Desk fixtures: the session key, bills inserted straight into the store, staff
accounts, an in-process app and client, and a logged-in client helper."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from starlette.testclient import TestClient

from qrpay.bills import Bill
from qrpay.config import Config
from qrpay.desk.staff import add_staff
from qrpay.payments.ledger import charge_bill
from qrpay.store import Store, utcnow
from qrpay.store.schema import bills
from qrpay.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "desk"
DUE = dt.date(2099, 12, 15)  # far ahead: "today" is before the due date
PASSWORD = "counter-pass-1"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
TXN = re.compile(r'name="txn_id" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _session_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QRPAY_SESSION_KEY", "test-desk-session-key-0123456789abcdef")


def make_bill(bill_no: str = "B2611100000001", *, biller: str = "best",
              amount: int = 123450, late_amount: int | None = 125000,
              due_date: dt.date = DUE, name: str = "ज्ञानेश्वर देशपांडे") -> Bill:
    return Bill(bill_no=bill_no, biller=biller, account_no=bill_no[-9:], name=name,
                period="2026-11", amount=amount, due_date=due_date, late_amount=late_amount,
                mobile="919812345678", address="203, दादर पश्चिम, मुंबई", units=286)


def insert_bill(store: Store, bill: Bill) -> Bill:
    now = utcnow()
    with store.begin() as conn:
        conn.execute(bills.insert().values(
            bill_no=bill.bill_no, biller=bill.biller, account_no=bill.account_no,
            name=bill.name, period=bill.period, amount=bill.amount, due_date=bill.due_date,
            late_amount=bill.late_amount, arrears=bill.arrears, mobile=bill.mobile,
            address=bill.address, units=bill.units, meter_no=bill.meter_no,
            language=bill.language, history="[]", charges="[]",
            content_hash="x" * 64, created_at=now, updated_at=now))
        charge_bill(conn, bill)
    return bill


def add_user(store: Store, username: str, role: str = "cashier", *, biller: str = "best",
             counter: str = "C1") -> None:
    with store.begin() as conn:
        add_staff(conn, username, PASSWORD, role=role, biller=biller, counter=counter)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


@dataclass
class Desk:
    """A client logged in (or not) at the desk, with the page's CSRF token."""

    client: TestClient
    csrf: str = ""
    last_login_page: str = ""

    def login(self, username: str, password: str = PASSWORD) -> int:
        page = self.client.get("/desk/login")
        r = self.client.post("/desk/login", data={
            "username": username, "password": password, "csrf": csrf_of(page.text)},
            follow_redirects=False)
        self.last_login_page = r.text
        if r.status_code == 303:
            self.csrf = csrf_of(self.client.get("/desk").text)
        return r.status_code

    def post(self, path: str, data: dict[str, str] | None = None, **kw: object):  # type: ignore[no-untyped-def]
        body = {"csrf": self.csrf, **(data or {})}
        return self.client.post(path, data=body, follow_redirects=False, **kw)  # type: ignore[arg-type]

    def scan(self, text: str):  # type: ignore[no-untyped-def]
        return self.post("/desk/scan", {"payload": text})

    def collect(self, scan_html: str, amount: str, mode: str = "cash",
                reference: str = "", **extra: str):  # type: ignore[no-untyped-def]
        bill_no = re.search(r'name="bill_no" value="([^"]+)"', scan_html)
        txn = TXN.search(scan_html)
        assert bill_no and txn, "no collect form on the page"
        return self.post("/desk/collect", {"bill_no": bill_no.group(1),
                                           "txn_id": txn.group(1), "amount": amount,
                                           "mode": mode, "reference": reference, **extra})


@pytest.fixture
def app_client(best_config: Config, store: Store) -> Iterator[TestClient]:
    app = create_app(best_config, store, start_sender=False)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def make_desk(best_config: Config, store: Store) -> Iterator:  # type: ignore[type-arg]
    """Factory of independent clients (each its own cookie jar) on one app."""
    app = create_app(best_config, store, start_sender=False)
    clients: list[TestClient] = []

    def make() -> Desk:
        c = TestClient(app)
        c.__enter__()
        clients.append(c)
        return Desk(c)

    yield make
    for c in clients:
        c.__exit__(None, None, None)


# ------------------------------------------------------------------------------ races

def _blocked_or_done(store: Store, worker: threading.Thread, box: dict[str, object],
                     limit: float = 20.0) -> None:
    """Wait until ``worker`` has finished or its PostgreSQL backend waits on a lock."""
    deadline = time.monotonic() + limit
    while worker.is_alive() and time.monotonic() < deadline:
        pid = box.get("pid")
        if pid is not None:
            with store.connect() as conn:
                waiting = conn.execute(text(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                    {"pid": pid}).scalar()
            if waiting == "Lock":
                return
        time.sleep(0.02)


def race(store: Store, first: Callable[[Connection], object],
         second: Callable[[Connection], object]) -> tuple[object, object]:
    """Run ``first`` in a write transaction and, before it commits, ``second`` in another.

    ``first`` commits only once ``second`` has finished or is waiting on a row lock
    (PostgreSQL); on SQLite ``second`` waits at BEGIN IMMEDIATE.  Returns both results
    (an exception raised by ``second`` is returned, not raised).
    """
    box: dict[str, object] = {}

    def run() -> None:
        try:
            with store.begin() as conn:
                if not store.is_sqlite:
                    box["pid"] = conn.execute(text("SELECT pg_backend_pid()")).scalar()
                box["result"] = second(conn)
        except Exception as exc:  # handed back to the test
            box["result"] = exc

    worker = threading.Thread(target=run)
    with store.begin() as conn:
        result = first(conn)
        worker.start()
        if not store.is_sqlite:
            _blocked_or_done(store, worker, box)
    worker.join(60)
    assert not worker.is_alive(), "the second transaction never finished"
    return result, box["result"]


def can_write_now(store: Store) -> bool:
    """True when another connection could start writing at once (SQLite: take the write
    lock without waiting; PostgreSQL: lock the staff rows without waiting)."""
    if store.is_sqlite:
        raw = sqlite3.connect(store.url.split("///", 1)[1], timeout=0, isolation_level=None)
        try:
            raw.execute("BEGIN IMMEDIATE")
            raw.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            raw.close()
    with store.engine.connect() as conn, conn.begin():
        try:
            conn.execute(text("SELECT id FROM staff FOR UPDATE NOWAIT")).all()
            return True
        except Exception:
            return False
