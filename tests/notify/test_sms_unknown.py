"""``qrpay sms unknown``: an SMS whose send timed out at MSG91 (no client reference, so a
resend may deliver twice) is listed for a person, resent only when they say so, or
settled as sent; a provider that can be asked is asked first (issue 10 item 19)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from qrpay.cli import main
from qrpay.config import Config
from qrpay.notify.sender import deliver_due, settle_unknown, unknown_sms
from qrpay.store import Store
from tests.conftest import SAMPLES

from .conftest import FakeProvider
from .test_sender import NOW, add_sms, later, rows


def _msg91_profile(tmp_path: Path, fake: FakeProvider) -> Path:
    text = (SAMPLES / "best.toml").read_text(encoding="utf-8")
    text = text.replace('[sms]\nprovider = "console"',
                        f'[sms]\nprovider = "msg91"\nbase_url = "{fake.url}"\ntimeout = "0.3"')
    assert 'provider = "msg91"' in text
    path = tmp_path / "best.toml"
    path.write_text(text.replace('logo = "logos/', f'logo = "{SAMPLES}/logos/'),
                    encoding="utf-8")
    return path


@pytest.fixture
def timed_out(store: Store, best_config: Config, fake_provider: FakeProvider, tmp_path,
              db_url: str, monkeypatch) -> tuple[Path, Config]:
    """One SMS sent to a slow MSG91 (answering after the timeout): outcome unknown."""
    monkeypatch.setenv("QRPAY_MSG91_AUTHKEY", "k")
    monkeypatch.setenv("QRPAY_DATABASE_URL", db_url)
    config = dataclasses.replace(best_config, sms_provider="msg91", sms_options={
        "base_url": fake_provider.url, "timeout": "0.3"})
    add_sms(store, best_config)
    fake_provider.delay = 1.0
    assert deliver_due(store, config, now=NOW).unknown == 1
    fake_provider.delay = 0.0
    return _msg91_profile(tmp_path, fake_provider), config


def test_unknown_sms_are_listed_and_resent_only_when_asked(timed_out, store, capsys,
                                                            fake_provider) -> None:
    profile, config = timed_out
    (row,) = rows(store)
    assert main(["--config", str(profile), "sms", "unknown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{row.id}\tbest\t") and "1 SMS with an unknown outcome" in out
    assert deliver_due(store, config, now=later(600)).claimed == 0  # not resent by itself
    assert main(["--config", str(profile), "sms", "unknown", "--resend", str(row.id)]) == 0
    assert "queued again" in capsys.readouterr().out
    assert deliver_due(store, config).sent == 1  # the CLI queued it for now (real time)
    assert fake_provider.delivered == 2  # the slow first one, and the resend asked for
    assert unknown_sms(store, config) == []


def test_an_unknown_sms_the_report_shows_delivered_is_settled_not_resent(
        timed_out, store, capsys, fake_provider) -> None:
    profile, config = timed_out
    (row,) = rows(store)
    assert main(["--config", str(profile), "sms", "unknown", "--mark-sent", str(row.id)]) == 0
    (row,) = rows(store)
    assert row.status == "sent"
    assert deliver_due(store, config, now=later(3600)).claimed == 0
    assert fake_provider.delivered == 1
    assert main(["--config", str(profile), "sms", "unknown", "--resend", str(row.id)]) == 2
    assert "not_unknown" in capsys.readouterr().err


def test_a_provider_that_can_be_asked_is_asked_before_resending(timed_out, store) -> None:
    _profile, config = timed_out

    class Asked:
        name, resend_is_safe = "asked", False
        questions: list[str] = []

        def send(self, sms):  # noqa: ANN001, ANN201
            raise AssertionError("settling must not send")

        def status(self, sms):  # noqa: ANN001, ANN201
            self.questions.append(sms.dedupe_key)
            return "delivered"

    (sms,) = unknown_sms(store, config)
    provider = Asked()
    assert settle_unknown(store, provider, sms) == "sent"
    assert provider.questions == [sms.dedupe_key]
    (row,) = rows(store)
    assert row.status == "sent" and row.provider_ref == "asked: delivered"
