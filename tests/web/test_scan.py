from __future__ import annotations

from starlette.testclient import TestClient

from qrpay.config import Config
from qrpay.payload import bill_payload
from qrpay.store import Store

from .conftest import auth, bd_bill, insert_bill, make_bill


def scan(client: TestClient, key: str, payload: str) -> dict:
    r = client.post("/api/v1/scan", json={"payload": payload}, headers=auth(key))
    assert r.status_code == 200, r.text
    return r.json()


def test_scan_of_a_bill_qr_is_genuine_with_bill_and_status(
        client: TestClient, store: Store, best_config: Config, api_key: str) -> None:
    bill = insert_bill(store, make_bill())
    out = scan(client, api_key, bill_payload(bill, best_config.biller("best"), best_config))
    assert out["verdict"] == "genuine"
    assert out["bill_no"] == bill.bill_no
    assert out["amount"] == "1234.50"
    assert out["bill"]["name"] == bill.name
    assert out["status"]["state"] == "unpaid"


def test_scan_with_the_amount_changed_is_altered(client: TestClient, store: Store,
                                                 best_config: Config, api_key: str) -> None:
    bill = insert_bill(store, make_bill())
    payload = bill_payload(bill, best_config.biller("best"), best_config)
    out = scan(client, api_key, payload.replace("am=1234.50", "am=1.00"))
    assert out["verdict"] == "altered"
    assert out["bill"]["bill_no"] == bill.bill_no


def test_scan_of_someone_elses_upi_qr_is_foreign_without_a_bill(
        client: TestClient, api_key: str) -> None:
    out = scan(client, api_key, "upi://pay?pa=shop@okicici&pn=Shop&am=10.00&cu=INR")
    assert out["verdict"] == "foreign"
    assert out["bill"] is None


def test_scan_of_plain_text_is_invalid(client: TestClient, api_key: str) -> None:
    out = scan(client, api_key, "hello")
    assert out["verdict"] == "invalid"
    assert out["code"]
    assert out["status"] is None


def test_scan_of_a_bangla_qr_is_genuine(breb_client: TestClient, store: Store,
                                        breb_config: Config, api_key: str) -> None:
    bill = insert_bill(store, bd_bill())
    payload = bill_payload(bill, breb_config.biller(bill.biller), breb_config)
    out = scan(breb_client, api_key, payload)
    assert out["verdict"] == "genuine"
    assert out["status"]["currency"] == "BDT"
    assert out["bill"]["amount"] == "929.72"


def test_scan_of_a_genuine_qr_for_a_bill_not_in_the_store_has_no_bill(
        client: TestClient, best_config: Config, api_key: str) -> None:
    bill = make_bill("B2611100000009")
    out = scan(client, api_key, bill_payload(bill, best_config.biller("best"), best_config))
    assert out["verdict"] == "genuine"
    assert out["bill"] is None
