"""GSMA Mobile Money API v1.2 bill payments: bills by single and multiple identifiers,
bill and bill-payment objects with string amounts, pagination headers, error objects."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from starlette.testclient import TestClient

from qrpay.config import Config
from qrpay.store import Store
from qrpay.web.app import create_app
from tests.biller.conftest import PASSWORDS, add, bd_bill

AUTH = {"Authorization": "Basic " + base64.b64encode(
    f"gsma:{PASSWORDS['QRPAY_CHANNEL_PASSWORD_GSMA']}".encode()).decode()}
BASE = "/api/v1/biller/gsma"


@pytest.fixture
def client(breb: Config, store: Store) -> TestClient:
    return TestClient(create_app(breb, store, start_sender=False))


def pay(client: TestClient, path: str, bill_no: str, amount: str, ref: str,
        **extra: Any) -> Any:
    return client.post(f"{BASE}/accounts/{path}/bills/{bill_no}/payments", headers=AUTH,
                       json={"amountPaid": amount, "currency": "BDT",
                             "requestingOrganisationTransactionReference": ref,
                             "requestingOrganisation": "wallet-x", **extra})


def test_bills_of_an_account(client: TestClient, store: Store) -> None:
    bill = add(store, bd_bill("104231245"))[0]
    r = client.get(f"{BASE}/accounts/accountid/104231245/bills", headers=AUTH)
    assert r.status_code == 200
    assert r.headers["X-Records-Available-Count"] == "1"
    assert r.headers["X-Records-Returned-Count"] == "1"
    [got] = r.json()
    assert got["billReference"] == bill.bill_no
    assert got["billStatus"] == "unpaid"
    assert got["amountDue"] == "929.72" and got["minimumAmountDue"] == "100.00"
    assert got["currency"] == "BDT" and got["dueDate"] == bill.due_date.isoformat()


def test_msisdn_with_several_accounts_and_multiple_identifiers(client: TestClient,
                                                               store: Store) -> None:
    add(store, bd_bill("104231245", mobile="+8801717784483"),
        bd_bill("701410102", biller="khulna-pbs", mobile="+8801717784483"))
    r = client.get(f"{BASE}/accounts/msisdn/+8801717784483/bills", headers=AUTH)
    assert {b["billReference"] for b in r.json()} == {"2611104231245", "2611701410102"}
    r = client.get(f"{BASE}/accounts/msisdn/+8801717784483/bills?limit=1", headers=AUTH)
    assert r.headers["X-Records-Available-Count"] == "2" and len(r.json()) == 1
    r = client.get(f"{BASE}/accounts/accountid@১০৪২৩১২৪৫$msisdn@+8801717784483/bills",
                   headers=AUTH)
    assert [b["billReference"] for b in r.json()] == ["2611104231245"]


def test_pay_partial_then_full_and_list_payments(client: TestClient, store: Store) -> None:
    add(store, bd_bill("104231245"))
    first = pay(client, "accountid/104231245", "2611104231245", "300.00", "W1",
                paymentType="partialpayment")
    assert first.status_code == 201, first.text
    p = first.json()
    assert p["serviceProviderPaymentReference"] and p["billPaymentStatus"] == "approved"
    assert p["amountPaid"] == "300.00" and p["paymentType"] == "partialpayment"
    assert p["requestingOrganisationTransactionReference"] == "W1"
    assert p["serviceProviderNotification"]
    again = pay(client, "accountid/104231245", "2611104231245", "300.00", "W1",
                paymentType="partialpayment")
    assert again.status_code == 201
    assert again.json()["serviceProviderPaymentReference"] == p["serviceProviderPaymentReference"]
    bills = client.get(f"{BASE}/accounts/accountid/104231245/bills", headers=AUTH).json()
    assert bills[0]["billStatus"] == "partialpaid" and bills[0]["amountDue"] == "629.72"
    assert pay(client, "accountid/104231245", "2611104231245", "629.72", "W2",
               paymentType="fullpayment").status_code == 201
    listed = client.get(f"{BASE}/accounts/accountid/104231245/bills/2611104231245/payments",
                        headers=AUTH)
    assert [x["amountPaid"] for x in listed.json()] == ["629.72", "300.00"]
    assert listed.headers["X-Records-Available-Count"] == "2"


def test_refusals_use_gsma_error_objects(client: TestClient, store: Store) -> None:
    add(store, bd_bill("104231245"))
    cases = [
        (pay(client, "accountid/104231245", "2611104231245", "99.00", "E1"),
         400, "businessRule", "underPaymentNotAllowed"),
        (pay(client, "accountid/104231245", "2611104231245", "1000.00", "E2"),
         400, "businessRule", "overPaymentNotAllowed"),
        (pay(client, "accountid/104231245", "2611104231245", "929.725", "E3"),
         400, "validation", "formatError"),
        (pay(client, "accountid/104231245", "2611104231245", "-5", "E4"),
         400, "validation", "formatError"),
        (pay(client, "accountid/999999999", "2611999999999", "10.00", "E5"),
         404, "identification", "identifierError"),
        (client.get(f"{BASE}/accounts/accountid/999999999/bills", headers=AUTH),
         404, "identification", "identifierError"),
        (client.post(f"{BASE}/accounts/accountid/104231245/bills/2611104231245/payments",
                     headers=AUTH, json={"currency": "BDT",
                                         "requestingOrganisationTransactionReference": "E6"}),
         400, "validation", "mandatoryValueNotSupplied"),
        (client.get(f"{BASE}/accounts/accountid/104231245/bills"),
         401, "authorisation", "clientAuthorisationError"),
    ]
    for r, status, category, code in cases:
        assert r.status_code == status, r.text
        body = r.json()
        assert (body["errorCategory"], body["errorCode"]) == (category, code), body
        assert body["errorDateTime"]
    assert pay(client, "accountid/104231245", "2611104231245", "929.72", "E7").status_code == 201
    paid = pay(client, "accountid/104231245", "2611104231245", "929.72", "E8")
    assert paid.status_code == 400 and paid.json()["errorCode"] == "incorrectState"
    bills = client.get(f"{BASE}/accounts/accountid/104231245/bills", headers=AUTH).json()
    assert bills[0]["billStatus"] == "paid" and bills[0]["amountDue"] == "0.00"


def test_after_due_date_amount_due_is_the_late_amount(client: TestClient, store: Store) -> None:
    add(store, bd_bill("701410102", biller="khulna-pbs", amount=51069, due_in=-1,
                       late_amount=53622))
    [got] = client.get(f"{BASE}/accounts/consumerno/701410102/bills", headers=AUTH).json()
    assert got["amountDue"] == "536.22" and got["minimumAmountDue"] == "536.22"
    assert pay(client, "consumerno/701410102", got["billReference"], "510.69",
               "LT1").json()["errorCode"] == "underPaymentNotAllowed"
    assert pay(client, "consumerno/701410102", got["billReference"], "536.22",
               "LT2").status_code == 201


def test_date_filters_on_bills_and_payments(client: TestClient, store: Store) -> None:
    add(store, bd_bill("104231245"))
    base = f"{BASE}/accounts/accountid/104231245/bills"
    [bill] = client.get(base, headers=AUTH).json()
    created = bill["creationDate"]
    assert client.get(f"{base}?fromDateTime={created}", headers=AUTH).json() == [bill]
    assert client.get(f"{base}?toDateTime=2000-01-01T00:00:00Z", headers=AUTH).json() == []
    bad = client.get(f"{base}?fromDateTime=yesterday", headers=AUTH)
    assert bad.status_code == 400 and bad.json()["errorCode"] == "formatError"
    assert pay(client, "accountid/104231245", "2611104231245", "929.72", "D1").status_code == 201
    listed = client.get(f"{base}/2611104231245/payments?toDateTime=2000-01-01T00:00:00Z",
                        headers=AUTH)
    assert listed.json() == [] and listed.headers["X-Records-Available-Count"] == "0"
    assert len(client.get(f"{base}/2611104231245/payments", headers=AUTH).json()) == 1


def test_pay_and_list_by_bill_reference_alone(client: TestClient, store: Store) -> None:
    add(store, bd_bill("104231245"))
    r = client.post(f"{BASE}/bills/২৬১১১০৪২৩১২৪৫/payments", headers=AUTH, json={
        "amountPaid": "929.72", "currency": "BDT",
        "requestingOrganisationTransactionReference": "NOACC1"})
    assert r.status_code == 201, r.text
    listed = client.get(f"{BASE}/bills/2611104231245/payments", headers=AUTH).json()
    assert [p["requestingOrganisationTransactionReference"] for p in listed] == ["NOACC1"]
    missing = client.get(f"{BASE}/bills/2611999999999/payments", headers=AUTH)
    assert missing.status_code == 404 and missing.json()["errorCode"] == "identifierError"
