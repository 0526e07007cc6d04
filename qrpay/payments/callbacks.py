"""Payment callbacks, framework-free, as payments sees them: already verified and parsed.
:func:`process` stores and posts a batch of them; :class:`CallbackWriter` (group commit,
:mod:`qrpay.payments.groupcommit`) does it for a server.

A callback is first verified on its raw bytes and parsed by its channel's module, above
payments (``qrpay.channels.check``/``check_callback``, CPU only, nothing stored yet; with
the writer in the submitting thread; ``qrpay.channels.handle_callback(store, config,
channel, headers, raw_body, remote) -> CallbackResult(status, body)`` does it all for
one callback), then handed to the group-commit writer as a
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
from qrpay.payments.events import CheckedCallback, lower_headers
from qrpay.payments.groupcommit import (
    KEEP_HEADERS,
    MAX_BATCH,
    CallbackResult,
    GroupCommitWriter,
    Item,
    Received,
    process,
    status_for,
)
from qrpay.store import Store

__all__ = ["KEEP_HEADERS", "MAX_BATCH", "CallbackResult", "CallbackWriter", "Item",
           "Received", "process", "received_of", "status_for"]


def received_of(channel: str, headers: Mapping[str, str], raw_body: bytes,
                remote: str | None, now: dt.datetime | None = None) -> Received:
    return Received(channel, lower_headers(headers), raw_body, remote, now or utcnow())


class CallbackWriter:
    """A process's group-commit writer: ``submit_checked(received, checked)`` queues a
    callback verified and parsed above payments (``qrpay.channels.submit`` does both) and
    returns a future that completes only after the callback's transaction committed (or
    with the exception that made it fail)."""

    def __init__(self, store: Store, config: Config, *,
                 lock: Callable[[], AbstractContextManager[Any]] | None = None,
                 max_batch: int = MAX_BATCH) -> None:
        self.config = config
        self._writer = GroupCommitWriter(store, config, lock=lock, max_batch=max_batch)

    def submit_checked(self, received: Received, checked: CheckedCallback
                       ) -> Future[CallbackResult]:
        return self._writer.submit(received, checked)

    def close(self, timeout: float = 10.0) -> None:
        self._writer.close(timeout)
