"""Channel safety: five wrong passwords in a minute slow that channel down (stored in the
database, so every worker sees it), not the others; the IP allow-list."""

from __future__ import annotations

import datetime as dt

from starlette.testclient import TestClient

from qrpay.biller import guard
from qrpay.biller.policy import api_profile
from qrpay.config import Config
from qrpay.errors import AuthError
from qrpay.store import Store
from qrpay.web.app import create_app
from tests.biller.conftest import PASSWORDS, add, bd_bill, with_raw

NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


def test_five_wrong_passwords_in_a_minute_slow_only_that_channel(store: Store) -> None:
    for i in range(4):
        guard.record_failure(store, "bkash", NOW + dt.timedelta(seconds=i))
    assert guard.delay_for(store, "bkash", NOW + dt.timedelta(seconds=5)) == 0
    guard.record_failure(store, "bkash", NOW + dt.timedelta(seconds=10))
    assert guard.delay_for(store, "bkash", NOW + dt.timedelta(seconds=11)) > 0
    assert guard.delay_for(store, "rocket", NOW + dt.timedelta(seconds=11)) == 0
    later = NOW + dt.timedelta(seconds=10 + guard.SLOW_SECONDS + 1)
    assert guard.delay_for(store, "bkash", later) == 0


def test_failures_spread_over_more_than_a_minute_do_not_slow(store: Store) -> None:
    for i in range(6):
        guard.record_failure(store, "bkash", NOW + dt.timedelta(seconds=50 * i))
    assert guard.delay_for(store, "bkash", NOW + dt.timedelta(seconds=251)) == 0


def test_wrong_passwords_over_http_are_counted_in_the_database(breb: Config,
                                                               store: Store) -> None:
    add(store, bd_bill("104231245"))
    client = TestClient(create_app(breb, store, start_sender=False))
    for _ in range(guard.MAX_FAILURES):
        r = client.post("/api/v1/biller/bkash/queryBill",
                        data={"UserName": "bkash", "Password": "guess", "AccNo": "104231245"})
        assert r.json()["ErrorCode"] == "403"
    guard.settle()
    assert guard.delay_for(store, "bkash") > 0
    assert guard.delay_for(store, "rocket") == 0


def test_ip_allow_list(breb: Config) -> None:
    cfg = with_raw(breb, channels={"bkash": {"allow_ips": ["10.0.0.0/8", "127.0.0.1"]}})
    api = api_profile(cfg).channel("bkash")
    assert api is not None
    guard.check_ip(api, "10.1.2.3")
    guard.check_ip(api, "127.0.0.1")
    for bad in ("192.168.1.1", None, "junk"):
        try:
            guard.check_ip(api, bad)
        except AuthError as exc:
            assert exc.code == "ip_not_allowed"
        else:
            raise AssertionError(f"{bad} passed the allow-list")


def test_credentials_compare_every_entry_and_need_a_password(breb: Config) -> None:
    api = api_profile(breb).channel("bkash")
    assert api is not None
    assert guard.authenticate(api, "bkash", PASSWORDS["QRPAY_CHANNEL_PASSWORD_BKASH"])
    for user, pw in (("bkash", ""), ("", "x"), ("other", PASSWORDS[
            "QRPAY_CHANNEL_PASSWORD_BKASH"]), ("bkash", "bkash-pass-012")):
        try:
            guard.authenticate(api, user, pw)
        except AuthError as exc:
            assert exc.code == "bad_credentials"
        else:
            raise AssertionError((user, pw))


def test_password_variables_lists_every_credential(breb: Config) -> None:
    from qrpay.biller.policy import password_variables

    assert password_variables(breb) == [
        "QRPAY_CHANNEL_PASSWORD_BBPS", "QRPAY_CHANNEL_PASSWORD_BKASH",
        "QRPAY_CHANNEL_PASSWORD_GSMA", "QRPAY_CHANNEL_PASSWORD_ROCKET",
        "QRPAY_CHANNEL_PASSWORD_ROCKET_KHULNA_PBS"]
