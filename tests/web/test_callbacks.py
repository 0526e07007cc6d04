"""The HTTP wiring of payment callbacks: raw bytes in, handle_callback's answer out."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from starlette.testclient import TestClient

from qrpay.store import Store
from qrpay.store.schema import callbacks, payments

from .conftest import callback_body, insert_bill, make_bill, signed_headers

URL = "/api/v1/callbacks/upi"


def post(client: TestClient, body: bytes, headers: dict[str, str] | None = None,
         url: str = URL):
    return client.post(url, content=body, headers=headers or signed_headers(body))


def count(store: Store, table) -> int:  # type: ignore[no-untyped-def]
    with store.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_signed_callback_is_posted_with_a_receipt(client: TestClient, store: Store) -> None:
    insert_bill(store, make_bill())
    r = post(client, callback_body("TXN1", "B2611100000001", "1234.50"))
    assert r.status_code == 200
    assert r.json()["result"] == "posted"
    assert r.json()["receipt_no"]


def test_repeat_gets_the_same_answer_and_no_second_payment(client: TestClient,
                                                           store: Store) -> None:
    insert_bill(store, make_bill())
    body = callback_body("TXN1", "B2611100000001", "1234.50")
    first = post(client, body).json()
    again = post(client, body).json()
    assert again["result"] == "duplicate"
    assert again["receipt_no"] == first["receipt_no"]
    assert count(store, payments) == 1


def test_signature_is_checked_on_the_raw_bytes_not_a_reserialised_body(
        client: TestClient, store: Store) -> None:
    insert_bill(store, make_bill(amount=110, late_amount=None))
    raw = (b'{"event_id": "e1", "txn_id": "TXNU", "bill_no": "B2611100000001", '
           b'"amount": "1.10", "currency": "INR", "status": "success", '
           b'"payer": "\\u0930\\u0935\\u093f@upi", "utr": "123456789012"}')
    headers = signed_headers(raw)
    reserialised = json.dumps(json.loads(raw), ensure_ascii=False).encode()
    assert post(client, reserialised, headers).status_code == 401
    r = post(client, raw, headers)
    assert r.status_code == 200
    assert r.json()["result"] == "posted"
    with store.connect() as conn:
        stored = conn.execute(select(callbacks.c.body).order_by(callbacks.c.id)).scalars()
        assert list(stored)[-1] == raw


def test_wrong_secret_is_401_and_nothing_posted(client: TestClient, store: Store) -> None:
    insert_bill(store, make_bill())
    body = callback_body("TXN1", "B2611100000001", "1234.50")
    r = post(client, body, signed_headers(body, secret="not-the-secret"))
    assert r.status_code == 401
    assert r.json()["error"]["code"]
    assert count(store, payments) == 0


def test_unsigned_callback_is_401(client: TestClient, store: Store) -> None:
    body = callback_body("TXN1", "B2611100000001", "1234.50")
    r = post(client, body, {"Content-Type": "application/json"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "missing_signature"


def test_unknown_channel_is_404_unknown_channel(client: TestClient) -> None:
    body = callback_body("TXN1", "B2611100000001", "1234.50")
    r = post(client, body, url="/api/v1/callbacks/nosuch")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "unknown_channel"


def test_unknown_bill_is_recorded_and_answered_4xx(client: TestClient, store: Store) -> None:
    body = callback_body("TXN1", "B2611199999999", "10.00")
    r = post(client, body)
    assert 400 <= r.status_code < 500
    assert r.json()["error"]["code"] == "unknown_bill"
    assert count(store, callbacks) == 1


def test_oversized_callback_is_refused_before_storing(client: TestClient,
                                                      store: Store) -> None:
    body = b"{" + b" " * (70 * 1024) + b"}"
    r = post(client, body)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "too_large"
