"""Telling a conversation what happened: a payment posted for a bill it showed, a change
to a complaint it opened.  Both go through the outbox, exactly once.

Payments: the posting transaction (``qrpay.payments``, whatever the channel: QR callback,
wallet, desk) is not touched.  :func:`confirm_payments` (run by the chat sender between
passes, or by hand) finds payments posted after a conversation showed their bill
(``chat_watches``) and writes one outbox row per (payment, conversation), keyed
``chat:paid:<payment id>:<session>``: the unique key makes it once however many workers
run the pass.  WhatsApp gets a text while the 24-hour window is open, else the approved
template (``[chat.whatsapp] templates.payment_received``); a USSD caller gets an SMS,
unless the posting's own SMS notice already goes to that same number.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, select, update

from qrpay.chat import notices, sessions, wording
from qrpay.chat.accounts import mobile_msisdn
from qrpay.chat.complaints import Complaint
from qrpay.chat.flows import Flows
from qrpay.chat.settings import ChatSettings
from qrpay.config import Biller, Config
from qrpay.notify.messages import payment_context
from qrpay.store import Store, utcnow
from qrpay.store.schema import chat_watches, outbox, payments

DEFAULT_TEMPLATES = {"payment_received": "payment_received",
                     "complaint_update": "complaint_update",
                     "complaint_note": "complaint_note"}
NOTE_SMS_MAX = 30  # a note is one DLT variable in an Indian SMS (<= 30 characters)


def _template(settings: ChatSettings, name: str, lang: str, params: list[str]
              ) -> dict[str, Any]:
    return {"type": "template", "template": {
        "name": settings.templates.get(name, DEFAULT_TEMPLATES[name]),
        "language": {"code": lang, "policy": "deterministic"},
        "components": [{"type": "body", "parameters": [
            {"type": "text", "text": p} for p in params]}]}}


def _text(body: str) -> dict[str, Any]:
    return {"type": "text", "text": {"preview_url": False, "body": body}}


def tell(conn: Connection, *, config: Config, flows: Flows, settings: ChatSettings,
         session_id: str | None, contact: str | None, biller: Biller, lang: str,
         key: str, values: dict[str, Any], template: str, params: list[str],
         sms: tuple[str, dict[str, Any]], dedupe_key: str, now: dt.datetime,
         skip_sms_to: str | None = None) -> str | None:
    """One message to a conversation: on WhatsApp the text ``key`` (or the approved
    ``template`` with ``params`` outside the 24-hour window); after USSD, or without a
    conversation, the SMS notice ``sms`` (name, context) to the caller or ``contact``.
    Returns how it went out (``whatsapp``, ``template``, ``sms``) or None."""
    s = sessions.load(conn, session_id, lock=False) if session_id else None
    if s is not None and s.channel == "whatsapp":
        pnid = settings.for_biller(biller.code).phone_number_id
        body = wording.fill(flows.text(lang, key, "whatsapp"), values)
        fallback = _template(settings, template, lang, params)
        if notices.window_open(s, now):
            message, how = _text(body), "whatsapp"
        else:
            message, how = fallback, "template"
        notices.whatsapp(conn, dedupe_key=dedupe_key, biller=biller.code,
                         phone_number_id=pnid, to=s.sender, language=lang, template=template,
                         message=message, now=now,
                         fallback=fallback if how == "whatsapp" else None)
        return how
    number = mobile_msisdn(s.sender if s is not None else contact, biller.country)
    if number is None or number == skip_sms_to:
        return None
    notice, context = sms
    queued = notices.sms_notice(conn, dedupe_key=dedupe_key, biller=biller, to=number,
                                language=lang, notice=notice, context=context, now=now)
    return "sms" if queued else None


_WATCHED = (select(chat_watches.c.id.label("watch_id"), chat_watches.c.session_id,
                   chat_watches.c.bill_no, payments.c.id.label("payment_id"),
                   payments.c.amount, payments.c.receipt_no, payments.c.biller)
            .join(payments, payments.c.bill_no == chat_watches.c.bill_no)
            .where(chat_watches.c.done_at.is_(None), payments.c.status == "success",
                   payments.c.posted_at >= chat_watches.c.shown_at))


def _posting_sms_to(conn: Connection, payment_id: int) -> str | None:
    return conn.execute(select(outbox.c.recipient).where(
        outbox.c.dedupe_key == f"payment:{payment_id}:received")).scalar()


def confirm_payments(store: Store, config: Config, flows: Flows, settings: ChatSettings,
                     now: dt.datetime | None = None) -> int:
    """Queue the confirmations due; returns how many rows were new."""
    now = now or utcnow()
    count = 0
    due = _WATCHED.where(chat_watches.c.expires_at > now)
    with store.connect() as conn:  # a read first: no write lock while nothing was paid
        if conn.execute(due.limit(1)).first() is None:
            return 0
    with store.begin() as conn:
        rows = conn.execute(due).fetchall()
        for r in rows:
            biller = config.billers.get(r.biller)
            s = sessions.load(conn, r.session_id, lock=False)
            if biller is not None and s is not None:
                count += _confirm_one(conn, config, flows, settings, biller, s, r, now)
            conn.execute(update(chat_watches).where(chat_watches.c.id == r.watch_id)
                         .values(done_at=now))
    return count


def _confirm_one(conn: Connection, config: Config, flows: Flows, settings: ChatSettings,
                 biller: Biller, s: sessions.Session, r: Any, now: dt.datetime) -> int:
    lang = s.language
    channel = "whatsapp" if s.channel == "whatsapp" else "sms"
    values = wording.base_values(flows, biller, lang)
    values.update(amount=wording.amount(int(r.amount), biller, lang, channel),
                  bill_no=r.bill_no, receipt=r.receipt_no or "-")
    sms = ("payment_received", payment_context(biller, lang, amount=int(r.amount),
                                               bill_no=r.bill_no, receipt_no=r.receipt_no))
    how = tell(conn, config=config, flows=flows, settings=settings, session_id=s.id,
               contact=None, biller=biller, lang=lang, key="confirm.paid", values=values,
               template="payment_received",
               params=[str(values["amount"]), r.bill_no, r.receipt_no or "-"], sms=sms,
               dedupe_key=f"chat:paid:{r.payment_id}:{s.id}", now=now,
               skip_sms_to=_posting_sms_to(conn, r.payment_id))
    return 1 if how else 0


def tell_complaint(conn: Connection, *, config: Config, flows: Flows,
                   settings: ChatSettings, complaint: Complaint, event: str,
                   now: dt.datetime, note: str | None = None) -> str | None:
    """Tell the consumer the complaint's status now (after assign, resolve...), or, with
    ``note``, the note staff added (cut to one DLT variable in an SMS)."""
    biller = config.billers.get(complaint.biller)
    if biller is None:
        return None
    lang = complaint.language if complaint.language in biller.languages else biller.language
    category = flows.text(lang, f"category.{complaint.category}")
    status = flows.text(lang, f"ticket_status.{complaint.status}")
    values = wording.base_values(flows, biller, lang)
    values.update(ticket=complaint.ticket_no, category=category, ticket_status=status)
    key, template, params = "complaint.update", "complaint_update", [
        complaint.ticket_no, category, status]
    context: dict[str, Any] = {"ticket": complaint.ticket_no, "category": category,
                               "ticket_status": status,
                               "biller_name": wording.biller_name(biller, lang)}
    if note:
        values["note"] = note
        key, template, params = "complaint.note", "complaint_note", [
            complaint.ticket_no, category, note]
        context["note"] = note[:NOTE_SMS_MAX].rstrip()
    return tell(conn, config=config, flows=flows, settings=settings,
                session_id=complaint.session_id, contact=complaint.contact, biller=biller,
                lang=lang, key=key, values=values, template=template, params=params,
                sms=(f"chat_{template}", context),
                dedupe_key=f"chat:complaint:{complaint.id}:{event}", now=now)
