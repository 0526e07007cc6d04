"""What the flow files' ``action`` names do.  Each takes the :class:`Env`, the session and
the chosen key or typed value, may change the session's data, and returns one of the
outcomes :data:`qrpay.chat.flows.ACTION_OUTCOMES` lists for it.  A value that cannot be
used raises :class:`Rejected` with the text key that explains why (a bad input).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from qrpay.bills import Bill, find_bill
from qrpay.chat import accounts, complaints, notices
from qrpay.chat.flows import Flows
from qrpay.chat.sessions import Session
from qrpay.chat.settings import ChatSettings
from qrpay.config import Biller, Config
from qrpay.errors import ValidationError
from qrpay.payments.ledger import BillStatus
from qrpay.store.schema import chat_watches

WATCH_DAYS = 7


class Rejected(Exception):
    """The input cannot be used; ``text_key`` says why to the consumer."""

    def __init__(self, text_key: str) -> None:
        super().__init__(text_key)
        self.text_key = text_key


@dataclass(frozen=True)
class Env:
    """What a conversation step needs besides the session: one transaction."""

    conn: Connection
    config: Config
    biller: Biller
    flows: Flows
    settings: ChatSettings
    channel: str
    now: dt.datetime
    memo: dict[tuple[str, str], Any] = field(default_factory=dict)  # this turn's reads


def bill(env: Env, bill_no: str) -> Bill | None:
    """The bill, read once per turn (an action and the screen after it both need it)."""
    key = ("bill", bill_no)
    if key not in env.memo:
        env.memo[key] = find_bill(env.conn, bill_no)
    found: Bill | None = env.memo[key]
    return found


def status(env: Env, b: Bill) -> BillStatus:
    """The bill's ledger status, computed once per turn (nothing is posted in a turn)."""
    key = ("status", b.bill_no)
    if key not in env.memo:
        env.memo[key] = accounts.status_of(env.conn, b, env.biller)
    found: BillStatus = env.memo[key]
    return found


Action = Callable[[Env, Session, str | None], str]


def _bill_outcome(env: Env, s: Session, b: Bill) -> str:
    s.data["account_no"] = b.account_no
    s.data["bill_no"] = b.bill_no
    env.memo[("bill", b.bill_no)] = b
    return "paid" if status(env, b).is_settled else "found"


def _by_account(env: Env, s: Session, account_no: str) -> str:
    b = accounts.latest_bill(env.conn, env.biller.code, account_no, s.data.get("area"))
    if b is None:
        return "not_found"
    return _bill_outcome(env, s, b)


def lookup_consumer(env: Env, s: Session, value: str | None) -> str:
    try:
        account_no = accounts.consumer_number(value or "", env.biller)
    except ValidationError:
        raise Rejected("ui.invalid_number") from None
    return _by_account(env, s, account_no)


def _by_mobile(env: Env, s: Session, msisdn: str) -> str:
    found = accounts.accounts_of_mobile(env.conn, env.biller, msisdn)
    if not found:
        return "not_found"
    if len(found) > 1:
        s.data["accounts"] = found
        return "several"
    return _by_account(env, s, found[0])


def lookup_own_mobile(env: Env, s: Session, value: str | None) -> str:
    msisdn = accounts.mobile_msisdn(s.sender, env.biller.country) if s.has_phone else None
    if msisdn is None:
        return "not_found"
    return _by_mobile(env, s, msisdn)


def lookup_mobile(env: Env, s: Session, value: str | None) -> str:
    msisdn = accounts.mobile_msisdn(value, env.biller.country)
    if msisdn is None:
        raise Rejected("ui.invalid_mobile")
    return _by_mobile(env, s, msisdn)


def choose_account(env: Env, s: Session, value: str | None) -> str:
    if value not in s.data.get("accounts", []):
        raise Rejected("ui.old_menu")
    outcome = _by_account(env, s, str(value))
    return "found" if outcome == "not_found" else outcome


def watch_bill(env: Env, s: Session, bill_no: str) -> None:
    """Remember that this conversation showed ``bill_no``: a payment posted for it is
    confirmed here (:mod:`qrpay.chat.confirm`)."""
    insert = pg_insert if env.conn.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(chat_watches).values(
        session_id=s.id, bill_no=bill_no, shown_at=env.now,
        expires_at=env.now + dt.timedelta(days=WATCH_DAYS), done_at=None)
    env.conn.execute(stmt.on_conflict_do_update(
        index_elements=["session_id", "bill_no"],
        set_={"expires_at": stmt.excluded.expires_at, "done_at": None}))


def pay(env: Env, s: Session, value: str | None) -> str:
    bill_no = s.data.get("bill_no")
    if bill_no:
        watch_bill(env, s, bill_no)
        if env.channel == "ussd" and env.biller.country == "IN":
            b = bill(env, bill_no)
            if b is not None:
                notices.bill_link_sms(env, s, b, status(env, b), "pay")
    return "in" if env.biller.country == "IN" else "bd"


def past_of_account(env: Env, s: Session, value: str | None) -> str:
    return "found"


def send_past_bill(env: Env, s: Session, value: str | None) -> str:
    b = bill(env, value or "")
    if b is None or b.account_no != s.data.get("account_no") or b.biller != env.biller.code:
        raise Rejected("ui.old_menu")
    s.data["bill_no"] = b.bill_no
    s.data["document"] = b.bill_no
    if env.channel == "ussd":
        notices.bill_link_sms(env, s, b, status(env, b), "past")
    return "sent"


def _contact(s: Session) -> str | None:
    return s.sender if s.has_phone else None


def file_complaint(env: Env, s: Session, value: str | None) -> str:
    c = complaints.open_complaint(
        env.conn, biller=env.biller.code, kind="complaint",
        category=s.data.get("category", "other"), language=s.language, now=env.now,
        text=value, account_no=s.data.get("account_no"), session_id=s.id,
        channel=env.channel, contact=_contact(s))
    s.data["ticket"] = c.ticket_no
    return "done"


def complaint_status(env: Env, s: Session, value: str | None) -> str:
    digits = "".join(ch for ch in value or "" if ch.isdigit())
    if not digits:
        raise Rejected("ui.invalid_number")
    c = complaints.find(env.conn, env.biller.code, digits.zfill(6))
    if c is None:
        return "not_found"
    s.data["ticket"] = c.ticket_no
    return "found"


def callback_request(env: Env, s: Session, value: str | None) -> str:
    c = complaints.open_complaint(
        env.conn, biller=env.biller.code, kind="callback", category="callback",
        language=s.language, now=env.now, account_no=s.data.get("account_no"),
        session_id=s.id, channel=env.channel, contact=_contact(s))
    s.data["ticket"] = c.ticket_no
    return "done"


def set_language(env: Env, s: Session, value: str | None) -> str:
    if value not in env.biller.languages:
        raise Rejected("ui.old_menu")
    s.language = str(value)
    return "done"


def resume(env: Env, s: Session, value: str | None) -> str:
    return "done"  # the engine puts the saved node back


ACTIONS: dict[str, Action] = {
    "lookup_consumer": lookup_consumer,
    "lookup_own_mobile": lookup_own_mobile,
    "lookup_mobile": lookup_mobile,
    "choose_account": choose_account,
    "pay": pay,
    "past_of_account": past_of_account,
    "send_past_bill": send_past_bill,
    "file_complaint": file_complaint,
    "complaint_status": complaint_status,
    "callback_request": callback_request,
    "set_language": set_language,
    "resume": resume,
}
