"""Cancelling a counter receipt: a supervisor, the same shift, a reason, never a delete.

The payments core writes the reversing ``cancel`` ledger entry and marks the payment
``cancelled`` (:func:`qrpay.payments.posting.cancel_payment`); the receipt number stays on
the payment so the sequence has no gap and the day book shows it as cancelled.  Here the
desk's rules are checked first, and the consumer, who got "payment received", is sent the
``payment_cancelled`` SMS with the amount due now, in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from qrpay.bills import get_bill
from qrpay.config import Config
from qrpay.desk.shift import COUNTER_CHANNEL, lock_shift
from qrpay.desk.staff import Staff
from qrpay.errors import AuthError, Conflict, NotFound, QrpayError, ValidationError
from qrpay.notify.messages import payment_context, render_sms, sms_amount, sms_language
from qrpay.notify.outbox import enqueue, normalise_msisdn
from qrpay.payments.ledger import bill_status
from qrpay.store.schema import payments

NOTICE = "payment_cancelled"
MIN_REASON = 3
MAX_REASON = 200


@dataclass(frozen=True)
class Cancelled:
    receipt_no: str
    payment_id: int
    bill_no: str
    amount: int
    duplicate: bool
    bill_state: str | None


def check_reason(reason: str) -> str:
    text = " ".join((reason or "").split())
    if len(text) < MIN_REASON:
        raise ValidationError("give a reason for the cancellation", code="missing_reason",
                              field="reason")
    if len(text) > MAX_REASON:
        raise ValidationError("reason too long", code="reason_too_long", field="reason")
    return text


def cancel_receipt(conn: Connection, config: Config, who: Staff, receipt_no: str,
                   reason: str, now: dt.datetime) -> Cancelled:
    """Cancel a counter receipt of ``who``'s biller while its shift is still open."""
    from qrpay.payments.posting import cancel_payment

    if not who.has_role("supervisor"):
        raise AuthError("cancelling a receipt needs a supervisor", code="forbidden")
    text = check_reason(reason)
    row = conn.execute(select(payments).where(payments.c.receipt_no == receipt_no)).first()
    if row is None or row.biller != who.biller:
        raise NotFound(f"no receipt {receipt_no}", code="unknown_receipt", field="receipt_no")
    if row.channel != COUNTER_CHANNEL:
        raise Conflict("only counter receipts are cancelled at the desk",
                       code="not_counter_receipt")
    if row.status == "cancelled":
        return Cancelled(receipt_no, row.id, row.bill_no, row.amount, True, None)
    if row.status != "success":
        raise Conflict(f"receipt {receipt_no} is {row.status}", code="not_in_force")
    if row.shift_id is None or not lock_shift(conn, row.shift_id, exclusive=False).is_open:
        raise Conflict("the receipt's shift is closed; it can no longer be cancelled here",
                       code="shift_closed")
    result = cancel_payment(conn, config, row.id, reason=f"{text} (by {who.username})",
                            now=now)
    _notify(conn, config, row, now)
    return Cancelled(receipt_no, row.id, row.bill_no, row.amount,
                     result.result == "duplicate", result.bill_state)


def _notify(conn: Connection, config: Config, row: Any, now: dt.datetime) -> int | None:
    """Queue the cancellation SMS (once per payment); no mobile, no row; a template fault
    gives a ``failed`` row, never a failed cancellation."""
    bill = get_bill(conn, row.bill_no)
    biller = config.biller(bill.biller)
    recipient = normalise_msisdn(bill.mobile, biller.country)
    if recipient is None:
        return None
    lang = sms_language(biller, bill.language)
    due = bill_status(conn, bill, biller.today(now), biller.late_payment.grace_days).due_now
    context = {**payment_context(biller, lang, amount=row.amount, bill_no=bill.bill_no,
                                 receipt_no=row.receipt_no),
               "due": sms_amount(due, biller, lang)}
    key = f"payment:{row.id}:cancelled"
    try:
        sms = render_sms(biller, NOTICE, lang, context)
    except QrpayError as exc:
        return enqueue(conn, dedupe_key=key, biller=biller.code, recipient=recipient,
                       language=lang, template=NOTICE, body="", encoding="GSM-7", segments=0,
                       status="failed", last_error=f"{exc.code}: {exc}", now=now)
    return enqueue(conn, dedupe_key=key, biller=biller.code, recipient=recipient,
                   language=lang, template=NOTICE, body=sms.body, encoding=sms.encoding,
                   segments=sms.segments, template_id=sms.template_id, now=now)
