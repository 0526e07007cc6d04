"""What a payment channel hands to payments: an already verified and parsed callback.

The channels (``qrpay.channels``, a layer above payments) turn a channel's wire format into
a :class:`ParsedCallback`; payments only ever sees this value, never a channel's bytes
format, so payments never imports a channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qrpay.errors import QrpayError
from qrpay.payments.posting import PaymentIn


@dataclass(frozen=True)
class ParsedCallback:
    """A verified callback: a payment to post, or ``payment=None`` with the reason it is
    acknowledged without posting (``result`` ``ignored``, or ``partial_refund``)."""

    payment: PaymentIn | None
    event_id: str | None = None
    txn_id: str | None = None
    ignored: str | None = None  # why an event is acknowledged without posting
    result: str = "ignored"  # the answer's and callback row's result when not posting


def lower_headers(headers: Mapping[Any, Any]) -> dict[str, str]:
    """Header names lower-cased, as every channel's ``verify``/``parse`` receives them."""
    return {str(k).lower(): str(v) for k, v in headers.items()}


@dataclass(frozen=True)
class CheckedCallback:
    """The outcome of verifying and parsing one callback, before anything is stored: a
    :class:`ParsedCallback` to act on, or the error to refuse it with (and to record on
    its row).  ``signature_ok``: True verified, False refused by the signature check,
    None not checked (unknown channel, missing secret)."""

    parsed: ParsedCallback | None
    error: QrpayError | None = None
    signature_ok: bool | None = None
