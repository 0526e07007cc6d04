"""Our BBPS answers validated against Setu's published Swagger definitions
(``../shared/research/setu-bbps/bbps.swagger.json``, MIT, read in place, not copied):
``billerFetchBillsResponse``, ``fetchBillReceiptResponse``, ``errorResponse``.

One deviation, on purpose: the Swagger ``bill`` lists ``platformFee`` as required, but
Setu's own fetch-pay example (fetch-pay.mdx) has no such field and it is the platform's
fee, not the biller's, so it is not required of our answer here."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from starlette.testclient import TestClient

from qrpay.config import Config
from qrpay.store import Store
from qrpay.web.app import create_app
from tests.biller.conftest import PASSWORDS, add, in_bill

ROOT = Path(__file__).resolve().parents[2]
CANDIDATES = [base / "shared" / "research" / "setu-bbps" / "bbps.swagger.json"
              for base in (ROOT.parent, ROOT.parent.parent)]
SWAGGER = next((p for p in CANDIDATES if p.exists()), None)
AUTH = {"Authorization": "Basic " + base64.b64encode(
    f"bbps:{PASSWORDS['QRPAY_CHANNEL_PASSWORD_BBPS']}".encode()).decode()}

pytestmark = pytest.mark.skipif(SWAGGER is None, reason="../shared/research is not here")


def validator(name: str) -> jsonschema.Draft4Validator:
    assert SWAGGER is not None
    definitions = copy.deepcopy(json.loads(SWAGGER.read_text(encoding="utf-8"))["definitions"])
    definitions["bill"]["required"].remove("platformFee")
    schema = {"definitions": definitions, "type": "object", "required": ["status", "success"],
              "properties": {"data": {"$ref": f"#/definitions/{name}"}}}
    if name == "errorResponse":
        schema = {"definitions": definitions, "$ref": "#/definitions/errorResponse"}
    return jsonschema.Draft4Validator(schema)


def check(name: str, body: Any) -> None:
    errors = sorted(validator(name).iter_errors(body), key=str)
    assert errors == [], [f"{list(e.path)}: {e.message}" for e in errors]


@pytest.fixture
def client(best: Config, store: Store) -> TestClient:
    return TestClient(create_app(best, store, start_sender=False))


def _fetch(client: TestClient, value: str) -> Any:
    return client.post("/api/v1/biller/bbps/bills/fetch", headers=AUTH, json={
        "customerIdentifiers": [{"attributeName": "customerId", "attributeValue": value}]})


def test_fetch_answers_match_setus_definitions(client: TestClient, store: Store) -> None:
    add(store, in_bill(), in_bill("100000001", amount=0, late_amount=0))
    check("billerFetchBillsResponse", _fetch(client, "100000000").json())
    check("billerFetchBillsResponse", _fetch(client, "100000001").json())
    check("errorResponse", _fetch(client, "999999999").json())


def test_receipt_answer_matches_setus_definition(client: TestClient, store: Store) -> None:
    bill = add(store, in_bill())[0]
    r = client.post("/api/v1/biller/bbps/bills/fetchReceipt", headers=AUTH, json={
        "platformBillID": "906910589572351478", "billerBillID": bill.bill_no,
        "paymentDetails": {"amountPaid": {"value": 190900}, "billAmount": {"value": 190900},
                           "platformTransactionRefID": "p1", "uniquePaymentRefID": "u1"}})
    check("fetchBillReceiptResponse", r.json())


def test_the_schema_check_can_fail() -> None:
    with pytest.raises(AssertionError):
        check("billerFetchBillsResponse", {"status": 200, "success": True, "data": {
            "customer": {"name": "x"}, "billDetails": {"billFetchStatus": "MAYBE",
                                                       "bills": []}}})
