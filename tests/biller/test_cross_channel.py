"""One bill paid by QR callback, then through bKash, then at the counter desk: each time
the outcome the policy says, nothing posted twice, ledger and receipts consistent."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import select
from starlette.testclient import TestClient

from qrpay.biller.core import credits_due
from qrpay.channels import get as get_channel
from qrpay.config import Config
from qrpay.desk import counter, shift
from qrpay.desk.staff import add_staff
from qrpay.errors import Conflict
from qrpay.store import Store, utcnow
from qrpay.store.schema import ledger, payments
from qrpay.web.app import create_app
from tests.biller.conftest import PASSWORDS, add, bd_bill

CREDS = {"UserName": "bkash", "Password": PASSWORDS["QRPAY_CHANNEL_PASSWORD_BKASH"]}


def qr_callback(client: TestClient, bill_no: str, amount: str, txn: str) -> Any:
    body = json.dumps({"event_id": "e" + txn, "txn_id": txn, "bill_no": bill_no,
                       "amount": amount, "currency": "BDT", "status": "success"}).encode()
    callback = get_channel("generic").callback
    assert callback is not None
    headers = callback.sign("test-secret-nagad", body, time.time())
    return client.post("/api/v1/callbacks/nagad", content=body,
                       headers={**headers, "content-type": "application/json"})


def desk_collect(store: Store, config: Config, biller: str, bill_no: str, amount: int,
                 *, confirm_paid: bool = False) -> Any:
    now = utcnow()
    with store.begin() as conn:
        who = add_staff(conn, f"cash-{biller}-{confirm_paid}", "counter-pass-1",
                        role="cashier", biller=biller, counter="C1")
        opened, _ = shift.join_or_open(conn, who, now)
    form = counter.CollectIn(bill_no, f"D{bill_no}{int(confirm_paid)}".ljust(25, "x"), amount,
                             "cash", confirm_paid=confirm_paid)
    try:
        with store.begin() as conn:
            return counter.collect(conn, config, who, opened.id, form, now)
    except Conflict as exc:
        return exc


def consistent(store: Store) -> list[tuple[str, str, int]]:
    """Every success has one receipt and one ledger payment row; returns the postings."""
    with store.connect() as conn:
        paid = conn.execute(select(payments.c.channel, payments.c.receipt_no,
                                   payments.c.amount).where(payments.c.status == "success")
                            ).all()
        rows = conn.execute(select(ledger.c.receipt_no, ledger.c.amount).where(
            ledger.c.kind == "payment")).all()
    assert len({r.receipt_no for r in paid}) == len(paid)
    assert sorted((r.receipt_no, -r.amount) for r in rows) == sorted(
        (p.receipt_no, p.amount) for p in paid)
    return [(p.channel, p.receipt_no, p.amount) for p in paid]


def test_refuse_policy_qr_then_bkash_then_desk(breb: Config, store: Store) -> None:
    bill = add(store, bd_bill("104231245"))[0]  # dhaka-pbs-1: already_paid = refuse
    client = TestClient(create_app(breb, store, start_sender=False))
    assert qr_callback(client, bill.bill_no, "929.72", "NG1").status_code == 200
    got = client.post("/api/v1/biller/bkash/payBill", data={
        **CREDS, "AccNo": "104231245", "Amount": "929.72", "TrxId": "BK1"}).json()
    assert got["ErrorCode"] == "436"
    refused = desk_collect(store, breb, "dhaka-pbs-1", bill.bill_no, 92972)
    assert isinstance(refused, Conflict) and refused.code == "already_paid"
    assert [c for c, _, _ in consistent(store)] == ["nagad"]


def test_credit_policy_takes_the_second_payment_as_credit(breb: Config, store: Store) -> None:
    bill = add(store, bd_bill("701410102", biller="khulna-pbs", amount=51069))[0]
    client = TestClient(create_app(breb, store, start_sender=False))
    assert qr_callback(client, bill.bill_no, "510.69", "NG2").status_code == 200
    got = client.post("/api/v1/biller/bkash/payBill", data={
        **CREDS, "AccNo": "701410102", "Amount": "510.69", "TrxId": "BK2"}).json()
    assert got["ErrorCode"] == "200"
    again = client.post("/api/v1/biller/bkash/payBill", data={
        **CREDS, "AccNo": "701410102", "Amount": "510.69", "TrxId": "BK2"}).json()
    assert again["RefNumber"] == got["RefNumber"]
    with store.connect() as conn:
        assert [(c["txn_id"], c["amount"]) for c in credits_due(conn)] == [("BK2", 51069)]
    refused = desk_collect(store, breb, "khulna-pbs", bill.bill_no, 51069)
    assert isinstance(refused, Conflict) and refused.code == "already_paid"
    # confirmed anyway: the desk's own rule holds an excess above its ceiling for a supervisor
    held = desk_collect(store, breb, "khulna-pbs", bill.bill_no, 51069, confirm_paid=True)
    assert isinstance(held, counter.AmountHold) and held.code == "needs_approval"
    assert sorted(c for c, _, _ in consistent(store)) == ["bkash", "nagad"]
