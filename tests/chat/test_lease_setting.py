"""``[chat] lease_seconds``: how long a claimed message is one sender's (a dead node's
messages are taken over after it)."""

from __future__ import annotations

import dataclasses

import pytest

from qrpay.chat.settings import chat_settings
from qrpay.config import Config
from qrpay.errors import ConfigError


def with_lease(config: Config, value: object) -> Config:
    raw = dict(config.raw, chat={**config.raw.get("chat", {}), "lease_seconds": value})
    return dataclasses.replace(config, raw=raw)


def test_the_lease_defaults_to_30_seconds_and_can_be_set(breb_config: Config) -> None:
    assert chat_settings(breb_config).lease_seconds == 30.0
    assert chat_settings(with_lease(breb_config, 5)).lease_seconds == 5.0


@pytest.mark.parametrize("bad", [0, -1, "30", True])
def test_a_bad_lease_is_refused(breb_config: Config, bad: object) -> None:
    with pytest.raises(ConfigError) as err:
        chat_settings(with_lease(breb_config, bad))
    assert err.value.code == "bad_value" and err.value.field == "chat.lease_seconds"
