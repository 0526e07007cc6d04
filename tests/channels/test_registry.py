"""The channel registry: every public module of qrpay.channels is a channel, found by name."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
import textwrap
from pathlib import Path

import pytest

import qrpay.channels
from qrpay import channels
from qrpay.config import Config, load_config
from qrpay.errors import ConfigError
from tests.conftest import SAMPLES

NOW = dt.datetime(2026, 11, 23, 5, 0, tzinfo=dt.UTC)
CALLBACKS = SAMPLES / "callbacks"
SAMPLE_BODY = {"generic": "upi-success.json", "razorpay": "razorpay-payment-captured.json",
               "phonepe": "phonepe-success.json"}

WALLET = '''
from qrpay.channels import Channel

CHANNEL = Channel(name="{name}", title="A wallet added by dropping in a file")
'''


@pytest.fixture
def extra_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A directory searched as part of the qrpay.channels package, for this test only."""
    monkeypatch.setattr(qrpay.channels, "__path__", [*qrpay.channels.__path__, str(tmp_path)])
    channels.refresh()
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("qrpay.channels.test_")]:
        del sys.modules[name]
    monkeypatch.undo()
    channels.refresh()


def test_the_callback_formats_of_today_are_channels() -> None:
    assert {"generic", "razorpay", "phonepe"} <= set(channels.names())
    for name in ("generic", "razorpay", "phonepe"):
        assert channels.get(name).name == name
        assert channels.callback_format(name) is channels.get(name).callback


def test_a_new_channel_file_is_picked_up(extra_dir: Path) -> None:
    assert "test_wallet" not in channels.names()
    channels.refresh()
    (extra_dir / "test_wallet.py").write_text(WALLET.format(name="test_wallet"))
    channels.refresh()
    wallet = channels.get("test_wallet")
    assert wallet.title.startswith("A wallet")
    assert wallet.callback is None and wallet.biller_api is None and wallet.settlement is None
    assert "test_wallet" in [c.name for c in channels.all_channels()]


def test_a_channel_without_callbacks_is_refused_as_a_callback_format(extra_dir: Path) -> None:
    (extra_dir / "test_billeronly.py").write_text(WALLET.format(name="test_billeronly"))
    channels.refresh()
    with pytest.raises(ConfigError) as exc:
        channels.callback_format("test_billeronly")
    assert exc.value.code == "no_callbacks"


def test_helper_modules_are_not_channels(extra_dir: Path) -> None:
    (extra_dir / "_test_helper.py").write_text("X = 1\n")
    channels.refresh()
    assert "_test_helper" not in channels.names()
    assert "_util" not in channels.names()


def test_a_module_without_its_channel_record_is_a_config_error(extra_dir: Path) -> None:
    (extra_dir / "test_broken.py").write_text(textwrap.dedent(WALLET.format(name="other")))
    channels.refresh()
    with pytest.raises(ConfigError) as exc:
        channels.names()
    assert exc.value.code == "bad_channel_module"


def test_an_unknown_channel_format_names_the_known_ones() -> None:
    with pytest.raises(ConfigError) as exc:
        channels.get("paytm")
    assert exc.value.code == "unknown_adapter"
    assert "razorpay" in exc.value.message


@pytest.fixture
def best(monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("QRPAY_SECRET_PHONEPE", "1:test-salt-key")
    return load_config(SAMPLES / "best.toml")


def _channel_for(config: Config, adapter: str) -> str:
    return next(name for name, spec in config.channels.items() if spec.adapter == adapter)


@pytest.mark.parametrize("adapter", sorted(SAMPLE_BODY))
def test_what_a_channel_signs_it_verifies_and_parses(best: Config, adapter: str) -> None:
    channel = _channel_for(best, adapter)
    body = (CALLBACKS / SAMPLE_BODY[adapter]).read_bytes()
    fmt = channels.callback_format(adapter)
    secret = best.channels[channel].secrets()[0]
    headers = {k.lower(): v for k, v in fmt.sign(secret, body, NOW.timestamp()).items()}
    checked = channels.check_callback(best, channel, headers, body, NOW.timestamp())
    assert checked.error is None and checked.signature_ok is True
    assert checked.parsed is not None and checked.parsed.payment is not None
    assert checked.parsed.payment.channel == channel


@pytest.mark.parametrize("adapter", sorted(SAMPLE_BODY))
def test_a_body_changed_after_signing_is_refused(best: Config, adapter: str) -> None:
    channel = _channel_for(best, adapter)
    body = (CALLBACKS / SAMPLE_BODY[adapter]).read_bytes()
    fmt = channels.callback_format(adapter)
    headers = {k.lower(): v for k, v in
               fmt.sign(best.channels[channel].secrets()[0], body, NOW.timestamp()).items()}
    tampered = body.replace(b"1", b"2", 1)  # PhonePe signs only its response field
    checked = channels.check_callback(best, channel, headers, tampered, NOW.timestamp())
    assert checked.parsed is None and checked.signature_ok is False
    assert checked.error is not None and checked.error.code == "bad_signature"


def test_an_unknown_channel_is_refused_unchecked(best: Config) -> None:
    checked = channels.check_callback(best, "paytm", {}, b"{}", NOW.timestamp())
    assert checked.error is not None and checked.error.code == "unknown_channel"
    assert checked.signature_ok is None


def test_a_missing_secret_is_refused_unchecked(best: Config,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    channel = _channel_for(best, "razorpay")
    monkeypatch.delenv(best.channels[channel].secret_var, raising=False)
    config = dataclasses.replace(best)
    checked = channels.check_callback(config, channel, {}, b"{}", NOW.timestamp())
    assert checked.error is not None and checked.error.code == "missing_secret"
    assert checked.signature_ok is None
