from __future__ import annotations

from starlette.testclient import TestClient

from qrpay.apikeys import revoke_key
from qrpay.store import Store

from .conftest import auth, insert_bill, make_bill


def test_bill_lookup_without_a_key_is_401_missing_api_key(client: TestClient) -> None:
    r = client.get("/api/v1/bills/B2611100000001")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "missing_api_key"
    assert r.headers["www-authenticate"] == "Bearer"


def test_scan_without_a_key_is_401(client: TestClient) -> None:
    r = client.post("/api/v1/scan", json={"payload": "upi://pay?pa=x@y"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "missing_api_key"


def test_malformed_key_is_401_bad_api_key(client: TestClient) -> None:
    r = client.get("/api/v1/bills/B1", headers=auth("not-a-key"))
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "bad_api_key"


def test_unknown_key_of_the_right_shape_is_401(client: TestClient, api_key: str) -> None:
    forged = api_key[:-4] + ("AAAA" if not api_key.endswith("AAAA") else "BBBB")
    r = client.get("/api/v1/bills/B1", headers=auth(forged))
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "bad_api_key"


def test_revoked_key_is_401_revoked(client: TestClient, store: Store, api_key: str) -> None:
    revoke_key(store, api_key[:12])
    r = client.get("/api/v1/bills/B1", headers=auth(api_key))
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "revoked_api_key"


def test_unknown_bill_is_404_unknown_bill(client: TestClient, api_key: str) -> None:
    r = client.get("/api/v1/bills/B2611199999999", headers=auth(api_key))
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "unknown_bill"


def test_bill_lookup_gives_bill_and_unpaid_status(client: TestClient, store: Store,
                                                  api_key: str) -> None:
    insert_bill(store, make_bill())
    r = client.get("/api/v1/bills/B2611100000001", headers=auth(api_key))
    assert r.status_code == 200
    body = r.json()
    assert body["bill"]["amount"] == "1234.50"
    assert body["bill"]["account_no"] == "100000001"
    assert body["status"]["state"] == "unpaid"
    assert body["status"]["due_now"] == "1234.50"
    assert body["status"]["currency"] == "INR"


def test_bill_lookup_accepts_devanagari_digits(client: TestClient, store: Store,
                                               api_key: str) -> None:
    insert_bill(store, make_bill())
    r = client.get("/api/v1/bills/B२६१११०००००००१", headers=auth(api_key))
    assert r.status_code == 200
    assert r.json()["bill"]["bill_no"] == "B2611100000001"


def test_scan_with_a_body_that_is_not_json_is_422(client: TestClient, api_key: str) -> None:
    r = client.post("/api/v1/scan", content=b"{nope", headers=auth(api_key))
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_json"


def test_scan_without_payload_is_422_missing_payload(client: TestClient,
                                                     api_key: str) -> None:
    r = client.post("/api/v1/scan", json={"text": "x"}, headers=auth(api_key))
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "missing_payload"
    assert r.json()["error"]["field"] == "payload"
