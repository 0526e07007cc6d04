"""bKash Pay Bill contract: queryBill / payBill / searchTransaction with the field names
and ErrorCodes of the bKash Partner Integration Guide (shared/research/contracts.md s.2)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from qrpay.config import Config
from qrpay.store import Store
from qrpay.store.schema import channel_requests, outbox, payments
from qrpay.web.app import create_app
from tests.biller.conftest import PASSWORDS, add, bd_bill, with_raw

CREDS = {"UserName": "bkash", "Password": PASSWORDS["QRPAY_CHANNEL_PASSWORD_BKASH"]}


def call(client: TestClient, op: str, **fields: str) -> dict[str, Any]:
    resp = client.post(f"/api/v1/biller/bkash/{op}", data={**CREDS, **fields})
    assert resp.status_code == 200
    body: dict[str, Any] = resp.json()
    return body


@pytest.fixture
def client(breb: Config, store: Store) -> TestClient:
    return TestClient(create_app(breb, store, start_sender=False))


def test_query_bill_found_by_account(client: TestClient, store: Store) -> None:
    bill = add(store, bd_bill("104231245"))[0]
    got = call(client, "queryBill", AccNo="104231245")
    assert got["ErrorCode"] == "200"
    assert got["ConsumerName"] == bill.name
    assert got["BillAmount"] == "929.72"
    assert got["BillMonth"] == "112026"
    assert got["BillDueDate"] == bill.due_date.strftime("%Y%m%d")
    assert len(got["QueryTime"]) == 14
    assert got["AmountBreakdown"] == "energy:899.72|fixed:30.00"


def test_query_bill_in_bengali_digits_and_by_bill_and_meter(client: TestClient,
                                                            store: Store) -> None:
    add(store, bd_bill("104231245", meter="050350143117"))
    assert call(client, "queryBill", AccNo="১০৪২৩১২৪৫")["BillAmount"] == "929.72"
    assert call(client, "queryBill", BillNo="2611 104231245")["ErrorCode"] == "200"
    assert call(client, "queryBill", MeterNo="০৫০৩৫০১৪৩১১৭")["ErrorCode"] == "200"
    assert call(client, "queryBill", AccNo="104231245", BillMonth="112026")["ErrorCode"] == "200"
    assert call(client, "queryBill", AccNo="104231245", BillMonth="102026")["ErrorCode"] == "404"


def test_query_bill_mobile_with_several_accounts_lists_them(client: TestClient,
                                                            store: Store) -> None:
    add(store, bd_bill("104231245", mobile="+8801717784483"),
        bd_bill("701410102", biller="khulna-pbs", mobile="+8801717784483", amount=51069))
    got = call(client, "queryBill", CustomerNo="০১৭১৭-৭৮৪৪৮৩")
    assert got["ErrorCode"] == "200"
    assert {a["AccNo"] for a in got["Accounts"]} == {"104231245", "701410102"}
    paid = call(client, "payBill", CustomerNo="01717784483", Amount="929.72", TrxId="T1")
    assert paid["ErrorCode"] == "435"


def test_not_found_missing_field_and_bad_credentials(client: TestClient, store: Store) -> None:
    add(store, bd_bill("104231245"))
    assert call(client, "queryBill", AccNo="999999999")["ErrorCode"] == "404"
    assert call(client, "queryBill")["ErrorCode"] == "406"
    assert call(client, "payBill", AccNo="104231245", Amount="929.72")["ErrorCode"] == "406"
    bad = client.post("/api/v1/biller/bkash/queryBill",
                      data={"UserName": "bkash", "Password": "wrong", "AccNo": "104231245"})
    assert bad.json()["ErrorCode"] == "403"
    assert "ConsumerName" not in bad.json()


def test_pay_bill_posts_once_and_repeat_returns_original(client: TestClient,
                                                         store: Store) -> None:
    add(store, bd_bill("104231245", mobile="+8801717784483"))
    first = call(client, "payBill", AccNo="104231245", Amount="929.72", TrxId="9ABC123",
                 UserMobileNumber="01711000000", PayTime="20261201101500")
    assert first["ErrorCode"] == "200"
    assert first["RefNumber"]
    assert first["TotalAmount"] == "929.72"
    assert "929.72" in first["CustomMessage"] or "৯২৯.৭২" in first["CustomMessage"]
    again = call(client, "payBill", AccNo="104231245", Amount="929.72", TrxId="9ABC123",
                 UserMobileNumber="01711000000", PayTime="20261201101500")
    assert again["ErrorCode"] == "200"
    assert again == first  # the original answer, field for field
    other = call(client, "payBill", AccNo="104231245", Amount="929.72", TrxId="9ABC124")
    assert other["ErrorCode"] == "436"
    found = call(client, "searchTransaction", TrxId="9ABC123")
    assert found["ErrorCode"] == "200" and found["RefNumber"] == first["RefNumber"]
    assert call(client, "searchTransaction", TrxId="NOPE")["ErrorCode"] == "404"
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(payments)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(outbox)).scalar() == 1


def test_repeat_with_other_amount_is_data_mismatch(client: TestClient, store: Store) -> None:
    add(store, bd_bill("104231245"))
    assert call(client, "payBill", AccNo="104231245", Amount="929.72",
                TrxId="X1")["ErrorCode"] == "200"
    assert call(client, "payBill", AccNo="104231245", Amount="500.00",
                TrxId="X1")["ErrorCode"] == "435"


def test_part_payment_below_minimum_and_amount_differs(client: TestClient,
                                                       store: Store) -> None:
    add(store, bd_bill("104231245"), bd_bill("701410102", biller="khulna-pbs", amount=51069))
    # dhaka-pbs-1: exact_down, min 100.00
    assert call(client, "payBill", AccNo="104231245", Amount="99.99",
                TrxId="P1")["ErrorCode"] == "438"
    assert call(client, "payBill", AccNo="104231245", Amount="1000.00",
                TrxId="P2")["ErrorCode"] == "439"
    assert call(client, "payBill", AccNo="104231245", Amount="100.00",
                TrxId="P3")["ErrorCode"] == "200"
    assert call(client, "queryBill", AccNo="104231245")["BillAmount"] == "829.72"
    # khulna-pbs: exact
    assert call(client, "payBill", AccNo="701410102", Amount="510.00",
                TrxId="P4")["ErrorCode"] == "439"
    assert call(client, "queryBill", AccNo="701410102", Amount="510.69")["ErrorCode"] == "200"


def test_late_amount_after_due_date_and_cutoff(client: TestClient, store: Store) -> None:
    add(store, bd_bill("104231245", due_in=-3, late_amount=97621),
        bd_bill("701410102", biller="khulna-pbs", amount=51069, due_in=-31))
    got = call(client, "queryBill", AccNo="104231245")
    assert got["BillAmount"] == "976.21"
    assert "late_fee:46.49" in got["AmountBreakdown"]
    assert call(client, "payBill", AccNo="104231245", Amount="976.21",
                TrxId="L1")["ErrorCode"] == "200"
    # khulna-pbs refuses 30 days after the due date
    assert call(client, "queryBill", AccNo="701410102")["ErrorCode"] == "437"
    assert call(client, "payBill", AccNo="701410102", Amount="536.22",
                TrxId="L2")["ErrorCode"] == "437"


def test_already_paid_credit_policy_lists_the_credit(client: TestClient, store: Store) -> None:
    add(store, bd_bill("701410102", biller="khulna-pbs", amount=51069))
    assert call(client, "payBill", AccNo="701410102", Amount="510.69",
                TrxId="C1")["ErrorCode"] == "200"
    second = call(client, "payBill", AccNo="701410102", Amount="510.69", TrxId="C2")
    assert second["ErrorCode"] == "200"
    from qrpay.biller.core import credits_due
    from qrpay.store.schema import refunds_due

    with store.connect() as conn:
        credits = credits_due(conn)
        finance = conn.execute(select(refunds_due.c.bill_no, refunds_due.c.amount,
                                      refunds_due.c.reason)).all()
    assert [(c["txn_id"], c["amount"]) for c in credits] == [("C2", 51069)]
    assert [(r.bill_no, r.amount) for r in finance] == [("2611701410102", 51069)]
    assert "C2" in finance[0].reason


def test_every_request_is_stored_with_its_answer(client: TestClient, store: Store) -> None:
    add(store, bd_bill("104231245"))
    call(client, "queryBill", AccNo="104231245")
    call(client, "payBill", AccNo="104231245", Amount="929.72", TrxId="J1")
    client.post("/api/v1/biller/bkash/queryBill", data={"UserName": "bkash", "Password": "x"})
    from qrpay.biller.journal import journal_for

    journal_for(store).flush()
    with store.connect() as conn:
        rows = conn.execute(select(channel_requests).order_by(channel_requests.c.id)).all()
    assert sorted(r.op for r in rows) == ["payBill", "queryBill", "queryBill"]
    pay = next(r for r in rows if r.op == "payBill")
    assert b"J1" in pay.body and b'"ErrorCode":"200"' in pay.answer
    assert CREDS["Password"].encode() not in pay.body and b"Password=***" in pay.body
    assert pay.txn_id == "J1" and pay.payment_id is not None
    assert {r.outcome for r in rows} >= {"ok", "bad_credentials", "posted"}


def test_per_cooperative_credentials_reach_only_their_biller(breb: Config,
                                                             store: Store) -> None:
    cfg = with_raw(breb, channels={"bkash": {"credentials": {
        "khulna-pbs": {"username": "bkash-kpbs", "password_env": "KPBS_BKASH_PASS"}}}})
    add(store, bd_bill("104231245"), bd_bill("701410102", biller="khulna-pbs"))
    import os

    os.environ["KPBS_BKASH_PASS"] = "kpbs-secret"
    try:
        c = TestClient(create_app(cfg, store, start_sender=False))
        own = {"UserName": "bkash-kpbs", "Password": "kpbs-secret"}
        assert c.post("/api/v1/biller/bkash/queryBill",
                      data={**own, "AccNo": "701410102"}).json()["ErrorCode"] == "200"
        assert c.post("/api/v1/biller/bkash/queryBill",
                      data={**own, "AccNo": "104231245"}).json()["ErrorCode"] == "404"
    finally:
        del os.environ["KPBS_BKASH_PASS"]


def test_journal_keeps_the_request_but_not_the_password() -> None:
    from qrpay.biller.journal import redact

    assert redact(b"UserName=bkash&Password=s3cr%26t&AccNo=1") == (
        b"UserName=bkash&Password=***&AccNo=1")
    assert redact(b"Password=x") == b"Password=***"
    part = (b'--b\r\nContent-Disposition: form-data; name="Password"\r\n\r\nsecret\r\n'
            b'--b\r\nContent-Disposition: form-data; name="AccNo"\r\n\r\n1\r\n--b--\r\n')
    assert b"secret" not in redact(part) and b"\r\n\r\n1\r\n" in redact(part)


def test_exact_up_takes_an_advance_up_to_the_billers_ceiling(breb: Config, store: Store) -> None:
    cfg = with_raw(breb, billers={"dhaka-pbs-1": {"amount_rule": "exact_up"}})
    client = TestClient(create_app(cfg, store, start_sender=False))
    add(store, bd_bill("104231245"), bd_bill("806540103"))
    # [billers.amount_limits] of the sample: due + max(10 %, 100.00) = 1029.72
    assert call(client, "payBill", AccNo="104231245", Amount="929.71",
                TrxId="U1")["ErrorCode"] == "438"
    assert call(client, "payBill", AccNo="104231245", Amount="1029.73",
                TrxId="U2")["ErrorCode"] == "439"
    assert call(client, "payBill", AccNo="104231245", Amount="1029.72",
                TrxId="U3")["ErrorCode"] == "200"
    assert call(client, "queryBill", AccNo="806540103")["BillAmount"] == "929.72"


def test_a_per_biller_url_reaches_only_that_biller(client: TestClient, store: Store) -> None:
    add(store, bd_bill("104231245"), bd_bill("701410102", biller="khulna-pbs"))
    url = "/api/v1/biller/bkash/queryBill?biller=khulna-pbs"
    assert client.post(url, data={**CREDS, "AccNo": "701410102"}).json()["ErrorCode"] == "200"
    assert client.post(url, data={**CREDS, "AccNo": "104231245"}).json()["ErrorCode"] == "404"
    assert client.post("/api/v1/biller/bkash/queryBill?biller=nope",
                       data={**CREDS, "AccNo": "104231245"}).json()["ErrorCode"] == "404"
