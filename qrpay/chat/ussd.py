"""USSD: the Africa's Talking callback contract and a bdapps-style asynchronous adapter.

Africa's Talking POSTs ``sessionId, serviceCode, phoneNumber, networkCode, text`` where
``text`` is every input so far joined by ``*``; the answer is ``text/plain`` starting
``CON `` (more to come) or ``END ``.  The session row remembers how many inputs it has
consumed (``hops``), so a repeated request (a duplicate session start, a gateway retry)
re-shows the same page instead of acting twice, and a ``*`` the user typed inside an
input cannot shift what later inputs mean.

bdapps sends one JSON request per input (``ussdOperation`` ``mo-init`` then ``mo-cont``,
``message`` only the latest input) and takes the answer as a separate POST to the
gateway's send URL: :func:`bdapps_hop` queues that answer in the outbox (``kind =
'ussd'``) in the same transaction, and the chat sender delivers it.

Both share :func:`hop`: pages of at most 182 GSM-7 or 80 UCS-2 characters (``98`` shows
the next page), ``0`` back and ``00`` main menu (the engine's), and a session lost to a
timeout is offered back (continue or start again) when the same number dials within
``resume_minutes``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection

from qrpay.chat import engine, notices, sessions
from qrpay.chat.actions import Env
from qrpay.chat.engine import Inbound
from qrpay.chat.normalise import clean
from qrpay.chat.screens import MORE, Screen, chrome, ussd_pages
from qrpay.chat.service import ChatService, Step
from qrpay.chat.sessions import Session
from qrpay.config import Biller
from qrpay.errors import ValidationError

CHANNEL = "ussd"
MAX_ID = 100  # chat_sessions.sender and .gateway_session


@dataclass(frozen=True)
class Answer:
    text: str
    end: bool

    def africas_talking(self) -> str:
        return ("END " if self.end else "CON ") + self.text


def _merge(screens: list[Screen]) -> Screen:
    """Notes (errors, "old menu") above the screen that follows them: one USSD page set."""
    last = screens[-1]
    notes = [sc.text for sc in screens[:-1]]
    if not notes:
        return last
    return Screen(text="\n".join([*notes, last.text]), options=last.options, node=last.node,
                  seq=last.seq, end=last.end, nav=last.nav)


def _page(env: Env, s: Session, shown: Screen, index: int) -> Answer:
    pages = ussd_pages(shown, chrome(env.flows, s.language))
    index = min(index, len(pages) - 1)
    s.data["page"] = index
    last = index == len(pages) - 1
    end = shown.end and last
    if end:
        s.state = "ended"
    return Answer(pages[index], end)


def _start(service: ChatService, env: Env, s: Session | None, biller: Biller, sender: str,
           gateway_session: str, language: str | None = None) -> tuple[Session, list[Screen]]:
    if s is not None and engine.resumable(env, s, service.settings.resume_minutes(CHANNEL)):
        s.gateway_session = gateway_session
        s.hops = 0
        s.data.pop("page", None)
        return s, [engine.offer_resume(env, s)]
    lang = language or (s.language if s is not None else None)
    s = service.new_session(CHANNEL, biller, sender, True, lang)
    s.gateway_session = gateway_session
    return s, engine.start(env, s)


def _inputs(env: Env, s: Session, inputs: list[str]) -> list[Screen]:
    """Run the new inputs in order.  A ``*`` typed inside free text (a complaint) splits
    it in Africa's Talking's ``text``: at a free-text question the rest is one input."""
    screens: list[Screen] = []
    pending = list(inputs)
    while pending:
        text = pending.pop(0)
        node = env.flows.node(s.node)
        if node.type == "ask" and node.input == "text" and pending:
            text, pending = "*".join([text, *pending]), []
        if text == MORE and "page" in s.data and s.data.get("more"):
            s.data["page"] = int(s.data["page"]) + 1
            screens = [engine.screen(env, s)]
            continue
        s.data.pop("page", None)
        screens = engine.handle(env, s, Inbound("text", text))
    return screens


def hop(service: ChatService, *, biller: Biller, sender: str, gateway_session: str,
        text: str | None = None, latest: str | None = None, fresh: bool = False,
        now: dt.datetime | None = None, push: bool = False,
        language: str | None = None) -> Answer:
    """One USSD request: Africa's Talking gives ``text`` (every input so far, joined by
    ``*``), bdapps ``latest`` (the one new input).  ``push`` also queues the answer for
    an asynchronous gateway."""
    return service.run(hop_step(service, biller=biller, sender=sender,
                                gateway_session=gateway_session, text=text, latest=latest,
                                fresh=fresh, now=now, push=push, language=language))


def hop_step(service: ChatService, *, biller: Biller, sender: str, gateway_session: str,
             text: str | None = None, latest: str | None = None, fresh: bool = False,
             now: dt.datetime | None = None, push: bool = False,
             language: str | None = None) -> Step[Answer]:
    """:func:`hop` as a step for ``service.run`` or ``service.submit``.  A caller or
    session id longer than the store keeps (``MAX_ID``) is refused before any write."""
    sender, gateway_session = clean(sender), clean(gateway_session)
    for name, value in (("phoneNumber", sender), ("sessionId", gateway_session)):
        if len(value) > MAX_ID:
            raise ValidationError(f"{name} over {MAX_ID} characters", code="bad_value",
                                  field=name)
    text = clean(text) if text is not None else None
    latest = clean(latest) if latest is not None else None

    def step(conn: Connection) -> Answer:
        env = service.env(conn, biller, CHANNEL, now)
        s = sessions.load(conn, sessions.session_id(CHANNEL, biller.code, sender))
        parts = text.split("*") if text else []
        if s is None or s.gateway_session != gateway_session or fresh:
            s, screens = _start(service, env, s, biller, sender, gateway_session, language)
            new = parts
        else:
            new = parts[s.hops:] if latest is None else [latest]
            screens = [engine.screen(env, s)]
        page = int(s.data.get("page", 0))
        if new:
            s.last_inbound_at = env.now
            screens = _inputs(env, s, new)
            page = int(s.data.get("page", 0))
        s.hops = len(parts) if latest is None else s.hops + len(new)
        answer = _page(env, s, _merge(screens), page)
        s.data["more"] = not answer.end and answer.text.endswith(
            chrome(env.flows, s.language).more)
        if push:
            notices.ussd_push(conn, dedupe_key=f"chat:ussd:{gateway_session}:{s.hops}",
                              biller=biller.code, to=sender.lstrip("+"), language=s.language,
                              gateway_session=gateway_session, text=answer.text,
                              end=answer.end, now=env.now)
        service.save(env, s)
        return answer
    return step


def at_hop(service: ChatService, form: dict[str, str], now: dt.datetime | None = None
           ) -> Answer:
    """An Africa's Talking request (form fields) -> the answer (``CON``/``END``)."""
    return service.run(at_step(service, form, now))


def at_step(service: ChatService, form: dict[str, str], now: dt.datetime | None = None
            ) -> Step[Answer]:
    """:func:`at_hop` as a step (an unknown service code raises here, before any write)."""
    biller = service.settings.biller_for_ussd(service.config, form.get("serviceCode", ""))
    return hop_step(service, biller=biller, sender=form.get("phoneNumber", "").strip(),
                    gateway_session=form.get("sessionId", "").strip(),
                    text=form.get("text", ""), now=now)


def bdapps_hop(service: ChatService, payload: dict[str, object],
               now: dt.datetime | None = None) -> Answer:
    """A bdapps request (``mo-init``/``mo-cont``): the answer is queued for the gateway."""
    return service.run(bdapps_step(service, payload, now))


def bdapps_step(service: ChatService, payload: dict[str, object],
                now: dt.datetime | None = None) -> Step[Answer]:
    """:func:`bdapps_hop` as a step."""
    operation = str(payload.get("ussdOperation", ""))
    source = str(payload.get("sourceAddress", "")).removeprefix("tel:")
    sender = "+" + source.lstrip("+")
    biller = service.settings.biller_for_ussd(service.config,
                                              str(payload.get("serviceCode", "")))
    message = str(payload.get("message", ""))
    fresh = operation == "mo-init"
    return hop_step(service, biller=biller, sender=sender,
                    gateway_session=str(payload.get("sessionId", "")),
                    latest=None if fresh else message, fresh=fresh, now=now, push=True)
