"""A channel retrying while its first payment is in flight: 10 identical payBill requests
at once against a real server post once (one payment, one receipt, one SMS) and all get
the same answer; searchTransaction then reflects the commit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from qrpay.store import Store
from qrpay.store.schema import ledger, outbox, payments
from tests.biller.conftest import PASSWORDS, add, bd_bill
from tests.conftest import SAMPLES
from tests.web.conftest import start_server

CREDS = {"UserName": "bkash", "Password": PASSWORDS["QRPAY_CHANNEL_PASSWORD_BKASH"]}


def _pay(url: str) -> dict[str, str]:
    with httpx.Client(base_url=url, timeout=30) as c:
        r = c.post("/api/v1/biller/bkash/payBill", data={
            **CREDS, "AccNo": "104231245", "Amount": "929.72", "TrxId": "CONC1",
            "UserMobileNumber": "01711000000"})
        r.raise_for_status()
        body: dict[str, str] = r.json()
        return body


def _count(store: Store, table: object) -> int:
    with store.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_ten_identical_pay_bills_at_once_post_once(live: str, store: Store) -> None:
    add(store, bd_bill("104231245", mobile="+8801717784483"))
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: _pay(live), range(10)))
    assert {a["ErrorCode"] for a in answers} == {"200"}
    assert len({a["RefNumber"] for a in answers}) == 1
    assert all(a == answers[0] for a in answers)  # identical, field for field
    assert _count(store, payments) == 1
    assert _count(store, outbox) == 1
    with store.connect() as conn:
        kinds = [k for (k,) in conn.execute(select(ledger.c.kind))]
    assert kinds.count("payment") == 1
    with httpx.Client(base_url=live) as c:
        found = c.post("/api/v1/biller/bkash/searchTransaction",
                       data={**CREDS, "TrxId": "CONC1"}).json()
    assert found["ErrorCode"] == "200" and found["RefNumber"] == answers[0]["RefNumber"]


@pytest.mark.slow
def test_ten_at_once_against_serve_with_two_workers(db_url: str, store: Store,
                                                    tmp_path: Path) -> None:
    """The same through `qrpay serve --workers 2`: the twins land on both processes."""
    add(store, bd_bill("104231245", mobile="+8801717784483"))
    server = start_server(SAMPLES / "breb.toml", db_url, tmp_path / "serve.log", workers=2,
                          args=["--no-sender"])
    try:
        with ThreadPoolExecutor(10) as pool:
            answers = list(pool.map(lambda _: _pay(server.url), range(10)))
    finally:
        server.stop()
    assert {a["ErrorCode"] for a in answers} == {"200"}
    assert len({a["RefNumber"] for a in answers}) == 1
    assert _count(store, payments) == 1
    assert _count(store, outbox) == 1
