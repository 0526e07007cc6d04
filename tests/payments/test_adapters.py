from __future__ import annotations

import base64
import copy
import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from qrpay.bills import find_bill
from qrpay.channels import callback_format, handle_callback
from qrpay.channels.generic import sign as generic_sign
from qrpay.channels.phonepe import x_verify
from qrpay.channels.razorpay import sign as razorpay_sign
from qrpay.config import Config
from qrpay.payments.ledger import bill_status
from qrpay.store import Store
from qrpay.store.schema import callbacks, ledger

from .conftest import add_bill, insert_bill, make_bill

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
    assert (res.status, res.body["error"]["code"]) == (422, "invalid_amount")


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
        callback_format("paytm")
    assert exc.value.code == "unknown_adapter"


# --- a non-ASCII signature header is a bad signature, not a crash ----------------------

@pytest.mark.parametrize(("channel", "header", "value"), [
    ("upi", "X-Qrpay-Signature", f"t={int(NOW.timestamp())},v1=\xe9abc"),
    ("razorpay", "X-Razorpay-Signature", "\xe9"),
    ("phonepe", "X-VERIFY", "\xe9###1"),
])
def test_non_ascii_signature_is_401_bad_signature(store: Store, best_config: Config,
                                                  channel: str, header: str,
                                                  value: str) -> None:
    add_bill(store)
    raw = phonepe_body()[0] if channel == "phonepe" else razorpay_body()
    res = handle_callback(store, best_config, channel, {header: value}, raw, None, now=NOW)
    assert (res.status, res.body["error"]["code"]) == (401, "bad_signature")
    with store.connect() as conn:
        row = conn.execute(select(callbacks).where(callbacks.c.id == res.callback_id)).one()
    assert (row.result, row.signature_ok) == ("bad_signature", False)


# --- Razorpay refunds -----------------------------------------------------------------

def refund_body(refund: int, *, refunded_so_far: int | None = None, rid: str = "rfnd_1",
                amount: int = 123450) -> bytes:
    total = refund if refunded_so_far is None else refunded_so_far
    full = total >= amount
    payment = json.loads(razorpay_body(amount=amount))["payload"]["payment"]["entity"]
    payment.update(status="refunded" if full else "captured", captured=True,
                   amount_refunded=total, refund_status="full" if full else "partial")
    entity = {"id": rid, "entity": "refund", "amount": refund, "currency": "INR",
              "payment_id": "pay_Nx1", "notes": {}, "status": "processed",
              "created_at": 1718100000}
    return json.dumps({"entity": "event", "account_id": "acc_1", "event": "refund.processed",
                       "contains": ["refund", "payment"],
                       "payload": {"refund": {"entity": entity},
                                   "payment": {"entity": payment}}}).encode()


def kinds(store: Store) -> list[str]:
    with store.connect() as conn:
        return [k for (k,) in conn.execute(select(ledger.c.kind).order_by(ledger.c.id))]


def bill_state(store: Store) -> str:
    with store.connect() as conn:
        bill = find_bill(conn, "B2405100000001")
        assert bill is not None
        return bill_status(conn, bill, NOW.date()).state


def test_razorpay_full_refund_reverses_the_posted_payment(store: Store,
                                                          best_config: Config) -> None:
    add_bill(store)
    posted = razorpay(store, best_config, razorpay_body())
    refund = razorpay(store, best_config, refund_body(123450))
    again = razorpay(store, best_config, refund_body(123450))
    assert (refund.status, refund.body["result"], refund.body["status"]) == (
        200, "reversed", "reversed")
    assert refund.body["receipt_no"] == posted.body["receipt_no"]
    assert again.body["result"] == "duplicate"
    assert kinds(store) == ["charge", "payment", "reversal"]
    assert bill_state(store) == "unpaid"


def test_razorpay_partial_refund_is_recorded_and_leaves_the_bill_paid(
        store: Store, best_config: Config) -> None:
    add_bill(store)
    razorpay(store, best_config, razorpay_body())
    res = razorpay(store, best_config, refund_body(50000))
    assert (res.status, res.body["result"], res.body["receipt_no"]) == (200, "partial_refund",
                                                                        None)
    assert "500.00" in res.body["reason"]
    with store.connect() as conn:
        row = conn.execute(select(callbacks).where(callbacks.c.id == res.callback_id)).one()
    assert (row.result, row.txn_id, row.signature_ok) == ("partial_refund", "pay_Nx1", True)
    assert kinds(store) == ["charge", "payment"]
    assert bill_state(store) == "paid"


def test_razorpay_partial_refunds_that_add_up_reverse_the_payment(
        store: Store, best_config: Config) -> None:
    add_bill(store)
    razorpay(store, best_config, razorpay_body())
    first = razorpay(store, best_config, refund_body(50000))
    last = razorpay(store, best_config, refund_body(73450, refunded_so_far=123450,
                                                    rid="rfnd_2"))
    assert (first.body["result"], last.body["result"]) == ("partial_refund", "reversed")
    assert kinds(store) == ["charge", "payment", "reversal"]


# --- odd shapes from a correctly signed PSP are 422 with a code -------------------------

def phonepe_signed(doc: object) -> tuple[bytes, dict[str, str]]:
    b64 = base64.b64encode(json.dumps(doc).encode()).decode()
    return (json.dumps({"response": b64}).encode(),
            {"X-VERIFY": x_verify(b64, "test-secret-phonepe", "1")})


def phonepe_doc(**data: object) -> dict:
    doc = json.loads(base64.b64decode(json.loads(phonepe_body()[0])["response"]))
    doc["data"].update(data)
    return doc


def razorpay_doc(**entity: object) -> dict:
    doc = json.loads(razorpay_body())
    doc["payload"]["payment"]["entity"].update(entity)
    return doc


ODD = [
    ("phonepe", {**phonepe_doc(), "data": ["x"]}, "bad_field"),
    ("phonepe", {**phonepe_doc(), "data": "x"}, "bad_field"),
    ("phonepe", phonepe_doc(transactionId={"id": 1}), "bad_field"),
    ("phonepe", phonepe_doc(merchantTransactionId="B2405100000001_\u0000"), "bad_field"),
    ("razorpay", {**razorpay_doc(), "payload": ["x"]}, "bad_field"),
    ("razorpay", {**razorpay_doc(), "payload": {"payment": "x"}}, "bad_field"),
    ("razorpay", {**razorpay_doc(), "payload": {"payment": {"entity": [1]}}}, "bad_field"),
    ("razorpay", razorpay_doc(vpa={"a": 1}), "bad_field"),
    ("razorpay", razorpay_doc(id="pay_\ud800"), "bad_field"),
    ("razorpay", {**json.loads(refund_body(100)), "payload": {"refund": 5}}, "bad_field"),
]


@pytest.mark.parametrize(("channel", "doc", "code"), ODD)
def test_odd_shape_from_a_signed_psp_is_422_and_recorded(store: Store, best_config: Config,
                                                         channel: str, doc: dict,
                                                         code: str) -> None:
    add_bill(store)
    if channel == "phonepe":
        raw, headers = phonepe_signed(doc)
    else:
        raw = json.dumps(doc).encode()
        headers = {"X-Razorpay-Signature": razorpay_sign("test-secret-razorpay", raw)}
    res = handle_callback(store, best_config, channel, headers, raw, None, now=NOW)
    assert (res.status, res.body["error"]["code"]) == (422, code)
    with store.connect() as conn:
        row = conn.execute(select(callbacks).where(callbacks.c.id == res.callback_id)).one()
    assert (row.result, row.signature_ok) == (code, True)


def test_razorpay_created_at_beyond_year_9999_is_not_a_crash(store: Store,
                                                             best_config: Config) -> None:
    add_bill(store)
    raw = json.dumps(razorpay_doc(created_at=10**20)).encode()
    res = razorpay(store, best_config, raw)
    assert (res.status, res.body["result"]) == (200, "posted")


@pytest.mark.parametrize(("header", "paid_at", "status", "code"), [
    ("t=\u00b2,v1=ab", None, 401, "bad_signature_header"),
    ("t=" + "9" * 400 + ",v1=ab", None, 401, "bad_signature_header"),
    (None, "0001-01-01T00:00:00+05:30", 422, "bad_paid_at"),
])
def test_generic_odd_header_or_date_is_a_4xx(store: Store, best_config: Config,
                                             header: str | None, paid_at: str | None,
                                             status: int, code: str) -> None:
    add_bill(store)
    raw = json.dumps({"txn_id": "U1", "bill_no": "B2405100000001", "amount": "1234.50",
                      "currency": "INR", "status": "success",
                      **({"paid_at": paid_at} if paid_at else {})}).encode()
    sig = header or generic_sign("test-secret-upi", raw, int(NOW.timestamp()))
    res = handle_callback(store, best_config, "upi", {"X-Qrpay-Signature": sig}, raw, None,
                          now=NOW)
    assert (res.status, res.body["error"]["code"]) == (status, code)


# --- any JSON a correctly signing PSP may send: an answer, never an exception ----------

_NASTY = st.sampled_from(["", "\x00", "\ud800", "\u00b2", "x" * 300, "0001-01-01T00:00+05:30",
                          "PAYMENT_SUCCESS", "B2405100000001", "B2405100000001_1", "INR",
                          "1234.50", "success", "reversed", "refund.processed",
                          "payment.captured"])
_LEAF = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | _NASTY
         | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))
_JSON = st.recursive(_LEAF, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=8) | _NASTY, inner, max_size=3),
                     max_leaves=8)


@st.composite
def _mutated(draw: st.DrawFn, base: dict) -> object:
    """``base`` with one value somewhere inside replaced (or dropped), or any JSON."""
    if draw(st.integers(0, 4)) == 0:
        return draw(_JSON)
    doc = copy.deepcopy(base)
    node = doc
    while True:
        key = draw(st.sampled_from(sorted(node)))
        if isinstance(node[key], dict) and node[key] and draw(st.booleans()):
            node = node[key]
            continue
        if draw(st.integers(0, 5)) == 0:
            del node[key]
        else:
            node[key] = draw(_JSON)
        return doc


def _signed(channel: str, doc: object) -> tuple[bytes, dict[str, str]]:
    if channel == "phonepe":
        return phonepe_signed(doc)
    raw = json.dumps(doc).encode()
    if channel == "razorpay":
        return raw, {"X-Razorpay-Signature": razorpay_sign("test-secret-razorpay", raw),
                     "X-Razorpay-Event-Id": "evt_f"}
    return raw, {"X-Qrpay-Signature": generic_sign("test-secret-upi", raw,
                                                   int(NOW.timestamp()))}


_BASES = {
    "upi": st.just({"event_id": "e1", "txn_id": "U1", "bill_no": "B2405100000001",
                    "amount": "1234.50", "currency": "INR", "status": "success",
                    "paid_at": "2024-06-10T11:30:00+05:30", "payer": "ravi@okaxis",
                    "utr": "412345678901", "mode": "upi"}),
    "razorpay": st.sampled_from([json.loads(razorpay_body()), json.loads(refund_body(123450)),
                                 json.loads(refund_body(100))]),
    "phonepe": st.just(phonepe_doc()),
}


@pytest.mark.parametrize("channel", sorted(_BASES))
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_any_signed_json_gets_an_answer_never_an_exception(
        store: Store, best_config: Config, channel: str, data: st.DataObject) -> None:
    with store.begin() as conn:
        if find_bill(conn, "B2405100000001") is None:
            insert_bill(conn, make_bill())
    doc = data.draw(_BASES[channel].flatmap(_mutated))
    raw, headers = _signed(channel, doc)
    res = handle_callback(store, best_config, channel, headers, raw, None, now=NOW)
    assert res.status in (200, 409, 422), res.body
    json.dumps(res.body, ensure_ascii=False).encode()  # as the web layer sends it
