"""A NUL (``%00``) anywhere a visitor can put one is refused with a 4xx, on both
backends (PostgreSQL text cannot hold NUL: it used to answer 500 with a traceback)."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from .conftest import auth, callback_body, insert_bill, make_bill, signed_headers


@pytest.mark.parametrize("path", [
    "/b/B2611100000001%00",
    "/b/%00?t=k1.AAAAAAAAAAAA",
    "/b/B2611100000001?t=k1.AAAAAAAAAAA%00",
    "/b/B2611100000001/qr.svg?t=%00",
    "/b/B2611100000001?lang=%00",
])
def test_nul_in_a_bill_page_url_is_a_4xx(client: TestClient, store, path: str) -> None:
    insert_bill(store, make_bill())
    r = client.get(path)
    assert 400 <= r.status_code < 500, r.text


def test_nul_in_the_bill_api_path_is_a_4xx_with_a_code(client: TestClient, store,
                                                        api_key: str) -> None:
    insert_bill(store, make_bill())
    r = client.get("/api/v1/bills/B26111%0000001", headers=auth(api_key))
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "nul_character"


def test_nul_in_a_scan_payload_is_a_4xx(client: TestClient, store, api_key: str) -> None:
    r = client.post("/api/v1/scan", json={"payload": "B2611100000001\u0000"},
                    headers=auth(api_key))
    assert 400 <= r.status_code < 500, r.text


@pytest.mark.parametrize("field", ["txn_id", "bill_no", "payer", "event_id"])
def test_nul_in_a_callback_field_is_a_4xx(client: TestClient, store, field: str) -> None:
    insert_bill(store, make_bill())
    data = json.loads(callback_body("NUL-1", "B2611100000001", "1234.50"))
    data[field] = str(data[field]) + "\u0000x"
    body = json.dumps(data).encode()
    r = client.post("/api/v1/callbacks/upi", content=body, headers=signed_headers(body))
    assert 400 <= r.status_code < 500, r.text
