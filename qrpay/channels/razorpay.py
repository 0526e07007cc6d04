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
* ``refund.processed`` (``contains: ["refund", "payment"]``; ``payload.refund.entity``
  has ``id`` ``rfnd_...``, ``amount``, ``payment_id``; ``payload.payment.entity`` is the
  payment with ``amount_refunded``): when the refunds reach the payment's amount the
  payment is reported ``reversed`` (posting's reversal path: a ``reversal`` ledger entry,
  the bill is due again).  A partial refund changes nothing on the bill: it is answered
  200 ``partial_refund`` and kept on the callback row for the accounts team (a bill
  payment is not partly undone by a PSP refund of a part of it; how much the consumer
  still owes is their decision).  ``refund.created``/``refund.failed`` are ignored:
  only ``processed`` is final.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

from qrpay.bills import normalise_bill_no
from qrpay.channels._base import Channel
from qrpay.channels._util import (
    from_unix,
    load_json,
    minor_units,
    need,
    obj,
    opt_text,
    same_secret,
    text,
)
from qrpay.errors import AuthError, ValidationError
from qrpay.money import to_decimal_str
from qrpay.payments.events import ParsedCallback
from qrpay.payments.posting import PaymentIn
from qrpay.recon.formats import ColumnMap, cols

HEADER = "x-razorpay-signature"
EVENTS = {"payment.captured": "success", "payment.failed": "failed",
          "payment.authorized": "pending"}
REFUND_PROCESSED = "refund.processed"


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class RazorpayCallbacks:
    """The :class:`~qrpay.channels.CallbackFormat` of Razorpay's payment webhooks."""

    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str],
               now: float) -> None:
        given = headers.get(HEADER)
        if not given:
            raise AuthError("missing X-Razorpay-Signature", code="missing_signature",
                            field=HEADER)
        ok = False
        for secret in secrets:
            ok |= same_secret(sign(secret, body), given.strip().lower())
        if not ok:
            raise AuthError("signature does not match", code="bad_signature", field=HEADER)

    def parse(self, channel: str, headers: Mapping[str, str], body: bytes) -> ParsedCallback:
        data = load_json(body)
        event = data.get("event")
        event = event if isinstance(event, str) and event.isascii() else ""
        event_id = opt_text(headers.get("x-razorpay-event-id"), "x-razorpay-event-id", 100)
        if event == REFUND_PROCESSED:
            return _refund(channel, data, event_id)
        if event not in EVENTS:
            return ParsedCallback(payment=None, event_id=event_id,
                                  ignored=f"event {event[:60] or '?'} is not a payment outcome")
        entity = _entity(data, "payment")
        payment = _payment(channel, entity, EVENTS[event])
        return ParsedCallback(payment=payment, event_id=event_id, txn_id=payment.txn_id)

    def sign(self, secret: str, body: bytes, now: float) -> dict[str, str]:
        return {"X-Razorpay-Signature": sign(secret, body)}


#: Razorpay settlement recon items (``GET /v1/settlements/recon/combined`` rows or its CSV
#: export); amounts in paise; the bill is ``order_receipt``; a row counts only when
#: ``settled`` is true (see :mod:`qrpay.recon.formats`).
SETTLEMENT = ColumnMap(
    name="razorpay", unit="minor",
    columns=cols(txn_id=("payment_id", "entity_id"), refund_id="entity_id",
                 bill_no=("order_receipt", "notes.bill_no"), utr="settlement_utr",
                 amount="amount", fee="fee", tax="tax", net="credit", net_debit="debit",
                 settlement_id="settlement_id", settled_on="settled_at",
                 paid_at="created_at", mode="method", kind="type", settled="settled"),
    kinds={"payment": "payment", "refund": "refund"}, default_kind="other",
    settled_values=frozenset({"true", "1", "yes"}))

CHANNEL = Channel(name="razorpay", title="Razorpay", callback=RazorpayCallbacks(),
                  settlement=SETTLEMENT)


def _entity(data: dict[str, Any], name: str) -> dict[str, Any]:
    """``payload.<name>.entity``, each level a JSON object."""
    payload = obj(need(data, "payload"), "payload")
    wrapper = obj(need(payload, name, prefix="payload."), f"payload.{name}")
    return obj(need(wrapper, "entity", prefix=f"payload.{name}."), f"payload.{name}.entity")


def _payment(channel: str, entity: dict[str, Any], status: str) -> PaymentIn:
    notes = entity.get("notes")
    bill_no = need(notes if isinstance(notes, dict) else {}, "bill_no", prefix="notes.")
    acquirer = entity.get("acquirer_data")
    if not isinstance(acquirer, dict):
        acquirer = {}
    return PaymentIn(
        channel=channel, txn_id=text(need(entity, "id"), "id"),
        bill_no=normalise_bill_no(text(bill_no, "bill_no")),
        amount=minor_units(entity.get("amount"), "amount"),
        currency=text(need(entity, "currency"), "currency"), status=status,
        paid_at=from_unix(entity.get("created_at")),
        payer=opt_text(entity.get("vpa") or entity.get("contact"), "vpa", 200),
        utr=opt_text(acquirer.get("rrn") or acquirer.get("upi_transaction_id"), "rrn", 64),
        mode=opt_text(entity.get("method"), "method", 20),
        reference=opt_text(entity.get("order_id"), "order_id", 100))


def _refund(channel: str, data: dict[str, Any], event_id: str | None) -> ParsedCallback:
    """``refund.processed``: a full refund reverses the payment; a partial one is recorded
    on the callback row (result ``partial_refund``) and leaves the bill alone."""
    refund = _entity(data, "refund")
    refund_id = text(need(refund, "id"), "refund.id")
    refunded = minor_units(refund.get("amount"), "refund.amount")
    reversal = _payment(channel, _entity(data, "payment"), "reversed")
    if text(need(refund, "payment_id"), "refund.payment_id") != reversal.txn_id:
        raise ValidationError("refund.payment_id is not payload.payment.entity.id",
                              code="bad_field", field="refund.payment_id")
    total = _refunded_total(data, refunded)
    if total >= reversal.amount:
        return ParsedCallback(payment=dataclasses.replace(reversal, reference=refund_id),
                              event_id=event_id, txn_id=reversal.txn_id)
    return ParsedCallback(
        payment=None, event_id=event_id, txn_id=reversal.txn_id, result="partial_refund",
        ignored=f"partial refund {refund_id} of {to_decimal_str(refunded)} "
                f"({to_decimal_str(total)} of {to_decimal_str(reversal.amount)} refunded): "
                f"the bill is not changed; settle it by hand")


def _refunded_total(data: dict[str, Any], this_refund: int) -> int:
    """What has been refunded of the payment so far: ``amount_refunded`` of the payment
    entity (several partial refunds add up), else this refund's amount."""
    total = data["payload"]["payment"]["entity"].get("amount_refunded")
    if isinstance(total, int) and not isinstance(total, bool) and total > 0:
        return max(total, this_refund)
    return this_refund
