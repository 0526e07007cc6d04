"""``qrpay recon poll`` against local fake servers speaking Razorpay's payments API and
PhonePe's status API: pending payments posted or closed exactly once, with backoff, the
auth each protocol needs, retries of failed requests, and a give-up exception."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from qrpay.channels import handle_callback
from qrpay.channels.razorpay import sign
from qrpay.config import Config
from qrpay.recon.poll import poll_channels
from qrpay.store import Store
from qrpay.store.schema import ledger, outbox, payments, recon_exceptions
from tests.fakes.jsonhttp import JsonFake

from .conftest import add_bill, count, pay

T0 = dt.datetime(2026, 11, 21, 6, 0, tzinfo=dt.UTC)
SALT = "phonepe-salt-key"


class Fake(JsonFake):
    """Razorpay's ``GET /v1/payments/{id}`` and PhonePe's status path, keyed by path."""

    @staticmethod
    def authorised(path: str, headers: Any) -> bool:
        if path.startswith("/v1/payments/"):
            token = base64.b64encode(b"rzp_key:rzp_secret").decode()
            return headers.get("Authorization") == f"Basic {token}"
        want = hashlib.sha256((path + SALT).encode()).hexdigest() + "###1"
        return headers.get("X-VERIFY") == want and headers.get("X-MERCHANT-ID") == "M1"


@pytest.fixture
def fake() -> Iterator[tuple[Fake, str]]:
    f = Fake()
    with f.serve() as url:
        yield f, url


@pytest.fixture
def poll_config(best_config: Config, fake, monkeypatch: pytest.MonkeyPatch) -> Config:
    _, url = fake
    monkeypatch.setenv("QRPAY_STATUS_RAZORPAY_KEY_ID", "rzp_key")
    monkeypatch.setenv("QRPAY_STATUS_RAZORPAY_KEY_SECRET", "rzp_secret")
    monkeypatch.setenv("QRPAY_STATUS_PHONEPE_SALT_KEY", SALT)
    channels = dict(best_config.channels)
    channels["razorpay"] = dataclasses.replace(channels["razorpay"], settings={"status": {
        "api": "razorpay", "base_url": url, "pending_after_minutes": 15, "give_up_hours": 72}})
    channels["phonepe"] = dataclasses.replace(channels["phonepe"], settings={"status": {
        "api": "phonepe", "base_url": url, "merchant_id": "M1", "salt_index": "1"}})
    return dataclasses.replace(best_config, channels=channels)


def rzp(status: str, amount: int = 123450) -> tuple[int, dict[str, Any]]:
    return 200, {"id": "pay_P1", "entity": "payment", "amount": amount, "currency": "INR",
                 "status": status, "method": "upi", "acquirer_data": {"rrn": "633000000001"}}


def phonepe(code: str) -> tuple[int, dict[str, Any]]:
    return 200, {"success": code == "PAYMENT_SUCCESS", "code": code, "data": {
        "merchantId": "M1", "merchantTransactionId": "PP1", "amount": 123450,
        "state": "COMPLETED", "paymentInstrument": {"type": "UPI", "utr": "412300000009"}}}


def status_of(store: Store, txn: str) -> str:
    with store.connect() as conn:
        return str(conn.execute(select(payments.c.status).where(
            payments.c.txn_id == txn)).scalar_one())


def no_sleep(_: float) -> None:
    pass


def test_pending_razorpay_payment_posted_once_with_backoff(store: Store, poll_config: Config,
                                                           fake) -> None:
    f, _ = fake
    add_bill(store, "B2611A00000001")
    pay(store, poll_config, "razorpay", "pay_P1", "B2611A00000001", 123450, status="pending",
        now=T0 - dt.timedelta(minutes=20))
    path = "/v1/payments/pay_P1"
    f.answers[path] = [rzp("authorized"), rzp("captured")]
    first = poll_channels(store, poll_config, now=T0, sleep=no_sleep)
    assert first.outcomes == {"still_pending": 1} and f.hits[path] == 1
    # a minute later: age 21 min crossed no threshold (15, 30, 60...): not asked again
    poll_channels(store, poll_config, now=T0 + dt.timedelta(minutes=1), sleep=no_sleep)
    assert f.hits[path] == 1
    done = poll_channels(store, poll_config, now=T0 + dt.timedelta(minutes=11), sleep=no_sleep)
    assert done.outcomes == {"posted": 1} and f.hits[path] == 2
    assert status_of(store, "pay_P1") == "success"
    poll_channels(store, poll_config, now=T0 + dt.timedelta(hours=3), sleep=no_sleep)
    assert f.hits[path] == 2  # no longer pending: not asked
    # the webhook arrives after all: a duplicate, one ledger entry, one SMS
    body = json.dumps({"event": "payment.captured", "payload": {"payment": {"entity": {
        "id": "pay_P1", "amount": 123450, "currency": "INR", "status": "captured",
        "notes": {"bill_no": "B2611A00000001"}}}}}).encode()
    late = handle_callback(store, poll_config, "razorpay", {
        "X-Razorpay-Signature": sign("test-secret-razorpay", body)}, body, "127.0.0.1",
        now=T0 + dt.timedelta(hours=4))
    assert late.body["result"] == "duplicate"
    assert count(store, ledger, ledger.c.kind == "payment") == 1
    assert count(store, outbox, outbox.c.template == "payment_received") == 1
    assert f.bad == 0


def test_phonepe_failed_and_success(store: Store, poll_config: Config, fake) -> None:
    f, _ = fake
    for n, code in enumerate(("PAYMENT_SUCCESS", "PAYMENT_DECLINED")):
        add_bill(store, f"B2611{'AB'[n]}00000001")
        pay(store, poll_config, "phonepe", f"PP{n}", f"B2611{'AB'[n]}00000001", 123450,
            status="pending", now=T0 - dt.timedelta(minutes=30))
        f.answers[f"/pg/v1/status/M1/PP{n}"] = [phonepe(code)]
    result = poll_channels(store, poll_config, now=T0, sleep=no_sleep)
    assert result.outcomes == {"posted": 1, "recorded": 1}
    assert (status_of(store, "PP0"), status_of(store, "PP1")) == ("success", "failed")
    assert f.bad == 0


def test_server_errors_are_retried_then_reported(store: Store, poll_config: Config,
                                                 fake) -> None:
    f, _ = fake
    add_bill(store, "B2611A00000001")
    pay(store, poll_config, "razorpay", "pay_P1", "B2611A00000001", 123450, status="pending",
        now=T0 - dt.timedelta(minutes=20))
    path = "/v1/payments/pay_P1"
    f.answers[path] = [(503, {}), (500, {}), rzp("captured")]
    result = poll_channels(store, poll_config, now=T0, sleep=no_sleep)
    assert result.outcomes == {"posted": 1} and f.hits[path] == 3
    add_bill(store, "B2611B00000001")
    pay(store, poll_config, "razorpay", "pay_P2", "B2611B00000001", 123450, status="pending",
        now=T0)
    f.answers["/v1/payments/pay_P2"] = [(503, {})]
    failed = poll_channels(store, poll_config, now=T0 + dt.timedelta(minutes=20),
                           sleep=no_sleep)
    assert failed.outcomes == {"error": 1} and f.hits["/v1/payments/pay_P2"] == 4
    assert status_of(store, "pay_P2") == "pending"


def test_amount_mismatch_and_give_up(store: Store, poll_config: Config, fake) -> None:
    f, _ = fake
    add_bill(store, "B2611A00000001")
    pay(store, poll_config, "razorpay", "pay_P1", "B2611A00000001", 123450, status="pending",
        now=T0 - dt.timedelta(minutes=20))
    f.answers["/v1/payments/pay_P1"] = [rzp("captured", amount=100)]
    assert poll_channels(store, poll_config, now=T0, sleep=no_sleep).outcomes == {
        "amount_mismatch": 1}
    assert status_of(store, "pay_P1") == "pending"
    add_bill(store, "B2611B00000001")
    pay(store, poll_config, "razorpay", "pay_P2", "B2611B00000001", 123450, status="pending",
        now=T0 - dt.timedelta(hours=80))
    f.answers["/v1/payments/pay_P2"] = [rzp("authorized")]
    out = poll_channels(store, poll_config, now=T0 + dt.timedelta(hours=100), sleep=no_sleep)
    assert out.outcomes.get("stuck_pending") == 1
    with store.connect() as conn:
        kinds = sorted(r.outcome for r in conn.execute(select(recon_exceptions)))
    assert kinds == ["amount_mismatch", "stuck_pending"]
    assert status_of(store, "pay_P2") == "pending"
