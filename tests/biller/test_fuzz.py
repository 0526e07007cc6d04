"""Property tests over the biller API's wire: whatever a channel sends (fields of every
dialect with any text in them, bodies that are not forms or JSON at all), with good
credentials so that the parsers behind authentication are reached, the answer is never a
server error and is always the dialect's JSON."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from qrpay.config import Config
from qrpay.store import Store
from qrpay.web.app import create_app
from tests.biller.conftest import PASSWORDS, add, bd_bill

FUZZ = settings(max_examples=25, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))

BKASH = {"UserName": "bkash", "Password": PASSWORDS["QRPAY_CHANNEL_PASSWORD_BKASH"]}


def basic(user: str, env: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{PASSWORDS[env]}".encode()).decode()
    return {"Authorization": "Basic " + token}


# Values people and broken channels send: digits in three scripts, amounts with commas,
# huge numbers, NUL and control characters, long strings.
VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["104231245", "১০৪২৩১২৪৫", "2611104231245", "929.72", "৯২৯.৭২",
                     "1,00,000.00", "-5", "0", "1e9", "99999999999999999999999", "112026",
                     "132026", "20261131", "+8801717784483", "\x00", " ", "null"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)
BKASH_FIELDS = st.dictionaries(
    st.sampled_from(["AccNo", "MeterNo", "CustomerNo", "BillNo", "BillMonth", "Amount",
                     "TrxId", "UserMobileNumber", "PayTime", "BillerCode"]),
    VALUES, max_size=8)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False) | VALUES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=3),
    max_leaves=8)


@pytest.fixture
def client(breb: Config, store: Store) -> TestClient:
    add(store, bd_bill("104231245"), bd_bill("701410102", mobile="+8801717784483"))
    return TestClient(create_app(breb, store, start_sender=False))


def test_the_credentials_used_here_reach_past_authentication(client: TestClient) -> None:
    """Else every fuzz case below would only test the refusal."""
    got = client.post("/api/v1/biller/bkash/queryBill", data={**BKASH, "AccNo": "104231245"})
    assert got.json()["ErrorCode"] == "200"
    gsma = client.get("/api/v1/biller/gsma/accounts/accountid/104231245/bills",
                      headers=basic("gsma", "QRPAY_CHANNEL_PASSWORD_GSMA"))
    assert gsma.status_code == 200 and len(gsma.json()) == 1
    rocket = client.post("/api/v1/biller/rocket/inquiry", data={"AccNo": "104231245"},
                         headers=basic("rocket", "QRPAY_CHANNEL_PASSWORD_ROCKET"))
    assert rocket.status_code != 401, rocket.text
    bbps = client.post("/api/v1/biller/bbps/bills/fetch", json={"customerIdentifiers": [
        {"attributeName": "customerId", "attributeValue": "104231245"}]},
        headers=basic("bbps", "QRPAY_CHANNEL_PASSWORD_BBPS"))
    assert bbps.status_code != 401, bbps.text


def _ok(resp: Any) -> None:
    assert resp.status_code < 500, (resp.status_code, resp.text[:300])
    json.loads(resp.text)


@FUZZ
@given(op=st.sampled_from(["queryBill", "payBill", "searchTransaction"]), fields=BKASH_FIELDS)
def test_bkash_forms_never_a_server_error(client: TestClient, op: str,
                                         fields: dict[str, str]) -> None:
    resp = client.post(f"/api/v1/biller/bkash/{op}", data={**BKASH, **fields})
    _ok(resp)
    assert resp.status_code == 200  # bKash answers every outcome in ErrorCode
    assert resp.json()["ErrorCode"] in {"200", "403", "404", "406", "435", "436", "437",
                                        "438", "439"}


@FUZZ
@given(op=st.sampled_from(["validation", "confirmation", "inquiry"]), fields=st.dictionaries(
    st.sampled_from(["AccNo", "BillNo", "BillMonth", "Amount", "TrxId", "MobileNo",
                     "PayTime", "BillerCode", "biller"]), VALUES, max_size=7))
def test_rocket_forms_never_a_server_error(client: TestClient, op: str,
                                          fields: dict[str, str]) -> None:
    _ok(client.post(f"/api/v1/biller/rocket/{op}", data=fields,
                    headers=basic("rocket", "QRPAY_CHANNEL_PASSWORD_ROCKET")))


@FUZZ
@given(body=JSON_VALUES, bill=st.sampled_from(["2611104231245", "x", "২৬১১১০৪২৩১২৪৫"]),
       path=st.sampled_from(["accountid/104231245", "msisdn/+8801717784483",
                             "consumerno/%00", "accountid/" + "9" * 40, "bogus/1"]))
def test_gsma_payments_never_a_server_error(client: TestClient, body: Any, bill: str,
                                           path: str) -> None:
    headers = {**basic("gsma", "QRPAY_CHANNEL_PASSWORD_GSMA"),
               "Content-Type": "application/json"}
    _ok(client.post(f"/api/v1/biller/gsma/accounts/{path}/bills/{bill}/payments",
                    content=json.dumps(body), headers=headers))
    _ok(client.get(f"/api/v1/biller/gsma/accounts/{path}/bills", headers=headers))


@FUZZ
@given(body=st.one_of(JSON_VALUES, st.fixed_dictionaries({
    "customerIdentifiers": st.lists(st.fixed_dictionaries({
        "attributeName": st.sampled_from(["customerId", "mobile", "billNo", "x"]),
        "attributeValue": JSON_VALUES}), max_size=3)})),
       op=st.sampled_from(["bills/fetch", "bills/fetchReceipt"]))
def test_bbps_bodies_never_a_server_error(client: TestClient, body: Any, op: str) -> None:
    _ok(client.post(f"/api/v1/biller/bbps/{op}", content=json.dumps(body),
                    headers={**basic("bbps", "QRPAY_CHANNEL_PASSWORD_BBPS"),
                             "Content-Type": "application/json"}))


@FUZZ
@given(raw=st.binary(max_size=300), ctype=st.sampled_from([
    "application/json", "application/x-www-form-urlencoded", "text/plain",
    "multipart/form-data; boundary=x", "application/json; charset=latin-1"]),
       target=st.sampled_from(["bkash/payBill", "bbps/bills/fetch", "rocket/confirmation",
                               "gsma/bills/2611104231245/payments"]))
def test_bodies_that_are_not_the_format_never_a_server_error(client: TestClient, raw: bytes,
                                                             ctype: str, target: str) -> None:
    headers = {"Content-Type": ctype, **basic("gsma", "QRPAY_CHANNEL_PASSWORD_GSMA")}
    _ok(client.post(f"/api/v1/biller/{target}", content=raw, headers=headers))


@pytest.mark.parametrize(("op", "field"), [("queryBill", "AccNo"), ("payBill", "AccNo"),
                                           ("payBill", "TrxId"),
                                           ("searchTransaction", "TrxId")])
def test_nul_in_a_field_is_a_refusal_not_a_server_error(client: TestClient, op: str,
                                                        field: str) -> None:
    """Found by the cases above on PostgreSQL (its text cannot hold NUL): searchTransaction
    with ``TrxId`` NUL was a 500."""
    resp = client.post(f"/api/v1/biller/bkash/{op}", data={
        **BKASH, "AccNo": "104231245", "Amount": "929.72", "TrxId": "T1", field: "a\x00"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["ErrorCode"] in {"404", "406", "435"}, resp.text


def test_nul_in_gsma_bbps_and_rocket_requests_is_never_a_server_error(client: TestClient
                                                                     ) -> None:
    gsma = {**basic("gsma", "QRPAY_CHANNEL_PASSWORD_GSMA"), "Content-Type": "application/json"}
    body = {"currency": "BDT", "amountPaid": "929.72", "serviceProviderPaymentReference": "a\0"}
    for resp in (
        client.get("/api/v1/biller/gsma/accounts/accountid/1042%0031245/bills", headers=gsma),
        client.post("/api/v1/biller/gsma/accounts/accountid/104231245/bills/2611104231245/"
                    "payments", content=json.dumps(body), headers=gsma),
        client.post("/api/v1/biller/bbps/bills/fetch", content=json.dumps(
            {"customerIdentifiers": [{"attributeName": "customerId",
                                      "attributeValue": "1042\0"}]}),
            headers={**basic("bbps", "QRPAY_CHANNEL_PASSWORD_BBPS"),
                     "Content-Type": "application/json"}),
        client.post("/api/v1/biller/rocket/confirmation", data={
            "AccNo": "104231245", "Amount": "929.72", "TrxId": "r\0"},
            headers=basic("rocket", "QRPAY_CHANNEL_PASSWORD_ROCKET")),
    ):
        assert 400 <= resp.status_code < 500 or (
            resp.status_code == 200 and "\\u0000" not in resp.text), resp.text[:200]
