"""A late payment for a bill that a newer bill has superseded (the newer bill carries the
old one's arrears): reconciliation applies it to the account's newest bill, outcome
``superseded``; a late callback naming the old bill is the same payment; when the newer
bill was already paid the money is a credit on the account, on the refunds-due list."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import select

from qrpay.bills import find_bill
from qrpay.channels import handle_callback
from qrpay.channels.razorpay import sign
from qrpay.config import Config
from qrpay.payments.ledger import bill_status
from qrpay.recon.importer import import_settlement
from qrpay.recon.queue import list_exceptions
from qrpay.store import Store
from qrpay.store.schema import ledger, outbox, payments, recon_lines, refunds_due

from .conftest import Row, add_bill, count, pay, write_razorpay_csv

NOW = dt.datetime(2026, 11, 21, 6, 0, tzinfo=dt.UTC)
OLD, NEW = "B2610K00000001", "B2611K00000001"
ACCOUNT = "200000001"


def two_bills(store: Store, old_amount: int = 100000) -> None:
    add_bill(store, OLD, account_no=ACCOUNT, period="2026-10", amount=old_amount)
    add_bill(store, NEW, account_no=ACCOUNT, period="2026-11", amount=123450 + old_amount,
             arrears=old_amount)


def late_line(tmp_path: Path, amount: int) -> Path:
    return write_razorpay_csv(tmp_path / "late.csv", [
        Row("payment", "pay_late", OLD, amount, fee=200, tax=36)])


def callback_for_old_bill(store: Store, config: Config, amount: int):
    body = json.dumps({"entity": "event", "event": "payment.captured", "payload": {
        "payment": {"entity": {"id": "pay_late", "entity": "payment", "amount": amount,
                               "currency": "INR", "status": "captured", "method": "upi",
                               "notes": {"bill_no": OLD}}}}}).encode()
    headers = {"X-Razorpay-Signature": sign("test-secret-razorpay", body),
               "X-Razorpay-Event-Id": "evt_late", "Content-Type": "application/json"}
    return handle_callback(store, config, "razorpay", headers, body, "127.0.0.1",
                           now=NOW + dt.timedelta(hours=1))


def balance(store: Store) -> int:
    with store.connect() as conn:
        return sum(r.amount for r in conn.execute(
            select(ledger.c.amount).where(ledger.c.account_no == ACCOUNT)))


def test_late_payment_is_applied_to_the_newer_bill(store: Store, best_config: Config,
                                                   tmp_path: Path) -> None:
    two_bills(store)
    before = balance(store)
    report = import_settlement(store, best_config, late_line(tmp_path, 100000), "razorpay",
                               now=NOW)
    assert report.ok and report.counts["superseded"] == 1
    with store.connect() as conn:
        paid = conn.execute(select(payments)).one()
        line = conn.execute(select(recon_lines)).one()
        new_state = bill_status(conn, find_bill(conn, NEW), NOW.date())
        old_entries = conn.execute(select(ledger.c.kind).where(ledger.c.bill_no == OLD,
                                                               ledger.c.kind == "payment")
                                   ).all()
        exc = list_exceptions(conn)[0]
    assert (paid.bill_no, paid.status, paid.amount) == (NEW, "success", 100000)
    assert (line.outcome, line.payment_id, line.bill_no) == ("superseded", paid.id, OLD)
    assert new_state.state == "part_paid" and new_state.balance == 123450
    assert old_entries == []  # the old bill is not paid twice over
    assert balance(store) == before - 100000  # the account counts it once
    assert (exc.outcome, exc.bill_no, exc.suggested) == ("superseded", NEW, "review")
    assert f"superseded by {NEW}: applied to {NEW}" in exc.message
    # the channel's callback for the old bill arrives late: the same payment
    late = callback_for_old_bill(store, best_config, 100000)
    assert late.status == 200 and late.body["result"] == "duplicate"
    assert count(store, ledger, ledger.c.kind == "payment") == 1
    # one SMS, for the newer bill (part paid: it still owes the current charges)
    assert count(store, outbox) == 1
    assert count(store, outbox, outbox.c.template == "payment_part_received") == 1


def test_newer_bill_already_paid_the_money_is_an_account_credit(
        store: Store, best_config: Config, tmp_path: Path) -> None:
    two_bills(store, old_amount=5000)
    pay(store, best_config, "razorpay", "pay_new", NEW, 128450, now=NOW)
    report = import_settlement(store, best_config, late_line(tmp_path, 5000), "razorpay",
                               now=NOW)
    assert report.counts["superseded"] == 1
    with store.connect() as conn:
        refund = conn.execute(select(refunds_due)).one()
        state = bill_status(conn, find_bill(conn, NEW), NOW.date())
        exc = list_exceptions(conn)[0]
    assert state.state == "credit" and state.balance == -5000
    assert (refund.bill_no, refund.account_no, refund.amount) == (NEW, ACCOUNT, 5000)
    assert "superseded bill " + OLD in refund.reason
    assert "credit 50.00 on the account" in exc.message


def test_a_callback_first_for_the_old_bill_stays_where_it_was_reported(
        store: Store, best_config: Config, tmp_path: Path) -> None:
    two_bills(store)
    pay(store, best_config, "razorpay", "pay_late", OLD, 100000, now=NOW, status="pending")
    report = import_settlement(store, best_config, late_line(tmp_path, 100000), "razorpay",
                               now=NOW)
    assert report.counts["superseded"] == 1
    with store.connect() as conn:
        paid = conn.execute(select(payments)).one()
    assert (paid.bill_no, paid.status) == (OLD, "success")  # its key stays with OLD
    assert count(store, ledger, ledger.c.kind == "payment") == 1
