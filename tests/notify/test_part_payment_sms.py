"""The part-payment SMS states the balance still due (issue 10 item 9)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from qrpay.config import Config
from qrpay.importer import import_bills
from qrpay.payments.posting import PaymentIn, post_payment
from qrpay.store import Store
from qrpay.store.schema import outbox
from tests.conftest import SAMPLES

PAID_AT = dt.datetime(2026, 11, 25, 6, 0, tzinfo=dt.UTC)  # before the due date


def _pay(store: Store, config: Config, txn: str, amount: int) -> None:
    with store.begin() as conn:
        post_payment(conn, config, PaymentIn(channel="bkash", txn_id=txn,
                                             bill_no="2611104231245", amount=amount,
                                             currency="BDT", paid_at=PAID_AT))


def _bodies(store: Store) -> list[tuple[str, str]]:
    with store.connect() as conn:
        return [(r.template, r.body) for r in conn.execute(
            select(outbox.c.template, outbox.c.body).order_by(outbox.c.id))]


def test_part_payment_sms_states_the_balance_then_the_last_one_does_not(
        store: Store, breb_config: Config) -> None:
    assert import_bills(store, breb_config, SAMPLES / "bills-breb.csv").ok
    _pay(store, breb_config, "BK1", 50_000)  # of ৳ 929.72
    _pay(store, breb_config, "BK2", 42_972)  # the rest
    (first_kind, first), (last_kind, last) = _bodies(store)
    assert first_kind == "payment_part_received"
    assert "বাকি প্রাপ্য ৳ ৪২৯.৭২" in first and "৳ ৫০০.০০" in first
    assert last_kind == "payment_received" and "বাকি" not in last


def test_english_part_payment_sms_says_balance_due(store: Store, breb_config: Config) -> None:
    from qrpay.notify.messages import payment_context, render_sms

    biller = breb_config.default_biller
    context = payment_context(biller, "en", amount=50_000, bill_no="2611104231245",
                              receipt_no="DPBS1-000000001") | {"due": "Tk 429.72"}
    sms = render_sms(biller, "payment_part_received", "en", context)
    assert sms.body.endswith("Balance due Tk 429.72 - Dhaka Palli Bidyut Samity-1")
    assert sms.encoding == "GSM-7"
