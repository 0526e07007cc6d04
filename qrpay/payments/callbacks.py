"""Payment callbacks, framework-free: ``handle_callback(store, config, channel, headers,
raw_body, remote) -> CallbackResult(status, body)`` for one, and :class:`CallbackWriter`
(group commit, :mod:`qrpay.payments.groupcommit`) for a server.  The web layer only
passes the raw request through and writes the answer.

A callback is first verified on its raw bytes and parsed by its channel's module
(``qrpay.channels.check_callback``, CPU only, nothing stored yet; with the writer in the
submitting thread), then handed to the group-commit writer as a
:class:`~qrpay.payments.events.CheckedCallback`, which stores it as received, posts it
and answers after commit (see :mod:`qrpay.payments.groupcommit` for the steps and what
happens when a transaction fails).

Status codes (``qrpay.errors.http_status``): 401 bad or missing signature, stale
timestamp; 422 a signed body that cannot be read (malformed JSON or fields, whatever its
shape, ``bad_paid_at`` included) or a well-formed payment that cannot be accepted
(``unknown_bill``, ``channel_not_allowed``, ``currency_mismatch``,
``non_positive_amount``, ``bad_status``...); 409 the transaction id was seen with another
bill or amount; 404 ``unknown_channel``; 500 a profile or secret missing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from contextlib import AbstractContextManager
from typing import Any

from qrpay.clock import utcnow
from qrpay.config import Config
from qrpay.errors import PaymentError
from qrpay.payments.events import CheckedCallback, lower_headers
from qrpay.payments.groupcommit import (
    DROP_HEADERS,
    MAX_BATCH,
    CallbackResult,
    GroupCommitWriter,
    Item,
    Received,
    process,
    status_for,
)
from qrpay.store import Store

__all__ = ["DROP_HEADERS", "MAX_BATCH", "MAX_BODY", "CallbackResult", "CallbackWriter",
           "Item", "Received", "check", "handle_callback", "item_for", "process",
           "status_for"]

MAX_BODY = 64 * 1024


def check(config: Config, received: Received) -> CheckedCallback:
    """Verify and parse a callback as received (no store access, never raises)."""
    if len(received.body) > MAX_BODY:
        return CheckedCallback(None, PaymentError("callback body too large",
                                                  code="body_too_large"))
    # the channel modules sit above payments: until the web layer calls them itself
    from qrpay.channels import check_callback

    return check_callback(config, received.channel, received.headers, received.body,
                          received.now.timestamp())


def received_of(channel: str, headers: Mapping[str, str], raw_body: bytes,
                remote: str | None, now: dt.datetime | None = None) -> Received:
    return Received(channel, lower_headers(headers), raw_body, remote, now or utcnow())


def item_for(config: Config, channel: str, headers: Mapping[str, str], raw_body: bytes,
             remote: str | None, now: dt.datetime | None = None) -> Item:
    """A received callback, verified and parsed, ready for :func:`process`."""
    received = received_of(channel, headers, raw_body, remote, now)
    return Item(received, check(config, received))


def handle_callback(store: Store, config: Config, channel: str, headers: Mapping[str, str],
                    raw_body: bytes, remote: str | None, now: dt.datetime | None = None
                    ) -> CallbackResult:
    """Store, verify, parse and post one callback (a batch of one)."""
    item = item_for(config, channel, headers, raw_body, remote, now)
    process(store, config, [item])
    return item.future.result()


class CallbackWriter:
    """A process's group-commit writer with today's raw-request ``submit``.

    ``submit(channel, headers, raw_body, remote)`` verifies and parses in the caller's
    thread and queues the callback; ``submit_checked(received, checked)`` queues one
    already verified and parsed above payments.  Both return a future that completes
    only after the callback's transaction committed (or with the exception that made it
    fail)."""

    def __init__(self, store: Store, config: Config, *,
                 lock: Callable[[], AbstractContextManager[Any]] | None = None,
                 max_batch: int = MAX_BATCH) -> None:
        self._config = config
        self._writer = GroupCommitWriter(store, config, lock=lock, max_batch=max_batch)

    def submit(self, channel: str, headers: Mapping[str, str], raw_body: bytes,
               remote: str | None, now: dt.datetime | None = None
               ) -> Future[CallbackResult]:
        received = received_of(channel, headers, raw_body, remote, now)
        return self._writer.submit(received, check(self._config, received))

    def submit_checked(self, received: Received, checked: CheckedCallback
                       ) -> Future[CallbackResult]:
        return self._writer.submit(received, checked)

    def close(self, timeout: float = 10.0) -> None:
        self._writer.close(timeout)
