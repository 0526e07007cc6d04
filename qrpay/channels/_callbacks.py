"""A received callback verified and parsed by its channel's module, above payments."""

from __future__ import annotations

from collections.abc import Mapping

from qrpay.channels._registry import callback_format
from qrpay.config import Config
from qrpay.errors import AuthError, NotFound, QrpayError
from qrpay.payments.events import CheckedCallback


def check_callback(config: Config, channel: str, headers: Mapping[str, str], body: bytes,
                   now: float) -> CheckedCallback:
    """Verify ``body`` (raw bytes; ``headers`` lower-cased) with the profile's channel
    ``channel`` and parse it.  Never raises a :class:`QrpayError`: a refusal is returned,
    for the payments writer to record and answer."""
    spec = config.channels.get(channel)
    if spec is None:
        return CheckedCallback(None, NotFound(f"no payment channel {channel!r}",
                                              code="unknown_channel", field="channel"))
    try:
        fmt = callback_format(spec.adapter)
        secrets = spec.secrets()
    except QrpayError as exc:
        return CheckedCallback(None, exc)
    try:
        fmt.verify(headers, body, secrets, now)
    except AuthError as exc:
        return CheckedCallback(None, exc, signature_ok=False)
    except QrpayError as exc:  # a body too malformed to find what was signed
        return CheckedCallback(None, exc)
    try:
        return CheckedCallback(fmt.parse(channel, headers, body), signature_ok=True)
    except QrpayError as exc:
        return CheckedCallback(None, exc, signature_ok=True)
