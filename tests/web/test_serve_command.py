"""``qrpay apikey``, ``qrpay worker`` and ``qrpay serve`` argument checks, in-process."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from qrpay.apikeys import verify_key
from qrpay.cli import main
from qrpay.config import Config
from qrpay.errors import AuthError
from qrpay.payments.posting import PaymentIn, post_payment
from qrpay.store import Store
from qrpay.store.schema import api_keys, outbox
from tests.conftest import SAMPLES

from .conftest import insert_bill, make_bill

BEST = ["--config", str(SAMPLES / "best.toml")]


@pytest.fixture(autouse=True)
def _db(monkeypatch: pytest.MonkeyPatch, db_url: str, store: Store) -> None:
    monkeypatch.setenv("QRPAY_DATABASE_URL", db_url)


def test_apikey_create_prints_the_key_once_and_stores_only_its_hash(
        capsys: pytest.CaptureFixture[str], store: Store) -> None:
    assert main([*BEST, "apikey", "create", "counter 7"]) == 0
    key = capsys.readouterr().out.strip()
    with store.connect() as conn:
        row = conn.execute(select(api_keys)).one()._mapping
        assert verify_key(conn, key).name == "counter 7"
    assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert key not in row.values()
    assert main([*BEST, "apikey", "list"]) == 0
    listing = capsys.readouterr().out
    assert row["prefix"] in listing and "counter 7" in listing and key not in listing


def test_apikey_revoke_stops_the_key(capsys: pytest.CaptureFixture[str],
                                     store: Store) -> None:
    main([*BEST, "apikey", "create", "partner app"])
    key = capsys.readouterr().out.strip()
    assert main([*BEST, "apikey", "revoke", key[:12]]) == 0
    assert "revoked" in capsys.readouterr().out
    with store.connect() as conn, pytest.raises(AuthError) as err:
        verify_key(conn, key)
    assert err.value.code == "revoked_api_key"


def test_apikey_revoke_of_an_unknown_key_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*BEST, "apikey", "revoke", "qrp_00000000"]) == 2
    assert "error[unknown_api_key]" in capsys.readouterr().err


def test_worker_once_sends_the_pending_sms(capsys: pytest.CaptureFixture[str], store: Store,
                                           best_config: Config) -> None:
    bill = insert_bill(store, make_bill())
    with store.begin() as conn:
        post_payment(conn, best_config, PaymentIn(channel="upi", txn_id="W1",
                                                  bill_no=bill.bill_no, amount=bill.amount,
                                                  currency="INR"))
    assert main([*BEST, "worker", "--once"]) == 0
    assert "1 sent" in capsys.readouterr().out
    with store.connect() as conn:
        assert conn.execute(select(outbox.c.status)).scalars().all() == ["sent"]


def test_serve_refuses_zero_workers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*BEST, "serve", "--workers", "0"]) == 2
    assert "error[bad_value]" in capsys.readouterr().err


@pytest.fixture
def no_uvicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    def never(*args: object, **kw: object) -> None:
        raise AssertionError("the server must not start")

    monkeypatch.setattr(uvicorn, "run", never)


@pytest.mark.parametrize("unset", ["QRPAY_SECRET_UPI", "QRPAY_TOKEN_KEY_K1",
                                   "QRPAY_SESSION_KEY", "QRPAY_WHATSAPP_APP_SECRET",
                                   "QRPAY_WHATSAPP_VERIFY_TOKEN"])
def test_serve_refuses_to_start_without_a_secret_an_enabled_route_needs(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        no_uvicorn: None, unset: str) -> None:
    """No secret, no server: it used to start and answer 500 on every page."""
    monkeypatch.delenv(unset)
    assert main([*BEST, "serve", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error[missing_secret]") and unset in err


def test_serve_names_every_missing_secret_at_once(capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  no_uvicorn: None) -> None:
    for name in ("QRPAY_SECRET_UPI", "QRPAY_SECRET_RAZORPAY", "QRPAY_SESSION_KEY"):
        monkeypatch.delenv(name)
    assert main([*BEST, "serve", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert all(n in err for n in ("QRPAY_SECRET_UPI", "QRPAY_SECRET_RAZORPAY",
                                  "QRPAY_SESSION_KEY"))


def test_serve_needs_the_sms_providers_key_only_when_it_runs_the_sender() -> None:
    import dataclasses

    from qrpay.config import load_config
    from qrpay.web.startup import missing_secrets

    config = dataclasses.replace(load_config(SAMPLES / "best.toml"), sms_provider="msg91")
    assert missing_secrets(config, desk=True, sender=True) == ["QRPAY_MSG91_AUTHKEY"]
    assert missing_secrets(config, desk=True, sender=False) == []


def test_the_chat_secrets_are_needed_where_the_profile_enables_the_channel() -> None:
    """A WhatsApp number in the profile needs the app secret (every webhook is verified
    with it) and the verify token, and the Graph token where this process sends the
    replies; the bdapps USSD gateway its password.  Without them the webhook answered
    401 ``no_app_secret`` to every message while /readyz said ready."""
    import dataclasses

    from qrpay.chat.settings import chat_settings, needed_secrets
    from qrpay.config import load_config

    best = load_config(SAMPLES / "best.toml")
    assert needed_secrets(chat_settings(best), sender=True) == [
        "QRPAY_WHATSAPP_APP_SECRET", "QRPAY_WHATSAPP_VERIFY_TOKEN", "QRPAY_WHATSAPP_TOKEN"]
    assert needed_secrets(chat_settings(best), sender=False) == [
        "QRPAY_WHATSAPP_APP_SECRET", "QRPAY_WHATSAPP_VERIFY_TOKEN"]
    breb = load_config(SAMPLES / "breb.toml")
    assert "QRPAY_BDAPPS_PASSWORD" in needed_secrets(chat_settings(breb), sender=False)
    no_chat = dataclasses.replace(best, raw={k: v for k, v in best.raw.items() if k != "chat"})
    assert needed_secrets(chat_settings(no_chat), sender=True) == []


def test_a_served_app_freezes_what_it_loaded_and_a_test_app_does_not(best_config, store,
                                                                     monkeypatch):
    """`qrpay serve` sets QRPAY_FREEZE_GC: the lifespan moves the loaded app out of the
    garbage collector's sight (full collections set the p99 of payments otherwise)."""
    import gc

    from starlette.testclient import TestClient

    from qrpay.web.app import create_app
    from qrpay.web.server import FREEZE_GC_ENV

    gc.unfreeze()
    monkeypatch.delenv(FREEZE_GC_ENV, raising=False)
    with TestClient(create_app(best_config, store, start_sender=False)):
        assert gc.get_freeze_count() == 0
    monkeypatch.setenv(FREEZE_GC_ENV, "1")
    try:
        with TestClient(create_app(best_config, store, start_sender=False)):
            assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
