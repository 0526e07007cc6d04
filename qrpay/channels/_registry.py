"""The channel registry: every public module of this package is one channel.

A module ``qrpay/channels/<name>.py`` defines ``CHANNEL = Channel(name="<name>", ...)``;
modules whose names start with ``_`` are helpers.  Adding a channel is adding a file.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import sys

from qrpay.channels._base import CallbackFormat, Channel
from qrpay.errors import ConfigError

PACKAGE = "qrpay.channels"


@functools.cache
def _channels() -> dict[str, Channel]:
    package = sys.modules[PACKAGE]
    found: dict[str, Channel] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{PACKAGE}.{info.name}")
        channel = getattr(module, "CHANNEL", None)
        if not isinstance(channel, Channel) or channel.name != info.name:
            raise ConfigError(f"{PACKAGE}.{info.name} must define CHANNEL = "
                              f"Channel(name={info.name!r}, ...)", code="bad_channel_module")
        found[info.name] = channel
    return found


def refresh() -> None:
    """Forget what was found (a test that adds a channel file)."""
    _channels.cache_clear()


def names() -> list[str]:
    return list(_channels())


def all_channels() -> list[Channel]:
    return list(_channels().values())


def get(name: str) -> Channel:
    """The channel module ``name``; ``ConfigError`` ``unknown_adapter`` if there is none
    (a profile names it as ``adapter = "..."``)."""
    channels = _channels()
    try:
        return channels[name]
    except KeyError:
        raise ConfigError(f"unknown channel format {name!r}; known: {', '.join(channels)}",
                          code="unknown_adapter", field="adapter") from None


def callback_format(name: str) -> CallbackFormat:
    """The callback format of channel module ``name``, or ``ConfigError``."""
    channel = get(name)
    if channel.callback is None:
        raise ConfigError(f"channel {name!r} has no callback format", code="no_callbacks",
                          field="adapter")
    return channel.callback
