"""Rocket: validation, confirmation retried after a timeout (idempotent on txnId),
inquiry; Basic auth, per-co-operative credentials."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from starlette.testclient import TestClient

from qrpay.config import Config
from qrpay.store import Store
from qrpay.web.app import create_app
from tests.biller.conftest import PASSWORDS, add, bd_bill


def auth(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


MAIN = auth("rocket", PASSWORDS["QRPAY_CHANNEL_PASSWORD_ROCKET"])
KPBS = auth("rocket-kpbs", PASSWORDS["QRPAY_CHANNEL_PASSWORD_ROCKET_KHULNA_PBS"])


@pytest.fixture
def client(breb: Config, store: Store) -> TestClient:
    return TestClient(create_app(breb, store, start_sender=False))


def post(client: TestClient, op: str, headers: dict[str, str] = MAIN, **body: Any) -> Any:
    return client.post(f"/api/v1/biller/rocket/{op}", headers=headers, json=body)


def test_validation_confirmation_retry_and_inquiry(client: TestClient, store: Store) -> None:
    add(store, bd_bill("104231245"))
    v = post(client, "validation", refNo1="১০৪২৩১২৪৫")
    assert v.status_code == 200 and v.json()["billAmount"] == "929.72"
    assert post(client, "inquiry", txnId="123456789012345").status_code == 404
    c1 = post(client, "confirmation", txnId="123456789012345", refNo1="2611104231245",
              amount="929.72", txnDate="2026-12-01 10:15:00")
    assert c1.status_code == 200, c1.text
    c2 = post(client, "confirmation", txnId="123456789012345", refNo1="2611104231245",
              amount="929.72", txnDate="2026-12-01 10:15:00")
    assert c2.json()["receiptNo"] == c1.json()["receiptNo"]
    i = post(client, "inquiry", txnId="123456789012345")
    assert i.json()["status"] == "success" and i.json()["receiptNo"] == c1.json()["receiptNo"]
    assert post(client, "confirmation", txnId="999", refNo1="104231245",
                amount="929.72").status_code == 409  # already paid


def test_cooperative_credentials_and_bad_password(client: TestClient, store: Store) -> None:
    add(store, bd_bill("104231245"), bd_bill("701410102", biller="khulna-pbs"))
    assert post(client, "validation", KPBS, refNo1="701410102").status_code == 200
    assert post(client, "validation", KPBS, refNo1="104231245").status_code == 404
    assert post(client, "validation", auth("rocket", "nope"),
                refNo1="104231245").status_code == 401
    assert post(client, "validation", MAIN).status_code == 400  # refNo1 missing


def test_rocket_outcomes(client: TestClient, store: Store) -> None:
    add(store, bd_bill("104231245", mobile="+8801717784483"),
        bd_bill("806540103", mobile="+8801717784483"),
        bd_bill("701410102", biller="khulna-pbs", amount=51069, due_in=-40),
        bd_bill("209660104", biller="khulna-pbs", amount=0, late_amount=0))
    several = post(client, "validation", refNo1="01717784483")
    assert several.status_code == 400 and several.json()["code"] == "several_accounts"
    assert post(client, "validation", refNo1="104231245", amount="99.00").json()["code"] == (
        "below_minimum")
    assert post(client, "confirmation", txnId="R1", refNo1="104231245",
                amount="1000.00").json()["code"] == "amount_differs"
    assert post(client, "validation", refNo1="701410102").json()["code"] == "after_cutoff"
    nothing = post(client, "validation", refNo1="209660104")  # credit policy: payable as credit
    assert nothing.status_code == 200 and nothing.json()["billAmount"] == "0.00"
