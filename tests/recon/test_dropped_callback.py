"""A payment whose callback was dropped: posted once by ``recon import``, and once only
when the callback then arrives; the other way round too.  One ledger entry, one SMS."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import select

from qrpay.channels import handle_callback
from qrpay.channels.razorpay import sign
from qrpay.config import Config
from qrpay.recon.importer import import_settlement
from qrpay.store import Store
from qrpay.store.schema import ledger, outbox, payments, recon_lines

from .conftest import Row, add_bill, count, write_razorpay_csv

NOW = dt.datetime(2026, 11, 21, 6, 0, tzinfo=dt.UTC)
BILL = "B2611100000000"


def captured() -> bytes:
    return json.dumps({
        "entity": "event", "event": "payment.captured", "contains": ["payment"],
        "payload": {"payment": {"entity": {
            "id": "pay_DROP1", "entity": "payment", "amount": 190900, "currency": "INR",
            "status": "captured", "method": "upi", "vpa": "asha@okicici",
            "notes": {"bill_no": BILL}, "acquirer_data": {"rrn": "633012345679"},
            "created_at": int(NOW.timestamp()) - 3600}}}}).encode()


def callback(store: Store, config: Config):
    body = captured()
    headers = {"X-Razorpay-Signature": sign("test-secret-razorpay", body),
               "X-Razorpay-Event-Id": "evt_drop1", "Content-Type": "application/json"}
    return handle_callback(store, config, "razorpay", headers, body, "127.0.0.1", now=NOW)


def settlement(tmp_path: Path) -> Path:
    return write_razorpay_csv(tmp_path / "recon.csv", [
        Row("payment", "pay_DROP1", BILL, 190900, fee=3818, tax=687)])


def assert_posted_once(store: Store) -> None:
    with store.connect() as conn:
        rows = conn.execute(select(payments)).all()
        entries = conn.execute(select(ledger.c.amount).where(ledger.c.kind == "payment")).all()
    assert len(rows) == 1 and rows[0].status == "success" and rows[0].receipt_no
    assert entries == [(-190900,)]
    assert count(store, outbox, outbox.c.template == "payment_received") == 1


def test_recon_first_then_the_callback(store: Store, best_config: Config,
                                       tmp_path: Path) -> None:
    add_bill(store, BILL, amount=190900)
    report = import_settlement(store, best_config, settlement(tmp_path), "razorpay", now=NOW)
    assert report.counts["posted"] == 1
    late = callback(store, best_config)
    assert late.status == 200 and late.body["result"] == "duplicate"
    assert_posted_once(store)
    with store.connect() as conn:
        mark = conn.execute(select(recon_lines.c.outcome, recon_lines.c.payment_id)).one()
        pid = conn.execute(select(payments.c.id)).scalar_one()
    assert mark == ("posted", pid)  # the payment is marked as posted by reconciliation


def test_callback_first_then_recon(store: Store, best_config: Config, tmp_path: Path) -> None:
    add_bill(store, BILL, amount=190900)
    first = callback(store, best_config)
    assert first.body["result"] == "posted"
    report = import_settlement(store, best_config, settlement(tmp_path), "razorpay", now=NOW)
    assert report.counts["matched"] == 1 and not report.counts.get("posted")
    assert_posted_once(store)


def test_callback_repeated_after_recon_and_file_again(store: Store, best_config: Config,
                                                      tmp_path: Path) -> None:
    add_bill(store, BILL, amount=190900)
    import_settlement(store, best_config, settlement(tmp_path), "razorpay", now=NOW)
    for _ in range(3):
        callback(store, best_config)
    again = import_settlement(store, best_config, settlement(tmp_path), "razorpay", now=NOW)
    assert again.already_imported is not None
    assert_posted_once(store)
