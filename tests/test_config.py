import pytest

from qrpay.config import load_config, parse_config, secret
from qrpay.errors import ConfigError
from tests.conftest import SAMPLES


def test_best_profile_is_one_upi_biller():
    config = load_config(SAMPLES / "best.toml")
    best = config.default_biller
    assert (best.country, best.currency, best.languages) == ("IN", "INR", ("hi", "en", "mr"))
    assert best.qr_format == "upi" and best.payee.vpa and best.mcc == "4900"
    assert best.late_payment.late_amount(100000) == 101250  # 1.25 %
    assert set(best.channels) <= set(config.channels)


def test_breb_profile_serves_several_cooperatives_with_own_payees():
    config = load_config(SAMPLES / "breb.toml")
    assert len(config.billers) >= 2
    payees = {b.payee.emv_account["03"] for b in config.billers.values()}
    assert len(payees) == len(config.billers)
    assert {"bkash", "rocket", "nagad"} <= set(config.channels)
    assert all(b.currency == "BDT" and b.languages[0] == "bn" for b in config.billers.values())


def test_channel_secret_comes_from_environment(monkeypatch):
    config = load_config(SAMPLES / "breb.toml")
    monkeypatch.setenv("QRPAY_SECRET_BKASH", "s1")
    monkeypatch.setenv("QRPAY_SECRET_BKASH_PREVIOUS", "s0")
    assert config.channels["bkash"].secrets() == ["s1", "s0"]


def test_channel_secret_variable_can_be_renamed(monkeypatch):
    raw = {"billers": [{"code": "x", "name": "X", "country": "BD", "payee": {"name": "X"},
                        "channels": ["bkash"]}],
           "channels": {"bkash": {"secret_env": "BKASH_HMAC"}}}
    monkeypatch.setenv("BKASH_HMAC", "renamed")
    assert parse_config(raw).channels["bkash"].secrets() == ["renamed"]


def test_missing_secret_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("QRPAY_SECRET_NAGAD")
    with pytest.raises(ConfigError) as exc:
        load_config(SAMPLES / "breb.toml").channels["nagad"].secrets()
    assert exc.value.code == "missing_secret"


def test_secret_can_come_from_a_file_outside_the_repo(tmp_path, monkeypatch):
    f = tmp_path / "secrets.env"
    f.write_text("# comment\nexport QRPAY_FROM_FILE='abc'\n")
    monkeypatch.setenv("QRPAY_SECRETS_FILE", str(f))
    assert secret("QRPAY_FROM_FILE") == "abc"


def test_database_url_env_overrides_profile(monkeypatch):
    monkeypatch.setenv("QRPAY_DATABASE_URL", "sqlite:////tmp/override.db")
    assert load_config(SAMPLES / "best.toml").database_url == "sqlite:////tmp/override.db"


def test_config_path_from_environment(monkeypatch):
    monkeypatch.setenv("QRPAY_CONFIG", str(SAMPLES / "breb.toml"))
    assert "khulna-pbs" in load_config().billers


@pytest.mark.parametrize("raw, code", [
    ({}, "missing_key"),
    ({"billers": [{"code": "a", "name": "A", "country": "FR", "payee": {"name": "A"}}]},
     "bad_value"),
    ({"billers": [{"code": "a", "name": "A", "country": "IN", "payee": {"name": "A"}}]},
     "missing_key"),  # UPI payee without a VPA
    ({"billers": [{"code": "a", "name": "A", "country": "BD", "currency": "INR",
                   "payee": {"name": "A"}}]}, "bad_value"),
    ({"billers": [{"code": "a", "name": "A", "country": "BD", "payee": {"name": "A"}}] * 2},
     "duplicate_biller"),
])
def test_bad_profiles_are_refused_with_a_code(raw, code):
    with pytest.raises(ConfigError) as exc:
        parse_config(raw)
    assert exc.value.code == code


def test_missing_profile_file(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_config(tmp_path / "nope.toml")
    assert exc.value.code == "config_not_found"


def _bd_biller(**late):
    return {"billers": [{"code": "a", "name": "A", "country": "BD", "payee": {"name": "A"},
                         "late_payment": {"kind": "fixed", "amount": "10", **late}}]}


@pytest.mark.parametrize("grace, expected", [(None, 0), (0, 0), (3, 3), (365, 365)])
def test_late_payment_grace_days(grace, expected):
    late = {} if grace is None else {"grace_days": grace}
    assert parse_config(_bd_biller(**late)).biller("a").late_payment.grace_days == expected


@pytest.mark.parametrize("grace", [-1, 366, "3", 2.5, True])
def test_late_payment_grace_days_must_be_whole_days(grace):
    with pytest.raises(ConfigError) as exc:
        parse_config(_bd_biller(grace_days=grace))
    assert (exc.value.code, exc.value.field) == ("bad_value", "late_payment.grace_days")
