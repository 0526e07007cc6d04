"""Everything chat sends goes through the one outbox (``qrpay.notify.outbox``), written
in the transaction that decided to send it:

- ``kind = 'whatsapp'`` rows carry a Graph API message (JSON in ``body``), sent by
  :mod:`qrpay.chat.sender`;
- ``kind = 'ussd'`` rows carry a bdapps ``mt-cont``/``mt-fin`` answer, sent the same way;
- SMS (links on USSD, confirmations and complaint news after USSD) are ordinary
  ``kind = 'sms'`` rows, sent by the SMS sender like every payment notice and made the
  same way (:func:`sms_notice`): a notice of ``templates/sms/<lang>.toml`` rendered and
  checked against its DLT pattern, its DLT ``template_id`` on the row (India).

Each row's ``dedupe_key`` names what it is for (``chat:reply:<wamid>:<n>``,
``chat:paid:<payment id>:<session>``...), so a retried step never writes it twice.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from sqlalchemy import Connection, bindparam, text

from qrpay.bills import Bill
from qrpay.chat import accounts, wording
from qrpay.chat.fixedsql import Fixed
from qrpay.chat.sessions import Session
from qrpay.config import Biller
from qrpay.errors import RenderError
from qrpay.notify.messages import render_sms, sms_language
from qrpay.payments.ledger import BillStatus

log = logging.getLogger("qrpay.chat")
WINDOW = dt.timedelta(hours=24)  # WhatsApp customer-service window
SHOWN = "shown"  # session data: the outbox keys of the latest screen sent on WhatsApp


_OUTBOX_COLUMNS = ("kind", "dedupe_key", "biller", "recipient", "language", "template",
                   "template_id", "body", "encoding", "segments", "status", "attempts",
                   "next_attempt_at", "created_at")
_INSERT = Fixed(
    f"INSERT INTO outbox ({', '.join(_OUTBOX_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in _OUTBOX_COLUMNS)}) "
    "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
    times=("next_attempt_at", "created_at"))


def _insert(conn: Connection, values: dict[str, Any]) -> bool:
    """One outbox row unless its dedupe key exists (:mod:`qrpay.chat.fixedsql`)."""
    return _insert_id(conn, values) is not None


def _insert_id(conn: Connection, values: dict[str, Any]) -> int | None:
    """The new row's id, or None when its dedupe key exists."""
    row = _INSERT.first(conn, values)
    return int(row[0]) if row is not None else None


def _row(kind: str, dedupe_key: str, biller: str, recipient: str, language: str,
         template: str, body: str, now: dt.datetime, encoding: str = "json",
         segments: int = 1, template_id: str | None = None) -> dict[str, Any]:
    return {"kind": kind, "dedupe_key": dedupe_key[:120], "biller": biller,
            "recipient": recipient[:40], "language": language, "template": template[:60],
            "template_id": template_id, "body": body, "encoding": encoding,
            "segments": segments, "status": "pending", "attempts": 0,
            "next_attempt_at": now, "created_at": now}


def whatsapp_content(phone_number_id: str, message: dict[str, Any],
                     fallback: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a ``whatsapp`` row's ``body`` holds (as JSON)."""
    content: dict[str, Any] = {"phone_number_id": phone_number_id, "message": message}
    if fallback is not None:
        content["fallback"] = fallback
    return content


def whatsapp(conn: Connection, *, dedupe_key: str, biller: str, phone_number_id: str,
             to: str, language: str, template: str, message: dict[str, Any],
             now: dt.datetime, fallback: dict[str, Any] | None = None,
             leased_until: dt.datetime | None = None) -> int | None:
    """Queue one Graph API message object (``type`` and its table) to ``to``;
    ``fallback`` (a template message) is sent instead if Meta says the window closed.
    Returns the new row's id (None if its ``dedupe_key`` was queued before).

    ``leased_until``: the row is written already claimed (``sending``, attempt 1, leased
    until then) for a sender that is handed it in memory after the commit
    (:meth:`qrpay.chat.sender.Transport.hand`); if that sender never reports, the lease
    runs out and any sender claims it as usual."""
    body = json.dumps(whatsapp_content(phone_number_id, message, fallback),
                      ensure_ascii=False, separators=(",", ":"))
    row = _row("whatsapp", dedupe_key, biller, to, language, template, body, now)
    if leased_until is not None:
        row.update(status="sending", attempts=1, next_attempt_at=leased_until)
    return _insert_id(conn, row)


def ussd_push(conn: Connection, *, dedupe_key: str, biller: str, to: str, language: str,
              gateway_session: str, text: str, end: bool, now: dt.datetime) -> bool:
    """Queue a bdapps answer (``mt-cont`` or ``mt-fin``) for the gateway's send URL."""
    body = json.dumps({"sessionId": gateway_session, "message": text,
                       "ussdOperation": "mt-fin" if end else "mt-cont"},
                      ensure_ascii=False, separators=(",", ":"))
    return _insert(conn, _row("ussd", dedupe_key, biller, to, language, "bdapps", body, now))


def sms_notice(conn: Connection, *, dedupe_key: str, biller: Biller, to: str,
               language: str, notice: str, context: dict[str, Any], now: dt.datetime) -> bool:
    """Queue SMS ``notice`` (``templates/sms/<lang>.toml``) to ``to``, as the payment
    notices are: rendered in the consumer's language (or the biller's when there is no
    SMS wording for it), checked against the DLT pattern, with the DLT template id.  A
    text that would not match its registered template is not queued (operators would
    block it): logged, False."""
    lang = sms_language(biller, language)
    try:
        rendered = render_sms(biller, notice, lang, context)
    except RenderError:
        log.warning("chat SMS %s not queued: it does not match its DLT template",
                    notice, exc_info=True)
        return False
    return _insert(conn, _row("sms", dedupe_key, biller.code, to, lang, notice, rendered.body,
                              now, encoding=rendered.encoding, segments=rendered.segments,
                              template_id=rendered.template_id))


def bill_link_sms(env: Any, s: Session, bill: Bill, status: BillStatus, purpose: str) -> bool:
    """On USSD: the bill page (``purpose`` ``pay``) or PDF (``past``) link by SMS."""
    biller = env.biller
    to = accounts.mobile_msisdn(s.sender, biller.country)
    if to is None:
        return False
    link = (wording.pdf_link(env.config, biller, bill) if purpose == "past"
            else wording.bill_link(env.config, biller, bill, status))
    context = {"bill_no": bill.bill_no, "period": wording.period(bill.period, biller,
                                                                  s.language),
               "bill_link": link, "biller_name": wording.biller_name(biller, s.language)}
    return sms_notice(env.conn, dedupe_key=f"chat:link:{s.id}:{bill.bill_no}:{purpose}:{s.seq}",
                      biller=biller, to=to, language=s.language,
                      notice=f"chat_{purpose}_link", context=context, now=env.now)


def window_open(s: Session, now: dt.datetime) -> bool:
    return s.last_inbound_at is not None and now - s.last_inbound_at < WINDOW


_SENT_REFS = text("SELECT provider_ref FROM outbox WHERE dedupe_key IN :keys"
                  ).bindparams(bindparam("keys", expanding=True))


def quotes_current(conn: Connection, s: Session, quoted: str) -> bool:
    """Whether ``quoted`` (a WhatsApp ``context.id``) is one of the messages of the
    conversation's latest screen, found by their outbox keys (unique, indexed) and the
    Graph message id the sender stored.  A message not sent yet cannot be quoted, so a
    quote of anything else is of an earlier screen."""
    keys = s.data.get(SHOWN) or []
    if not keys:
        return True  # nothing recorded (a conversation from before this was kept)
    refs = {r.provider_ref for r in conn.execute(_SENT_REFS, {"keys": list(keys)})}
    return quoted in refs
