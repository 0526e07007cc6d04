"""The SMS outbox: notices written in the posting's own transaction, sent later.

``enqueue`` inserts with ``ON CONFLICT (dedupe_key) DO NOTHING``: the key names the
posting (``payment:<id>:received``), so however often a posting is retried there is one
row, and the row exists if and only if the posting committed.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection

from qrpay.bills import Bill
from qrpay.config import Biller
from qrpay.errors import QrpayError
from qrpay.ids.mobile import msisdn
from qrpay.notify.messages import payment_context, render_sms, sms_amount, sms_language
from qrpay.store import utcnow
from qrpay.store.raw import Raw


def _enqueue_sql(*, returning: bool) -> str:
    return ("INSERT INTO outbox (kind, dedupe_key, biller, recipient, language, template, "
            "template_id, body, encoding, segments, status, attempts, next_attempt_at, "
            "last_error, created_at) VALUES ('sms', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?) "
            "ON CONFLICT (dedupe_key) DO NOTHING" + (" RETURNING id" if returning else ""))


_ENQUEUE_SQL = _enqueue_sql(returning=True)


def normalise_msisdn(mobile: str | None, country: str) -> str | None:
    """``98123 45678`` -> ``919812345678``; ``01712-345678`` -> ``8801712345678``
    (:func:`qrpay.ids.mobile.msisdn`).

    Returns None for anything that is not a mobile number of the biller's country.
    """
    return msisdn(mobile, country)


def enqueue(conn: Connection, *, dedupe_key: str, biller: str, recipient: str, language: str,
            template: str, body: str, encoding: str, segments: int,
            template_id: str | None = None, status: str = "pending",
            last_error: str | None = None, now: dt.datetime | None = None) -> int | None:
    """Insert one outbox row unless ``dedupe_key`` exists; return the new id or None."""
    raw = Raw(conn)
    ts = raw.ts(now or utcnow())
    row = raw.one(_ENQUEUE_SQL, (dedupe_key, biller, recipient, language, template,
                                 template_id, body, encoding, segments, status, ts,
                                 last_error, ts))
    return int(row[0]) if row is not None else None


def payment_notice_row(biller: Biller, bill: Bill, *, notice: str, dedupe_key: str,
                       amount: int, receipt_no: str | None,
                       ts: object, balance: int | None = None) -> tuple[object, ...] | None:
    """The parameters of :data:`_ENQUEUE_SQL` for a posting's SMS (``ts`` already bound
    for the backend), or None when the bill has no valid mobile number.  A template
    fault gives a ``failed`` row: the posting itself must never fail because of its SMS.
    A payment that leaves ``balance`` (minor units) still due is a part payment: its
    notice (``payment_part_received``) states what is still to pay."""
    recipient = normalise_msisdn(bill.mobile, biller.country)
    if recipient is None:
        return None
    lang = sms_language(biller, bill.language)
    context = payment_context(biller, lang, amount=amount, bill_no=bill.bill_no,
                              receipt_no=receipt_no)
    if notice == "payment_received" and balance is not None and balance > 0:
        notice = "payment_part_received"
        context["due"] = sms_amount(balance, biller, lang)
    try:
        sms = render_sms(biller, notice, lang, context)
    except QrpayError as exc:
        return (dedupe_key, biller.code, recipient, lang, notice, None, "", "GSM-7", 0,
                "failed", ts, f"{exc.code}: {exc}", ts)
    return (dedupe_key, biller.code, recipient, lang, notice, sms.template_id, sms.body,
            sms.encoding, sms.segments, "pending", ts, None, ts)


ENQUEUE_MANY_SQL = _enqueue_sql(returning=False)
