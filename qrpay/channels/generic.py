"""The generic signed contract (qrpay's own; see docs/callbacks.md).

Header ``X-Qrpay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``
(several ``v1=`` are allowed, as a sender may sign with old and new secret during a
rotation).  The timestamp must be within 300 s of our clock either way.  Body::

    {"event_id": "...", "txn_id": "...", "bill_no": "...", "amount": "1234.50",
     "currency": "INR", "status": "success|failed|pending|reversed",
     "paid_at": "2024-06-10T11:30:00+05:30", "payer": "...", "utr": "..."}

``amount`` must be a JSON *string* with at most two decimals.  A JSON number is refused
(``amount_not_string``) even though it is parsed exactly (``parse_float=Decimal``): a bare
number is too easily minor units by mistake (``123450`` for 1,234.50).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

from qrpay.bills import normalise_bill_no
from qrpay.channels._base import Channel
from qrpay.channels._util import load_json, need, opt_text, same_secret, text
from qrpay.errors import AuthError, ValidationError
from qrpay.money import parse_amount
from qrpay.payments.events import ParsedCallback
from qrpay.payments.posting import PaymentIn
from qrpay.recon.formats import ColumnMap, cols

HEADER = "x-qrpay-signature"
TOLERANCE = 300


def sign(secret: str, body: bytes, t: int) -> str:
    """The header value for ``body`` signed at unix time ``t``."""
    mac = hmac.new(secret.encode(), str(t).encode() + b"." + body, hashlib.sha256)
    return f"t={t},v1={mac.hexdigest()}"


def _parse_header(value: str | None) -> tuple[int, list[str]]:
    if not value:
        raise AuthError("missing X-Qrpay-Signature header", code="missing_signature",
                        field=HEADER)
    t: int | None = None
    sigs: list[str] = []
    for part in value.split(","):
        key, _, val = part.strip().partition("=")
        if key == "t" and val.isascii() and val.isdigit() and len(val) <= 12:
            t = int(val)
        elif key == "v1" and val:
            sigs.append(val.lower())
    if t is None or not sigs:
        raise AuthError("X-Qrpay-Signature must be t=<unix>,v1=<hex>",
                        code="bad_signature_header", field=HEADER)
    return t, sigs


def _paid_at(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        when = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(f"paid_at {value!r} is not ISO 8601", code="bad_paid_at",
                              field="paid_at") from None
    if when.tzinfo is None:
        raise ValidationError("paid_at needs a UTC offset", code="bad_paid_at",
                              field="paid_at")
    try:
        when.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01T00:00+05:00 is before the first UTC instant
        raise ValidationError(f"paid_at {value!r} is out of range", code="bad_paid_at",
                              field="paid_at") from None
    return when


class GenericCallbacks:
    """The :class:`~qrpay.channels.CallbackFormat` of qrpay's own signed contract."""

    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str],
               now: float) -> None:
        t, sigs = _parse_header(headers.get(HEADER))
        if abs(now - t) > TOLERANCE:
            raise AuthError(f"signature timestamp is more than {TOLERANCE} s off",
                            code="stale_timestamp", field=HEADER)
        signed = str(t).encode() + b"." + body
        ok = False
        for secret in secrets:
            expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
            for sig in sigs:  # no early exit: time does not depend on which one matched
                ok |= same_secret(expected, sig)
        if not ok:
            raise AuthError("signature does not match", code="bad_signature", field=HEADER)

    def parse(self, channel: str, headers: Mapping[str, str], body: bytes) -> ParsedCallback:
        data = load_json(body)
        raw_amount = need(data, "amount")
        if not isinstance(raw_amount, str):
            raise ValidationError('amount must be a JSON string such as "1234.50"',
                                  code="amount_not_string", field="amount")
        amount = parse_amount(raw_amount, field="amount")
        payment = PaymentIn(
            channel=channel, txn_id=text(need(data, "txn_id"), "txn_id"),
            bill_no=normalise_bill_no(text(need(data, "bill_no"), "bill_no")), amount=amount,
            currency=text(need(data, "currency"), "currency"),
            status=text(need(data, "status"), "status"), paid_at=_paid_at(data.get("paid_at")),
            payer=opt_text(data.get("payer"), "payer", 200),
            utr=opt_text(data.get("utr"), "utr", 64),
            mode=opt_text(data.get("mode"), "mode", 20),
            reference=opt_text(data.get("event_id"), "event_id", 100))
        return ParsedCallback(payment=payment, event_id=payment.reference,
                              txn_id=payment.txn_id)

    def sign(self, secret: str, body: bytes, now: float) -> dict[str, str]:
        return {"X-Qrpay-Signature": sign(secret, body, int(now))}


#: The documented wallet settlement format (bKash, Rocket, Nagad... MIS files); amounts as
#: decimal strings in major units (see :mod:`qrpay.recon.formats`).
SETTLEMENT = ColumnMap(
    name="generic", unit="major",
    columns=cols(txn_id="txn_id", bill_no="bill_no", utr="utr", amount="amount",
                 fee="fee", tax="tax", net="net", settlement_id="settlement_id",
                 settled_on="settled_on", paid_at="paid_at", mode="mode",
                 refund_id="refund_id", kind="status"),
    kinds={"success": "payment", "settled": "payment", "refund": "refund",
           "reversed": "refund", "failed": "other", "pending": "other"},
    default_kind="other")

CHANNEL = Channel(name="generic", title="qrpay signed callback and settlement file",
                  callback=GenericCallbacks(), settlement=SETTLEMENT)
