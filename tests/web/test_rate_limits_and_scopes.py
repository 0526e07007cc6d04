"""Rate limits shared through the store (429 with Retry-After), API-key scopes and
rotation without downtime (issue 14 item 4)."""

from __future__ import annotations

import dataclasses

import pytest
from starlette.testclient import TestClient

from qrpay.apikeys import SCOPES, create_key, parse_scopes, revoke_key, rotate_key
from qrpay.cli import main
from qrpay.config import Config
from qrpay.errors import ValidationError
from qrpay.store import Store
from qrpay.web.app import create_app
from qrpay.web.ratelimit import bucket_of
from tests.conftest import SAMPLES

from .conftest import auth, insert_bill, make_bill


def limited(config: Config, **limits: int) -> Config:
    raw = dict(config.raw, rate_limits={"flush_every": 2, **limits})
    return dataclasses.replace(config, raw=raw)


def test_public_pages_are_limited_per_address_across_two_nodes(
        store: Store, best_config: Config) -> None:
    config = limited(best_config, public_per_minute=10)
    one = TestClient(create_app(config, store, start_sender=False))
    two = TestClient(create_app(config, store, start_sender=False))  # another node
    codes = [(one if i % 2 else two).get("/b/NOSUCHBILL").status_code for i in range(30)]
    assert 429 in codes
    # each node alone saw at most 15 requests: the limit of 10 was reached together
    assert codes.index(429) <= 10 + 2 * 2  # + what two nodes may hold unflushed
    refused = one.get("/b/NOSUCHBILL")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert one.get("/healthz").status_code == 200  # probes are never limited


def test_api_limit_is_per_key_and_answers_json(store: Store, best_config: Config) -> None:
    config = limited(best_config, api_per_minute=3, public_per_minute=1000)
    client = TestClient(create_app(config, store, start_sender=False))
    insert_bill(store, make_bill())
    busy, calm = create_key(store, "busy")[1], create_key(store, "calm")[1]
    codes = [client.get("/api/v1/bills/B2611100000001", headers=auth(busy)).status_code
             for _ in range(8)]
    assert codes[:3] == [200] * 3 and codes[-1] == 429
    r = client.get("/api/v1/bills/B2611100000001", headers=auth(busy))
    assert r.json()["error"]["code"] == "rate_limited" and r.headers["Retry-After"]
    assert client.get("/api/v1/bills/B2611100000001", headers=auth(calm)).status_code == 200


def test_buckets() -> None:
    def scope(path: str, key: str = "") -> dict[str, object]:
        headers = [(b"authorization", f"Bearer {key}".encode())] if key else []
        return {"path": path, "headers": headers, "client": ("10.0.0.9", 5)}
    assert bucket_of(scope("/b/B1")) == ("ip:10.0.0.9", False)
    assert bucket_of(scope("/api/v1/scan", "qrp_1234abcd_secretsecretsecret")) == \
        ("key:qrp_1234abcd", True)
    assert bucket_of(scope("/api/v1/biller/bkash/inquiry")) == ("channel:bkash", True)
    assert bucket_of(scope("/api/v1/callbacks/upi")) is None


def test_a_key_without_the_scan_scope_is_403_on_the_resolver(
        client: TestClient, store: Store) -> None:
    insert_bill(store, make_bill())
    reports = create_key(store, "finance", ("reports",))[1]
    r = client.get("/api/v1/bills/B2611100000001", headers=auth(reports))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    scan = create_key(store, "counter", ("scan",))[1]
    assert client.get("/api/v1/bills/B2611100000001", headers=auth(scan)).status_code == 200


def test_scopes_parse_and_refuse_unknown() -> None:
    assert parse_scopes(None) == SCOPES
    assert parse_scopes(["reports,scan"]) == ("scan", "reports")
    with pytest.raises(ValidationError) as err:
        parse_scopes(["scan", "everything"])
    assert err.value.code == "unknown_scope"


def test_rotation_keeps_both_keys_valid_until_the_old_is_revoked(
        client: TestClient, store: Store) -> None:
    insert_bill(store, make_bill())
    old_record, old = create_key(store, "partner", ("scan",))
    _, new_record, new = rotate_key(store, old_record.prefix)
    assert new_record.scopes == ("scan",) and new_record.name == "partner"
    url = "/api/v1/bills/B2611100000001"
    assert client.get(url, headers=auth(old)).status_code == 200
    assert client.get(url, headers=auth(new)).status_code == 200
    revoke_key(store, old_record.prefix)
    fresh = TestClient(create_app(client.app.state.config, store, start_sender=False))
    assert fresh.get(url, headers=auth(old)).status_code == 401  # no cache: at once
    assert fresh.get(url, headers=auth(new)).status_code == 200


def test_apikey_create_scope_and_rotate_commands(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        db_url: str, store: Store) -> None:
    monkeypatch.setenv("QRPAY_DATABASE_URL", db_url)
    best = ["--config", str(SAMPLES / "best.toml")]
    assert main([*best, "apikey", "create", "bbps", "--scope", "biller_api"]) == 0
    key = capsys.readouterr().out.strip()
    assert main([*best, "apikey", "rotate", key[:12]]) == 0
    out = capsys.readouterr()
    assert out.out.strip() != key and "stays valid" in out.err
    assert main([*best, "apikey", "list"]) == 0
    assert capsys.readouterr().out.count("biller_api") == 2
    assert main([*best, "apikey", "create", "x", "--scope", "nope"]) == 2
