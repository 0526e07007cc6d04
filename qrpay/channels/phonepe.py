"""PhonePe PG (v1) server-to-server callbacks.

* Body ``{"response": "<base64 of a JSON document>"}``.
* ``X-VERIFY: <hex SHA256(base64 response + salt key)>###<salt index>``.  This is a
  plain hash with the salt key as the shared secret, not an HMAC, and carries no
  timestamp; replays are harmless because posting is idempotent.
* Decoded: ``{"success": true, "code": "PAYMENT_SUCCESS", "data": {"merchantId",
  "merchantTransactionId", "transactionId", "amount": <paise>, "state": "COMPLETED",
  "responseCode", "paymentInstrument": {"type": "UPI", "utr": "..."}}}``.  Unknown fields
  are ignored (PhonePe asks for lenient parsing).
* ``code``: ``PAYMENT_SUCCESS`` -> success, ``PAYMENT_PENDING`` -> pending, other
  ``PAYMENT_*`` failures -> failed.
* The bill: qrpay creates ``merchantTransactionId`` as ``<bill_no>_<attempt>`` (PhonePe
  has no free notes field); the part before the last ``_`` is the bill number.
* Secrets: ``QRPAY_SECRET_PHONEPE`` is ``<salt index>:<salt key>`` (a bare key means
  index 1); ``..._PREVIOUS`` holds the key being rotated out.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence

from qrpay.bills import normalise_bill_no
from qrpay.channels._base import Channel
from qrpay.channels._util import (
    load_json,
    minor_units,
    need,
    obj,
    opt_text,
    same_secret,
    text,
)
from qrpay.errors import AuthError, ValidationError
from qrpay.payments.events import ParsedCallback
from qrpay.payments.posting import PaymentIn

HEADER = "x-verify"
CODES = {"PAYMENT_SUCCESS": "success", "PAYMENT_PENDING": "pending"}


def split_secret(secret: str) -> tuple[str, str]:
    index, sep, key = secret.partition(":")
    return (index, key) if sep and index.isdigit() else ("1", secret)


def x_verify(response_b64: str, salt_key: str, salt_index: str) -> str:
    digest = hashlib.sha256((response_b64 + salt_key).encode()).hexdigest()
    return f"{digest}###{salt_index}"


def _response_field(body: bytes) -> str:
    value = load_json(body).get("response")
    if not isinstance(value, str) or not value:
        raise ValidationError("body needs a base64 'response' field", code="missing_field",
                              field="response")
    return value


class PhonePeCallbacks:
    """The :class:`~qrpay.channels.CallbackFormat` of PhonePe PG (v1) callbacks."""

    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str],
               now: float) -> None:
        given = headers.get(HEADER, "")
        digest, sep, index = given.strip().partition("###")
        if not given or not sep:
            raise AuthError("missing or malformed X-VERIFY", code="missing_signature",
                            field=HEADER)
        response = _response_field(body)
        ok = False
        for secret in secrets:
            salt_index, salt_key = split_secret(secret)
            expected = hashlib.sha256((response + salt_key).encode()).hexdigest()
            ok |= same_secret(expected, digest.lower()) and salt_index == index
        if not ok:
            raise AuthError("X-VERIFY does not match", code="bad_signature", field=HEADER)

    def parse(self, channel: str, headers: Mapping[str, str], body: bytes) -> ParsedCallback:
        try:
            decoded = base64.b64decode(_response_field(body), validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError("response is not base64", code="bad_json",
                                  field="response") from None
        doc = load_json(decoded, what="response")
        data = obj(need(doc, "data"), "data")
        code = doc.get("code")
        merchant_txn = text(need(data, "merchantTransactionId"), "merchantTransactionId")
        bill_no = merchant_txn.rpartition("_")[0] or merchant_txn
        instrument = data.get("paymentInstrument")
        if not isinstance(instrument, dict):  # lenient: an odd instrument is not needed
            instrument = {}
        payment = PaymentIn(
            channel=channel, txn_id=merchant_txn, bill_no=normalise_bill_no(bill_no),
            amount=minor_units(data.get("amount"), "amount"), currency="INR",
            status=CODES.get(code, "failed") if isinstance(code, str) else "failed",
            paid_at=None, utr=opt_text(instrument.get("utr"), "paymentInstrument.utr", 64),
            mode=opt_text(instrument.get("type"), "paymentInstrument.type", 20),
            reference=opt_text(data.get("transactionId"), "transactionId", 100))
        return ParsedCallback(payment=payment, event_id=payment.reference,
                              txn_id=merchant_txn)

    def sign(self, secret: str, body: bytes, now: float) -> dict[str, str]:
        salt_index, salt_key = split_secret(secret)
        return {"X-VERIFY": x_verify(_response_field(body), salt_key, salt_index)}


CHANNEL = Channel(name="phonepe", title="PhonePe", callback=PhonePeCallbacks())
