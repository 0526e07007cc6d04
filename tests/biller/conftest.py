"""Fixtures for the biller API: the BREB profile, channel passwords, bills due around
today (dates relative to today: tests never depend on the calendar), a real server."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Connection

from qrpay.bills import Bill
from qrpay.config import Config
from qrpay.payments.ledger import charge_bill
from qrpay.store import Store, utcnow
from qrpay.store.schema import bills
from qrpay.web.app import create_app

PASSWORDS = {
    "QRPAY_CHANNEL_PASSWORD_BKASH": "bkash-pass-0123",
    "QRPAY_CHANNEL_PASSWORD_BBPS": "bbps-pass-0123",
    "QRPAY_CHANNEL_PASSWORD_GSMA": "gsma-pass-0123",
    "QRPAY_CHANNEL_PASSWORD_ROCKET": "rocket-pass-0123",
    "QRPAY_CHANNEL_PASSWORD_ROCKET_KHULNA_PBS": "rocket-khulna-0123",
}
TODAY = dt.datetime.now(dt.UTC).date()  # compared only with dates built from it


@pytest.fixture(autouse=True)
def _passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in PASSWORDS.items():
        monkeypatch.setenv(key, value)


def insert_bill(conn: Connection, bill: Bill) -> Bill:
    now = utcnow()
    conn.execute(bills.insert().values(
        bill_no=bill.bill_no, biller=bill.biller, account_no=bill.account_no, name=bill.name,
        period=bill.period, amount=bill.amount, due_date=bill.due_date,
        late_amount=bill.late_amount, arrears=bill.arrears, mobile=bill.mobile,
        language=bill.language, meter_no=bill.meter_no, history=json.dumps([]),
        charges=json.dumps([list(c) for c in bill.charges]), content_hash="x" * 64,
        created_at=now, updated_at=now))
    charge_bill(conn, bill)
    return bill


def bd_bill(account: str, *, biller: str = "dhaka-pbs-1", amount: int = 92972,
            due_in: int = 10, late_amount: int | None = None, period: str = "2026-11",
            mobile: str | None = None, meter: str | None = None,
            language: str | None = None, name: str = "রহিমা মিয়া") -> Bill:
    return Bill(bill_no=period[2:4] + period[5:7] + account, biller=biller,
                account_no=account, name=name, period=period, amount=amount,
                due_date=TODAY + dt.timedelta(days=due_in),
                late_amount=late_amount if late_amount is not None else amount + amount // 20,
                mobile=mobile, meter_no=meter, language=language,
                charges=(("energy", amount - 3000), ("fixed", 3000)))


def add(store: Store, *bs: Bill) -> list[Bill]:
    with store.begin() as conn:
        return [insert_bill(conn, b) for b in bs]


def with_raw(config: Config, **patch: Any) -> Config:
    """``config`` with its raw TOML patched: ``{"billers": {code: {...biller_api}},
    "channels": {name: {...}}}`` merged in."""
    raw = json.loads(json.dumps(config.raw))
    for code, api in patch.get("billers", {}).items():
        for entry in raw["billers"]:
            if entry["code"] == code:
                entry["biller_api"] = {**entry.get("biller_api", {}), **api}
    for name, entry in patch.get("channels", {}).items():
        raw.setdefault("channels", {})[name] = {**raw["channels"].get(name, {}), **entry}
    from qrpay.config import parse_config

    fresh = parse_config(raw, config.path)
    return dataclasses.replace(fresh, database_url=config.database_url)


@pytest.fixture
def breb(breb_config: Config) -> Config:
    """BREB with every dialect switched on: bKash (sample), BBPS, GSMA, Rocket channels."""
    cfg = with_raw(breb_config, channels={
        "bbps": {"biller_api": "bbps", "display_name": "BBPS"},
        "gsma": {"biller_api": "gsma", "display_name": "GSMA wallet"},
        "rocket": {"biller_api": "rocket", "ussd": "*322#",
                   "credentials": {"khulna-pbs": {"username": "rocket-kpbs"}}},
    })
    return with_channels(cfg, "bbps", "gsma")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def serve(config: Config, store: Store) -> Iterator[str]:
    """A real uvicorn server on a free loopback port, in a thread of this process."""
    app = create_app(config, store, start_sender=False)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live(breb: Config, store: Store) -> Iterator[str]:
    yield from serve(breb, store)


def in_bill(account: str = "100000000", *, amount: int = 190900, due_in: int = 10,
            late_amount: int | None = None, period: str = "2026-11",
            mobile: str | None = "+919177777868") -> Bill:
    return Bill(bill_no="B" + period[2:4] + period[5:7] + account, biller="best",
                account_no=account, name="ज्ञानेश्वर देशपांडे", period=period, amount=amount,
                due_date=TODAY + dt.timedelta(days=due_in),
                late_amount=late_amount if late_amount is not None else amount + amount // 80,
                mobile=mobile, charges=(("energy", amount - 5000), ("fixed", 5000)))


def with_channels(config: Config, *names: str) -> Config:
    billers = {code: dataclasses.replace(b, channels=(*b.channels, *names))
               for code, b in config.billers.items()}
    return dataclasses.replace(config, billers=billers)


@pytest.fixture
def best(best_config: Config) -> Config:
    """BEST with a BBPS channel (Setu's biller contract) and a GSMA one."""
    cfg = with_raw(best_config, channels={"bbps": {"biller_api": "bbps"},
                                          "gsma": {"biller_api": "gsma"}})
    return with_channels(cfg, "bbps", "gsma")
