from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from qrpay.config import Config
from qrpay.payments.adapters import get_adapter
from qrpay.payments.adapters.phonepe import x_verify
from qrpay.payments.adapters.razorpay import sign as razorpay_sign
from qrpay.payments.callbacks import handle_callback
from qrpay.store import Store

from .conftest import add_bill

NOW = dt.datetime(2024, 6, 10, 6, 0, tzinfo=dt.UTC)


def razorpay_body(event: str = "payment.captured", amount: object = 123450,
                  bill_no: str = "B2405100000001") -> bytes:
    entity = {"id": "pay_Nx1", "entity": "payment", "amount": amount, "currency": "INR",
              "status": "captured", "method": "upi", "vpa": "ravi@okaxis",
              "notes": {"bill_no": bill_no}, "acquirer_data": {"rrn": "412345678901"},
              "created_at": 1718000000}
    return json.dumps({"entity": "event", "account_id": "acc_1", "event": event,
                       "contains": ["payment"], "payload": {"payment": {"entity": entity}},
                       "created_at": 1718000001}).encode()


def razorpay(store: Store, config: Config, raw: bytes, secret: str = "test-secret-razorpay"):
    headers = {"X-Razorpay-Signature": razorpay_sign(secret, raw),
               "X-Razorpay-Event-Id": "evt_9"}
    return handle_callback(store, config, "razorpay", headers, raw, None, now=NOW)


def phonepe_body(code: str = "PAYMENT_SUCCESS", amount: int = 123450) -> tuple[bytes, str]:
    doc = {"success": code == "PAYMENT_SUCCESS", "code": code, "message": "done",
           "data": {"merchantId": "BESTUT", "merchantTransactionId": "B2405100000001_1",
                    "transactionId": "T2406101130", "amount": amount, "state": "COMPLETED",
                    "responseCode": "SUCCESS", "unknownField": 1,
                    "paymentInstrument": {"type": "UPI", "utr": "412345678902"}}}
    b64 = base64.b64encode(json.dumps(doc).encode()).decode()
    return json.dumps({"response": b64}).encode(), b64


def phonepe(store: Store, config: Config, raw: bytes, xv: str):
    return handle_callback(store, config, "phonepe", {"X-VERIFY": xv}, raw, None, now=NOW)


def test_razorpay_captured_posts_paise_amount(store: Store, best_config: Config) -> None:
    add_bill(store)
    res = razorpay(store, best_config, razorpay_body())
    assert (res.status, res.body["result"], res.body["amount"]) == (200, "posted", "1234.50")


def test_razorpay_failed_is_recorded_and_other_events_ignored(store: Store,
                                                              best_config: Config) -> None:
    add_bill(store)
    assert razorpay(store, best_config, razorpay_body("payment.failed")).body["result"] == (
        "recorded")
    res = razorpay(store, best_config, razorpay_body("order.paid"))
    assert (res.status, res.body["result"]) == (200, "ignored")


def test_razorpay_signed_with_key_secret_is_rejected(store: Store, best_config: Config) -> None:
    add_bill(store)
    res = razorpay(store, best_config, razorpay_body(), secret="rzp_key_secret")
    assert (res.status, res.body["error"]["code"]) == (401, "bad_signature")


def test_razorpay_float_amount_is_refused(store: Store, best_config: Config) -> None:
    add_bill(store)
    res = razorpay(store, best_config, razorpay_body(amount=1234.5))
    assert (res.status, res.body["error"]["code"]) == (400, "invalid_amount")


def test_phonepe_x_verify_posts(store: Store, best_config: Config) -> None:
    add_bill(store)
    raw, b64 = phonepe_body()
    res = phonepe(store, best_config, raw, x_verify(b64, "test-secret-phonepe", "1"))
    assert (res.status, res.body["result"], res.body["bill_no"]) == (200, "posted",
                                                                     "B2405100000001")


def test_phonepe_wrong_salt_index_or_key_is_rejected(store: Store, best_config: Config) -> None:
    add_bill(store)
    raw, b64 = phonepe_body()
    for xv in (x_verify(b64, "test-secret-phonepe", "2"), x_verify(b64, "other", "1")):
        res = phonepe(store, best_config, raw, xv)
        assert (res.status, res.body["error"]["code"]) == (401, "bad_signature")


def test_phonepe_payment_error_is_recorded_as_failed(store: Store, best_config: Config) -> None:
    add_bill(store)
    raw, b64 = phonepe_body("PAYMENT_ERROR")
    res = phonepe(store, best_config, raw, x_verify(b64, "test-secret-phonepe", "1"))
    assert (res.body["result"], res.body["status"]) == ("recorded", "failed")


def test_unknown_adapter_name_is_a_config_error() -> None:
    from qrpay.errors import ConfigError

    with pytest.raises(ConfigError) as exc:
        get_adapter("paytm")
    assert exc.value.code == "unknown_adapter"
