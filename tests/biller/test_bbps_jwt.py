"""BBPS through Setu with ``auth = "jwt"``: the bearer JWT of Setu's JWT page (SetuHQ/docs
content/payments/bbps/resources/jwt.mdx): HS256 over ``header.payload`` with the shared
secret, ``aud`` the scheme id, ``iat`` at most 120 s old; Setu's error codes
``invalid-auth-header``, ``jwt-verification-failed``, ``jwt-token-expired``."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from qrpay.biller.guard import authenticate_jwt, jwt_for
from qrpay.biller.policy import ChannelApi, Credential, api_profile
from qrpay.commands.channel import WALKS, Walk
from qrpay.config import Config
from qrpay.errors import AuthError, ConfigError
from qrpay.store import Store, utcnow
from qrpay.store.schema import channel_requests, payments
from qrpay.web.app import create_app
from tests.biller.conftest import add, in_bill, serve, with_channels, with_raw

# Setu's own example: this token, signed with this secret, for this scheme id (aud)
SETU_TOKEN = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiI4ZjQ3ZTQxYy00Njg0LTRhZjEtYjFiOC0"
              "yNDZjODMxMTIwMzMiLCJpYXQiOjE1NzI0OTMzNTYsImp0aSI6ImM1MzQ0N2UzLTk5M2EtNDRhZS05Yzc4"
              "LTMxZjQ1YzNjMDgyZSJ9.xfYii9lfWMHtMBgjK5U6NFN_6_Q9jw8UMQu8Jnvftbs")
SETU_SECRET = "7c2e036c-908f-48ba-abe3-cd8745a6fa99"
SETU_AUD = "8f47e41c-4684-4af1-b1b8-246c83112033"
SETU_IAT = dt.datetime.fromtimestamp(1572493356, dt.UTC)
SECRET = "bbps-jwt-secret-0123"
SCHEME = "scheme-best-0001"


def code_of(exc: pytest.ExceptionInfo[AuthError]) -> str:
    return exc.value.code


@pytest.fixture
def setu(monkeypatch: pytest.MonkeyPatch) -> ChannelApi:
    monkeypatch.setenv("QRPAY_CHANNEL_JWT_SECRET_BBPS", SETU_SECRET)
    monkeypatch.setenv("QRPAY_CHANNEL_JWT_SECRET_BBPS_OTHER", "another-secret")
    return ChannelApi(name="bbps", dialect="bbps", display_name="BBPS", auth="jwt",
                      credentials=(
                          Credential("someone-else", "QRPAY_CHANNEL_JWT_SECRET_BBPS_OTHER"),
                          Credential(SETU_AUD, "QRPAY_CHANNEL_JWT_SECRET_BBPS")))


def test_setus_example_token_verifies(setu: ChannelApi) -> None:
    cred = authenticate_jwt(setu, "Bearer " + SETU_TOKEN, SETU_IAT + dt.timedelta(seconds=5))
    assert cred.username == SETU_AUD


def test_a_token_older_than_120_seconds_is_expired(setu: ChannelApi) -> None:
    authenticate_jwt(setu, "Bearer " + SETU_TOKEN, SETU_IAT + dt.timedelta(seconds=120))
    with pytest.raises(AuthError) as err:
        authenticate_jwt(setu, "Bearer " + SETU_TOKEN, SETU_IAT + dt.timedelta(seconds=121))
    assert code_of(err) == "jwt_token_expired"


def _tampered(token: str, **claims: Any) -> str:
    head, body, sig = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=="))
    new = base64.urlsafe_b64encode(json.dumps({**payload, **claims}).encode()).rstrip(b"=")
    return f"{head}.{new.decode()}.{sig}"


@pytest.mark.parametrize(("header", "code"), [
    (None, "invalid_auth_header"),
    ("Basic YmJwczpwYXNz", "invalid_auth_header"),
    ("Bearer not-a-jwt", "invalid_auth_header"),
    ("Bearer a.b.c", "invalid_auth_header"),
    ("Bearer " + _tampered(SETU_TOKEN, aud="someone-else"), "jwt_verification_failed"),
    ("Bearer " + SETU_TOKEN[:-2] + "xx", "jwt_verification_failed"),
    ("Bearer " + jwt_for("wrong-secret", SETU_AUD, SETU_IAT, "j1"), "jwt_verification_failed"),
    ("Bearer " + jwt_for(SETU_SECRET, "other-aud", SETU_IAT, "j1"), "jwt_verification_failed"),
    # the secret of one credential with the aud of another
    ("Bearer " + jwt_for("another-secret", SETU_AUD, SETU_IAT, "j1"),
     "jwt_verification_failed"),
])
def test_bad_tokens_are_refused_with_setus_codes(setu: ChannelApi, header: str | None,
                                                 code: str) -> None:
    with pytest.raises(AuthError) as err:
        authenticate_jwt(setu, header, SETU_IAT)
    assert code_of(err) == code


def test_alg_none_and_future_tokens_are_refused(setu: ChannelApi) -> None:
    head = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    body = SETU_TOKEN.split(".")[1]
    with pytest.raises(AuthError) as err:
        authenticate_jwt(setu, f"Bearer {head}.{body}.", SETU_IAT)
    assert code_of(err) == "jwt_verification_failed"
    ahead = jwt_for(SETU_SECRET, SETU_AUD, SETU_IAT + dt.timedelta(minutes=5), "j2")
    with pytest.raises(AuthError) as err:
        authenticate_jwt(setu, "Bearer " + ahead, SETU_IAT)
    assert code_of(err) == "jwt_verification_failed"


def test_no_secret_in_the_environment_verifies_nothing(setu: ChannelApi,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QRPAY_CHANNEL_JWT_SECRET_BBPS", "")
    with pytest.raises(AuthError):
        authenticate_jwt(setu, "Bearer " + jwt_for("", SETU_AUD, SETU_IAT, "j"), SETU_IAT)


@pytest.fixture
def jwt_best(best: Config, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("QRPAY_CHANNEL_JWT_SECRET_BBPS", SECRET)
    return with_channels(with_raw(best, channels={"bbps": {
        "biller_api": "bbps", "auth": "jwt", "username": SCHEME}}), "bbps")


def bearer(key: str = SECRET, aud: str = SCHEME, age: int = 0) -> dict[str, str]:
    token = jwt_for(key, aud, utcnow() - dt.timedelta(seconds=age), "jti-1")
    return {"Authorization": f"Bearer {token}"}


def test_profile_takes_jwt_for_bbps_only(jwt_best: Config, best: Config) -> None:
    api = api_profile(jwt_best).channel("bbps")
    assert api is not None and api.auth == "jwt"
    assert api.credentials[0].password_env == "QRPAY_CHANNEL_JWT_SECRET_BBPS"
    with pytest.raises(ConfigError) as err:
        api_profile(with_raw(best, channels={"gsma": {"biller_api": "gsma", "auth": "jwt"}}))
    assert err.value.code == "bad_value"


def test_fetch_and_receipt_over_http_with_a_bearer_jwt(jwt_best: Config, store: Store) -> None:
    bill = add(store, in_bill())[0]
    client = TestClient(create_app(jwt_best, store, start_sender=False))
    ident = {"customerIdentifiers": [{"attributeName": "customerId",
                                      "attributeValue": "100000000"}]}
    ok = client.post("/api/v1/biller/bbps/bills/fetch", headers=bearer(), json=ident)
    assert ok.status_code == 200
    assert ok.json()["data"]["billDetails"]["billFetchStatus"] == "AVAILABLE"
    cases = [({}, 400, "invalid-auth-header"),
             ({"Authorization": "Basic YmJwczpiYnBzLXBhc3MtMDEyMw=="}, 400,
              "invalid-auth-header"),
             (bearer(key="wrong"), 401, "jwt-verification-failed"),
             (bearer(aud="someone"), 401, "jwt-verification-failed"),
             (bearer(age=600), 401, "jwt-token-expired")]
    for headers, status, code in cases:
        r = client.post("/api/v1/biller/bbps/bills/fetch", headers=headers, json=ident)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), headers
    paid = client.post("/api/v1/biller/bbps/bills/fetchReceipt", headers=bearer(), json={
        "billerBillID": bill.bill_no, "platformBillID": "P1", "paymentDetails": {
            "amountPaid": {"value": 190900}, "billAmount": {"value": 190900},
            "uniquePaymentRefID": "U1", "platformTransactionRefID": "T1",
            "instrument": "UPI"}})
    assert paid.status_code == 200 and paid.json()["data"]["receipt"]["id"]
    from qrpay.biller.journal import journal_for

    journal_for(store).flush()
    with store.connect() as conn:
        kept = conn.execute(select(channel_requests.c.headers)).scalars().all()
    assert kept and not any("authorization" in h.lower() for h in kept)


def test_simulator_walks_bbps_with_a_jwt(jwt_best: Config, store: Store) -> None:
    add(store, in_bill())
    for base in serve(jwt_best, store):
        with httpx.Client(timeout=30) as client:
            walk = Walk(client, f"{base}/api/v1/biller/bbps", None, SCHEME, SECRET, jwt=True)
            assert WALKS["bbps"](walk, "100000000", None, "SIMJWT1")
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(payments)).scalar() == 1
