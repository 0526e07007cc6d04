"""The sample callbacks in samples/callbacks/ post against the sample bills, signed by
``qrpay callback sign`` exactly as each channel's adapter expects."""

import dataclasses
import datetime as dt

import pytest

from qrpay.channels import handle_callback
from qrpay.cli import main
from qrpay.commands.callback import signature_headers
from qrpay.config import load_config
from qrpay.importer import import_bills
from tests.conftest import SAMPLES

CALLBACKS = SAMPLES / "callbacks"
NOW = dt.datetime(2026, 11, 23, 5, 0, tzinfo=dt.UTC)


@pytest.fixture
def best(store, db_url, monkeypatch):
    monkeypatch.setenv("QRPAY_SECRET_PHONEPE", "1:test-salt-key")
    config = dataclasses.replace(load_config(SAMPLES / "best.toml"), database_url=db_url)
    assert import_bills(store, config, SAMPLES / "bills-best.csv").ok
    return config


def _post(store, config, channel, name):
    body = (CALLBACKS / name).read_bytes()
    headers = signature_headers(config, channel, body, int(NOW.timestamp()))
    return handle_callback(store, config, channel, headers, body, None, now=NOW)


@pytest.mark.parametrize("channel, name", [
    ("upi", "upi-success.json"),
    ("razorpay", "razorpay-payment-captured.json"),
    ("phonepe", "phonepe-success.json"),
])
def test_each_sample_posts_with_its_channels_signature(store, best, channel, name):
    result = _post(store, best, channel, name)
    assert result.status == 200, result.body
    assert result.body["result"] == "posted" and result.body["receipt_no"].startswith("BEST-")
    again = _post(store, best, channel, name)
    assert again.body["result"] == "duplicate"
    assert again.body["receipt_no"] == result.body["receipt_no"]


def test_reversal_sample_reverses_the_success_sample(store, best):
    assert _post(store, best, "upi", "upi-success.json").body["result"] == "posted"
    assert _post(store, best, "upi", "upi-reversed.json").body["result"] == "reversed"


def test_sample_signed_with_another_secret_is_refused(store, best, monkeypatch):
    body = (CALLBACKS / "upi-success.json").read_bytes()
    headers = signature_headers(best, "upi", body, int(NOW.timestamp()))
    monkeypatch.setenv("QRPAY_SECRET_UPI", "rotated-away")
    result = handle_callback(store, best, "upi", headers, body, None, now=NOW)
    assert result.status == 401 and result.body["error"]["code"] == "bad_signature"


def test_cli_sign_prints_the_header(best, capsys, monkeypatch):
    monkeypatch.setenv("QRPAY_DATABASE_URL", best.database_url)
    assert main(["--config", str(SAMPLES / "best.toml"), "callback", "sign",
                 str(CALLBACKS / "upi-success.json"), "--channel", "upi", "--time", "1"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("X-Qrpay-Signature: t=1,v1=") and len(out.split("v1=")[1]) == 64


def test_cli_unknown_channel_is_an_error(best, capsys):
    assert main(["--config", str(SAMPLES / "best.toml"), "callback", "sign",
                 str(CALLBACKS / "upi-success.json"), "--channel", "bkash"]) == 2
    assert "error[unknown_channel]" in capsys.readouterr().err


def test_cli_send_to_no_server_is_a_clear_error(best, capsys):
    import socket

    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["--config", str(SAMPLES / "best.toml"), "callback", "send",
                 str(CALLBACKS / "upi-success.json"), "--channel", "upi",
                 "--url", f"http://127.0.0.1:{port}"]) == 2
    assert capsys.readouterr().err.startswith("error[connection_failed]")
