"""A raw callback received: verified and parsed here, above payments, by its channel's
module, then handed to the payments group-commit writer as a
:class:`~qrpay.payments.events.CheckedCallback` (payments never sees a wire format).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from concurrent.futures import Future

from qrpay.channels._callbacks import check_callback
from qrpay.config import Config
from qrpay.errors import TooLarge
from qrpay.payments.callbacks import (
    CallbackResult,
    CallbackWriter,
    Item,
    Received,
    process,
    received_of,
)
from qrpay.payments.events import CheckedCallback
from qrpay.store import Store

MAX_BODY = 64 * 1024  # a callback body larger than this is refused (and kept) unread


def check(config: Config, received: Received) -> CheckedCallback:
    """Verify and parse a callback as received (no store access, never raises)."""
    if len(received.body) > MAX_BODY:
        return CheckedCallback(None, TooLarge("callback body too large",
                                              code="too_large"))
    return check_callback(config, received.channel, received.headers, received.body,
                          received.now.timestamp())


def item_for(config: Config, channel: str, headers: Mapping[str, str], raw_body: bytes,
             remote: str | None, now: dt.datetime | None = None) -> Item:
    """A received callback, verified and parsed, ready for ``payments.callbacks.process``."""
    received = received_of(channel, headers, raw_body, remote, now)
    return Item(received, check(config, received))


def handle_callback(store: Store, config: Config, channel: str, headers: Mapping[str, str],
                    raw_body: bytes, remote: str | None, now: dt.datetime | None = None
                    ) -> CallbackResult:
    """Store, verify, parse and post one callback (a batch of one); see
    ``qrpay.payments.callbacks`` for the answers."""
    item = item_for(config, channel, headers, raw_body, remote, now)
    process(store, config, [item])
    return item.future.result()


def submit(writer: CallbackWriter, config: Config, channel: str, headers: Mapping[str, str],
           raw_body: bytes, remote: str | None, now: dt.datetime | None = None
           ) -> Future[CallbackResult]:
    """Verify and parse in the caller's thread, then queue on the group-commit ``writer``;
    the future completes after the callback's transaction committed."""
    received = received_of(channel, headers, raw_body, remote, now)
    return writer.submit_checked(received, check(config, received))
