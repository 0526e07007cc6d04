"""BBPS biller contract as Setu publishes it (shared/research/setu-bbps): bills/fetch and
bills/fetchReceipt with its field names, statuses, error codes and amounts in paise."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from qrpay.config import Config
from qrpay.store import Store
from qrpay.store.schema import payments
from qrpay.web.app import create_app
from tests.biller.conftest import PASSWORDS, add, in_bill, with_raw

AUTH = {"Authorization": "Basic " + base64.b64encode(
    f"bbps:{PASSWORDS['QRPAY_CHANNEL_PASSWORD_BBPS']}".encode()).decode()}


@pytest.fixture
def client(best: Config, store: Store) -> TestClient:
    return TestClient(create_app(best, store, start_sender=False))


def fetch(client: TestClient, name: str, value: str, **kw: Any) -> Any:
    return client.post("/api/v1/biller/bbps/bills/fetch", headers=kw.get("headers", AUTH),
                       json={"customerIdentifiers": [{"attributeName": name,
                                                      "attributeValue": value}]})


def receipt(client: TestClient, bill_id: str, paise: int, ref: str) -> Any:
    return client.post("/api/v1/biller/bbps/bills/fetchReceipt", headers=AUTH, json={
        "platformBillID": "906910589572351478", "billerBillID": bill_id,
        "paymentDetails": {"amountPaid": {"value": paise, "currencyCode": "INR"},
                           "billAmount": {"value": paise, "currencyCode": "INR"},
                           "platformTransactionRefID": "26602931-3b6a-4c87-a14d-5d7cf584008f",
                           "uniquePaymentRefID": ref, "instrument": "UPI",
                           "additionalInfo": None, "transactionNote": "",
                           "transactionTimestamp": "2026-12-01T03:05:22.000Z",
                           "campaignID": ""}})


def test_fetch_available_bill_in_paise(client: TestClient, store: Store) -> None:
    bill = add(store, in_bill())[0]
    r = fetch(client, "customerId", "100000000")
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True and body["status"] == 200
    details = body["data"]["billDetails"]
    assert details["billFetchStatus"] == "AVAILABLE"
    [got] = details["bills"]
    assert got["billerBillID"] == bill.bill_no
    assert got["customerAccount"] == {"id": "100000000"}
    assert got["aggregates"]["total"]["amount"] == {"value": 190900, "currencyCode": "INR"}
    assert got["amountExactness"] == "EXACT"
    assert got["recurrence"] == "MONTHLY"
    assert got["generatedOn"] < got["dueDate"]
    assert len(got["items"]) <= 4
    assert body["data"]["customer"]["name"] == bill.name


def test_fetch_in_devanagari_digits_and_by_mobile(client: TestClient, store: Store) -> None:
    add(store, in_bill(), in_bill("100000001", mobile="+919177777868"))
    assert fetch(client, "customerId", "१००००००००").status_code == 200
    r = fetch(client, "mobileNumber", "91777 77868")
    assert {b["customerAccount"]["id"] for b in r.json()["data"]["billDetails"]["bills"]} == {
        "100000000", "100000001"}


def test_fetch_no_outstanding_not_found_and_insufficient(client: TestClient,
                                                        store: Store) -> None:
    add(store, in_bill(amount=0, late_amount=0))
    r = fetch(client, "customerId", "100000000")
    assert r.status_code == 200
    assert r.json()["data"]["billDetails"] == {"billFetchStatus": "NO_OUTSTANDING", "bills": []}
    r = fetch(client, "customerId", "999999999")
    assert r.status_code == 400 and r.json()["error"]["code"] == "customer-not-found"
    assert r.json()["success"] is False and r.json()["error"]["traceID"]
    r = fetch(client, "panNumber", "ABCDE1234F")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "insufficient-customer-identifiers"


def test_fetch_bad_credentials(client: TestClient, store: Store) -> None:
    add(store, in_bill())
    bad = {"Authorization": "Basic " + base64.b64encode(b"bbps:wrong").decode()}
    r = fetch(client, "customerId", "100000000", headers=bad)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorised"
    assert "data" not in r.json()


def test_fetch_receipt_deduplicated_on_unique_payment_ref(client: TestClient,
                                                          store: Store) -> None:
    bill = add(store, in_bill())[0]
    first = receipt(client, bill.bill_no, 190900, "PP012151MYB616O9BSY1")
    assert first.status_code == 200, first.text
    again = receipt(client, bill.bill_no, 190900, "PP012151MYB616O9BSY1")
    assert again.status_code == 200
    assert again.json()["data"]["receipt"] == first.json()["data"]["receipt"]
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(payments)).scalar() == 1
    other = receipt(client, bill.bill_no, 190900, "PP0OTHER")
    assert other.status_code == 400
    assert other.json()["error"]["code"] == "bill-already-fulfilled"
    r = fetch(client, "customerId", "100000000")
    assert r.json()["data"]["billDetails"]["billFetchStatus"] == "NO_OUTSTANDING"


def test_fetch_receipt_unknown_bill_and_wrong_amount(client: TestClient, store: Store) -> None:
    bill = add(store, in_bill())[0]
    r = receipt(client, "B2611999999999", 190900, "R1")
    assert r.status_code == 400 and r.json()["error"]["code"] == "bill-not-found"
    r = receipt(client, bill.bill_no, 100000, "R2")
    assert r.status_code == 400 and r.json()["error"]["code"] == "incorrect-amount"


def test_part_payment_exact_down_with_minimum(best: Config, store: Store) -> None:
    cfg = with_raw(best, billers={"best": {"amount_rule": "exact_down",
                                           "min_amount": "500.00"}})
    from tests.biller.conftest import with_channels

    client = TestClient(create_app(with_channels(cfg, "bbps"), store, start_sender=False))
    bill = add(store, in_bill())[0]
    got = fetch(client, "customerId", "100000000").json()["data"]["billDetails"]["bills"][0]
    assert got["amountExactness"] == "EXACT_DOWN"
    assert got["validationRules"] == {"amount": {"minimum": 50000, "maximum": 190900}}
    assert receipt(client, bill.bill_no, 49999, "M1").json()["error"]["code"] == (
        "incorrect-amount")
    assert receipt(client, bill.bill_no, 50000, "M2").status_code == 200
    left = fetch(client, "customerId", "100000000").json()["data"]["billDetails"]["bills"][0]
    assert left["aggregates"]["total"]["amount"]["value"] == 140900


def test_after_due_date_the_late_amount_is_fetched_and_accepted(client: TestClient,
                                                                store: Store) -> None:
    bill = add(store, in_bill(due_in=-2, late_amount=193286))[0]
    got = fetch(client, "customerId", "100000000").json()["data"]["billDetails"]["bills"][0]
    assert got["aggregates"]["total"]["amount"]["value"] == 193286
    assert {"displayName": "late_fee", "aggregates": {"total": {
        "value": 2386, "currencyCode": "INR"}}} in got["items"]
    assert receipt(client, bill.bill_no, 190900, "LATE1").json()["error"]["code"] == (
        "incorrect-amount")
    assert receipt(client, bill.bill_no, 193286, "LATE2").status_code == 200


def test_after_the_cutoff_fetch_says_no_outstanding_and_receipt_bill_expired(
        best: Config, store: Store) -> None:
    from tests.biller.conftest import with_channels

    cfg = with_channels(with_raw(best, billers={"best": {"cutoff_days": 5}}), "bbps")
    client = TestClient(create_app(cfg, store, start_sender=False))
    bill = add(store, in_bill(due_in=-6, late_amount=193286))[0]
    body = fetch(client, "customerId", "100000000").json()["data"]["billDetails"]
    assert body["billFetchStatus"] == "NO_OUTSTANDING"
    r = receipt(client, bill.bill_no, 193286, "CUT1")
    assert r.status_code == 400 and r.json()["error"]["code"] == "bill-expired"


def test_malformed_body_is_answered_in_setu_words_and_journalled(client: TestClient,
                                                                  store: Store) -> None:
    r = client.post("/api/v1/biller/bbps/bills/fetch", headers={**AUTH,
                    "content-type": "application/json"}, content=b"{not json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed-request"
    from qrpay.biller.journal import journal_for
    from qrpay.store.schema import channel_requests

    journal_for(store).flush()
    with store.connect() as conn:
        rows = conn.execute(select(channel_requests.c.body, channel_requests.c.outcome,
                                   channel_requests.c.headers)).all()
    assert [(bytes(r.body), r.outcome) for r in rows] == [(b"{not json", "malformed_request")]
    assert "authorization" not in rows[0].headers.lower() and "Basic" not in rows[0].headers


def test_fetch_receipt_missing_fields_are_invalid_param_and_post_nothing(
        client: TestClient, store: Store) -> None:
    bill = add(store, in_bill())[0]
    bodies = [{"billerBillID": bill.bill_no},  # no paymentDetails
              {"billerBillID": bill.bill_no, "paymentDetails": {  # no payment reference
                  "amountPaid": {"value": 190900, "currencyCode": "INR"}}},
              {"paymentDetails": {"amountPaid": {"value": 190900}, "uniquePaymentRefID": "U1"}}]
    for body in bodies:
        r = client.post("/api/v1/biller/bbps/bills/fetchReceipt", headers=AUTH, json=body)
        assert r.status_code == 400, body
        assert r.json()["error"]["code"] == "invalid-param", r.json()
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(payments)).scalar() == 0
