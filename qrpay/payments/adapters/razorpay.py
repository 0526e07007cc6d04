"""Razorpay payment webhooks.

* ``X-Razorpay-Signature``: hex HMAC-SHA256 of the raw body with the *webhook* secret
  (not the API key secret).  There is no timestamp in the signature: replays are harmless
  because posting is idempotent on the payment id.  ``X-Razorpay-Event-Id`` is kept as
  the event id.
* Body: ``{"entity": "event", "event": "payment.captured", "contains": ["payment"],
  "payload": {"payment": {"entity": {"id": "pay_...", "amount": 123450, "currency":
  "INR", "status": "captured", "method": "upi", "vpa": "...", "notes": {"bill_no":
  "..."}, "acquirer_data": {"rrn": "..."}, "created_at": 1718000000}}}}``; amounts are
  integer paise.
* Events: ``payment.captured`` -> success, ``payment.failed`` -> failed,
  ``payment.authorized`` -> pending (captured later); anything else is acknowledged and
  ignored.  The bill is named by ``notes.bill_no``, set when the order or QR is created.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

from qrpay.errors import AuthError
from qrpay.payments.adapters import ParsedCallback
from qrpay.payments.adapters._util import from_unix, load_json, minor_units, need, text
from qrpay.payments.posting import PaymentIn

HEADER = "x-razorpay-signature"
EVENTS = {"payment.captured": "success", "payment.failed": "failed",
          "payment.authorized": "pending"}


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class RazorpayAdapter:
    name = "razorpay"

    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str],
               now: float) -> None:
        given = headers.get(HEADER)
        if not given:
            raise AuthError("missing X-Razorpay-Signature", code="missing_signature",
                            field=HEADER)
        ok = False
        for secret in secrets:
            ok |= hmac.compare_digest(sign(secret, body), given.strip().lower())
        if not ok:
            raise AuthError("signature does not match", code="bad_signature", field=HEADER)

    def parse(self, channel: str, headers: Mapping[str, str], body: bytes) -> ParsedCallback:
        data = load_json(body)
        event = str(data.get("event", ""))
        event_id = headers.get("x-razorpay-event-id")
        if event not in EVENTS:
            return ParsedCallback(payment=None, event_id=event_id,
                                  ignored=f"event {event or '?'} is not a payment outcome")
        entity: dict[str, Any] = need(need(need(data, "payload"), "payment",
                                           prefix="payload."), "entity",
                                      prefix="payload.payment.")
        notes = entity.get("notes") or {}
        bill_no = need(notes if isinstance(notes, dict) else {}, "bill_no", prefix="notes.")
        acquirer = entity.get("acquirer_data") or {}
        payment = PaymentIn(
            channel=channel, txn_id=text(need(entity, "id"), "id"), bill_no=text(bill_no,
                                                                                "bill_no"),
            amount=minor_units(entity.get("amount"), "amount"),
            currency=text(need(entity, "currency"), "currency"), status=EVENTS[event],
            paid_at=from_unix(entity.get("created_at")),
            payer=(entity.get("vpa") or entity.get("contact") or None),
            utr=(acquirer.get("rrn") or acquirer.get("upi_transaction_id") or None)
            if isinstance(acquirer, dict) else None,
            mode=str(entity.get("method") or "") or None, reference=entity.get("order_id"))
        return ParsedCallback(payment=payment, event_id=event_id, txn_id=payment.txn_id)
