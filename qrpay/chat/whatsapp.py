"""WhatsApp Cloud API webhooks: verification, signatures, payload parsing, replies.

- ``GET`` verification: ``hub.mode=subscribe`` and ``hub.verify_token`` equal to the
  secret ``QRPAY_WHATSAPP_VERIFY_TOKEN`` answer the ``hub.challenge``; anything else 403.
- ``POST``: ``X-Hub-Signature-256: sha256=<hex>`` is HMAC-SHA256 of the *raw* body under
  the app secret (``QRPAY_WHATSAPP_APP_SECRET``), compared in constant time before the
  body is parsed.  Meta escapes non-ASCII text as ``\\uXXXX``; a body re-serialised any
  other way does not verify, as it should not.
- Every entry, change, message and status of a batch is handled.  A ``phone_number_id``
  no biller claims is acknowledged and ignored.  Statuses never reach the engine and
  never go backwards (``chat_message_status.rank`` only increases).
- A sender without a phone number (a business-scoped user id, ``US.1349...``) is never
  offered "my registered mobile" (the session's ``has_phone`` is false).
- A reply quoting one of our messages (``context.id``: a tapped button or list row, or a
  swipe-reply) that is not the latest screen of the conversation is refused politely
  and the current screen shown again (:func:`qrpay.chat.notices.quotes_current`).
- ``system``/``user_changed_number`` moves the conversation (and the complaints and
  watched bills it holds) to the new ``wa_id``; no menu logic, no reply.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from qrpay.chat import notices
from qrpay.chat.actions import Env
from qrpay.chat.engine import Inbound
from qrpay.chat.fixedsql import Fixed
from qrpay.chat.normalise import clean
from qrpay.chat.screens import Screen, chrome, whatsapp_messages
from qrpay.chat.sender import Claim
from qrpay.chat.service import ChatService, Step, Turn, gather_in_order
from qrpay.chat.sessions import Session
from qrpay.errors import AuthError, ValidationError
from qrpay.store import utcnow

CHANNEL = "whatsapp"
SIGNATURE_HEADER = "x-hub-signature-256"
MAX_SENDER = 100  # chat_sessions.sender: a longer "from" is no WhatsApp user, and is skipped
STATUS_RANK = {"sent": 1, "delivered": 2, "read": 3, "failed": 4}
_STATUS_SQL = Fixed(
    "INSERT INTO chat_message_status (message_id, status, rank, updated_at) "
    "VALUES (:id, :status, :rank, :now) ON CONFLICT (message_id) DO UPDATE SET "
    "status = excluded.status, rank = excluded.rank, updated_at = excluded.updated_at "
    "WHERE chat_message_status.rank < excluded.rank", times=("now",))


def verify_subscription(params: dict[str, str], token: str | None) -> str | None:
    """The challenge to echo, or None (answer 403)."""
    given = params.get("hub.verify_token", "")
    if params.get("hub.mode") != "subscribe" or not token or not given:
        return None
    if not hmac.compare_digest(given.encode(), token.encode()):
        return None
    return params.get("hub.challenge", "")


def signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_signature(body: bytes, header: str | None, secret: str | None) -> None:
    """Raise :class:`AuthError` unless ``header`` signs ``body`` (constant time)."""
    if not secret:
        raise AuthError("QRPAY_WHATSAPP_APP_SECRET is not set", code="no_app_secret")
    if not header or not header.startswith("sha256="):
        raise AuthError("missing or malformed X-Hub-Signature-256", code="missing_signature")
    expected = signature(body, secret)
    if not hmac.compare_digest(expected.encode(), header.strip().lower().encode()):
        raise AuthError("X-Hub-Signature-256 does not match the body", code="bad_signature")


@dataclass(frozen=True)
class Message:
    phone_number_id: str
    id: str
    sender: str
    has_phone: bool
    inbound: Inbound
    new_sender: str | None = None  # ``system``/``user_changed_number``: the new wa_id


@dataclass(frozen=True)
class Status:
    id: str
    status: str


def _obj(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one: a payload bent out of shape
    is read as far as it goes, never crashed on."""
    return value if isinstance(value, dict) else {}


def _objs(value: Any) -> list[dict[str, Any]]:
    """The JSON objects of ``value`` if it is an array, else none."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _scalar(value: Any) -> str:
    """A string or number as text; anything else (objects, arrays, null) as empty."""
    return "" if value is None or isinstance(value, dict | list | bool) else clean(str(value))


def _inbound(m: dict[str, Any]) -> Inbound:
    kind = m.get("type")
    quoted = _scalar(_obj(m.get("context")).get("id")) or None
    if kind == "text":
        return Inbound("text", _scalar(_obj(m.get("text")).get("body")), quoted=quoted)
    if kind == "interactive":
        reply = _obj(m.get("interactive"))
        picked = _obj(reply.get("button_reply")) or _obj(reply.get("list_reply"))
        return Inbound("choice", choice=_scalar(picked.get("id")), quoted=quoted)
    if kind == "button":  # a quick-reply button of a template
        return Inbound("text", _scalar(_obj(m.get("button")).get("text")))
    return Inbound("other")


def _changed_number(m: dict[str, Any]) -> str | None:
    system = _obj(m.get("system"))
    if m.get("type") != "system" or system.get("type") != "user_changed_number":
        return None
    return _scalar(system.get("wa_id")) or _scalar(system.get("new_wa_id")) or None


def _is_phone(sender: str) -> bool:
    return sender.isascii() and sender.isdigit() and 8 <= len(sender) <= 15


def parse(payload: Any) -> tuple[list[Message], list[Status]]:
    """Every message and status of a webhook payload, in order."""
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        raise ValidationError("not a WhatsApp Business Account webhook", code="bad_payload")
    messages: list[Message] = []
    statuses: list[Status] = []
    for entry in _objs(payload.get("entry")):
        for change in _objs(entry.get("changes")):
            value = _obj(change.get("value"))
            pnid = _scalar(_obj(value.get("metadata")).get("phone_number_id"))
            for m in _objs(value.get("messages")):
                sender = _scalar(m.get("from")) or _scalar(m.get("from_user_id"))
                msg_id = _scalar(m.get("id"))
                if sender and msg_id and len(sender) <= MAX_SENDER:
                    messages.append(Message(pnid, msg_id, sender, _is_phone(sender),
                                            _inbound(m), _changed_number(m)))
            for st in _objs(value.get("statuses")):
                status = st.get("status")
                if _scalar(st.get("id")) and isinstance(status, str) and status in STATUS_RANK:
                    statuses.append(Status(_scalar(st["id"]), status))
    return messages, statuses


def record_status(conn: Connection, st: Status, now: dt.datetime) -> None:
    _STATUS_SQL.run(conn, {"id": st.id[:200], "status": st.status,
                           "rank": STATUS_RANK[st.status], "now": now})


def _emitter(service: ChatService, msg: Message, lease: bool) -> Any:
    """The turn's replies as outbox rows; with ``lease``, written already claimed and
    returned as :class:`~qrpay.chat.sender.Claim` for the sender to be handed."""
    def emit(env: Env, s: Session, screens: list[Screen]) -> list[Claim]:
        ui = chrome(service.flows, s.language)
        keys: list[str] = []
        claims: list[Claim] = []
        until = env.now + dt.timedelta(seconds=service.settings.lease_seconds) \
            if lease else None
        for shown in screens:
            for message in whatsapp_messages(shown, ui):
                key = f"chat:reply:{msg.id}:{len(keys)}"
                row_id = notices.whatsapp(
                    env.conn, dedupe_key=key, biller=env.biller.code,
                    phone_number_id=msg.phone_number_id, to=msg.sender, language=s.language,
                    template="reply", message=message, now=env.now, leased_until=until)
                if until is not None and row_id is not None:
                    claims.append(Claim(row_id, CHANNEL, msg.sender[:40], notices.whatsapp_content(
                        msg.phone_number_id, message), 1, until))
                keys.append(key)
        if keys:
            s.data[notices.SHOWN] = keys  # what a reply quoting "the current menu" quotes
        return claims
    return emit


@dataclass(frozen=True)
class WebhookResult:
    messages: int = 0
    answered: int = 0
    duplicates: int = 0
    ignored: int = 0
    statuses: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Webhook:
    """A verified and parsed webhook POST: one step per write transaction to run (the
    statuses, then each message in order) and what each step stands for."""
    steps: tuple[Step[Any], ...]
    kinds: tuple[str, ...]  # "statuses" or "message", one per step
    messages: int
    ignored: int
    statuses: int

    def outgoing(self, outcomes: list[Any]) -> list[Claim]:
        """The replies the turns wrote already claimed (``lease``), in order."""
        return [c for o in outcomes if isinstance(o, Turn) for c in o.outgoing
                if isinstance(c, Claim)]

    def result(self, outcomes: list[Any]) -> WebhookResult:
        """Count the steps' outcomes (a message step gives None for a duplicate)."""
        done = [o for kind, o in zip(self.kinds, outcomes, strict=True) if kind == "message"]
        duplicates = sum(1 for o in done if o is None)
        return WebhookResult(self.messages, len(done) - duplicates, duplicates,
                             self.ignored, self.statuses)


def prepare_webhook(service: ChatService, body: bytes, header: str | None,
                    secret: str | None, *, lease: bool = False) -> Webhook:
    """Verify the signature on the raw body, parse it, and make the steps (nothing
    written yet).  ``lease``: the replies are written claimed, for a hand-off."""
    check_signature(body, header, secret)
    try:
        payload = json.loads(body)
    except ValueError:
        raise ValidationError("webhook body is not JSON", code="bad_json") from None
    messages, statuses = parse(payload)
    steps: list[Step[Any]] = []
    kinds: list[str] = []
    if statuses:
        now = utcnow()

        def step(conn: Connection) -> None:
            for st in statuses:
                record_status(conn, st, now)
        steps.append(step)
        kinds.append("statuses")
    ignored = 0
    for msg in messages:
        code = service.settings.biller_for_phone_number_id(msg.phone_number_id)
        if code is None or code not in service.config.billers:
            ignored += 1
            continue
        biller = service.config.billers[code]
        if msg.new_sender is not None:
            steps.append(service.change_number_step(
                channel=CHANNEL, biller=biller, old=msg.sender, new=msg.new_sender,
                has_phone=_is_phone(msg.new_sender), message_id=msg.id))
        else:
            steps.append(service.turn_step(
                channel=CHANNEL, biller=biller, sender=msg.sender, has_phone=msg.has_phone,
                inbound=msg.inbound, message_id=msg.id,
                emit=_emitter(service, msg, lease)))
        kinds.append("message")
    return Webhook(tuple(steps), tuple(kinds), len(messages), ignored, len(statuses))


def handle_webhook(service: ChatService, body: bytes, header: str | None,
                   secret: str | None) -> WebhookResult:
    """Verify, parse and answer one webhook POST (each message its own transaction)."""
    hook = prepare_webhook(service, body, header, secret)
    return hook.result([service.run(step) for step in hook.steps])


async def handle_webhook_async(service: ChatService, body: bytes, header: str | None,
                               secret: str | None,
                               hand: Callable[[list[Claim]], None] | None = None
                               ) -> WebhookResult:
    """:func:`handle_webhook` on the event loop: the steps go to the writer together
    (in order) and are awaited, not run on a pool thread that waits for them.  With
    ``hand`` (a running sender's :meth:`~qrpay.chat.sender.Transport.hand`), the replies
    are written already claimed and handed to it after the commit, so the sender sends
    them without a claiming transaction of its own."""
    hook = prepare_webhook(service, body, header, secret, lease=hand is not None)
    outcomes = await gather_in_order([service.submit(st) for st in hook.steps])
    if hand is not None:
        claims = hook.outgoing(outcomes)
        if claims:
            hand(claims)
    return hook.result(outcomes)
