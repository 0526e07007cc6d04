"""One conversation turn in one transaction: dedupe, session, engine, what to send.

:class:`ChatService` is built once per process from the profile: it loads the flow files
for every language the billers list and checks that every screen fits every channel
(:func:`check_screens`), so a bad flow file stops ``qrpay serve`` at start-up with the
file, node and field named.

:meth:`ChatService.turn` runs ``INSERT chat_inbound`` (when the message has an id: the
unique key answers a message once, even when two workers get it at the same moment),
loads or starts the session (locked), runs the engine, lets the adapter write its
outbound rows (``emit``) and saves the session, all before the commit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Connection

from qrpay.chat import engine, notices, sessions, wording
from qrpay.chat.actions import Env
from qrpay.chat.engine import Inbound
from qrpay.chat.fixedsql import Fixed
from qrpay.chat.flows import Flows, Node, default_flows
from qrpay.chat.screens import Option, Screen, check_fit, chrome
from qrpay.chat.sessions import Session
from qrpay.chat.settings import ChatSettings, chat_settings
from qrpay.chat.writer import GroupWriter
from qrpay.config import Biller, Config
from qrpay.store import Store, utcnow

# an adapter's outbound rows for a turn's screens; it may return what it queued for a
# sender to be handed after the commit (Turn.outgoing)
Emit = Callable[[Env, Session, list[Screen]], Sequence[object] | None]
T = TypeVar("T")
Step = Callable[[Connection], T]


@dataclass(frozen=True)
class Turn:
    session: Session
    screens: list[Screen]
    outgoing: tuple[object, ...] = ()  # what ``emit`` queued for hand-off


def _languages(config: Config) -> tuple[str, ...]:
    seen: list[str] = []
    for biller in config.billers.values():
        seen.extend(lang for lang in biller.languages if lang not in seen)
    return tuple(seen)


class ChatService:
    def __init__(self, config: Config, store: Store, flows: Flows | None = None) -> None:
        self.config = config
        self.store = store
        self.settings: ChatSettings = chat_settings(config)
        self.flows = flows or default_flows(_languages(config))
        check_screens(self.flows, config)
        self.writer: GroupWriter | None = None

    def env(self, conn: Connection, biller: Biller, channel: str,
            now: dt.datetime | None = None) -> Env:
        return Env(conn=conn, config=self.config, biller=biller, flows=self.flows,
                   settings=self.settings, channel=channel, now=now or utcnow())

    def new_session(self, channel: str, biller: Biller, sender: str, has_phone: bool,
                    language: str | None = None) -> Session:
        lang = language if language in biller.languages else biller.language
        return Session(id=sessions.session_id(channel, biller.code, sender), channel=channel,
                       biller=biller.code, sender=sender, has_phone=has_phone,
                       language=str(lang), node=engine.START)

    def save(self, env: Env, s: Session) -> None:
        sessions.save(env.conn, s, env.now, self.settings.expiry_minutes(env.channel))

    def run(self, fn: Callable[[Connection], T]) -> T:
        """``fn(conn)`` in a committed write transaction: through the group-commit writer
        when one is attached (``qrpay serve``), else a transaction of its own."""
        if self.writer is not None:
            return self.writer.submit(fn)
        with self.store.begin() as conn:
            return fn(conn)

    def submit(self, fn: Callable[[Connection], T]) -> Awaitable[T]:
        """:meth:`run` for the event loop (call it there): the writer's future, so no
        thread of the loop's pool sits waiting for the commit; without a writer, ``run``
        in the loop's default executor."""
        if self.writer is not None:
            return self.writer.submit_async(fn)
        return asyncio.get_running_loop().run_in_executor(None, self.run, fn)

    def turn(self, *, channel: str, biller: Biller, sender: str, has_phone: bool,
             inbound: Inbound, message_id: str | None = None, emit: Emit | None = None,
             now: dt.datetime | None = None, language: str | None = None) -> Turn | None:
        """Handle one inbound message; None when ``message_id`` was handled before."""
        return self.run(self.turn_step(
            channel=channel, biller=biller, sender=sender, has_phone=has_phone,
            inbound=inbound, message_id=message_id, emit=emit, now=now, language=language))

    def turn_step(self, *, channel: str, biller: Biller, sender: str, has_phone: bool,
                  inbound: Inbound, message_id: str | None = None, emit: Emit | None = None,
                  now: dt.datetime | None = None, language: str | None = None
                  ) -> Step[Turn | None]:
        """:meth:`turn` as a step for :meth:`run` or :meth:`submit`."""
        def step(conn: Connection) -> Turn | None:
            env = self.env(conn, biller, channel, now)
            if message_id is not None and not first_time(conn, message_id, channel, env.now):
                return None
            sid = sessions.session_id(channel, biller.code, sender)
            s = sessions.load(conn, sid)
            if s is None or s.is_expired(env.now):
                s, screens = self._fresh(env, s, biller, sender, has_phone, language,
                                         inbound)
            else:
                s.has_phone = has_phone
                stale = inbound.quoted is not None and not notices.quotes_current(
                    conn, s, inbound.quoted)
                screens = engine.handle(env, s, inbound, stale=stale)
            outgoing = (emit(env, s, screens) or ()) if emit is not None else ()
            self.save(env, s)
            return Turn(s, screens, tuple(outgoing))
        return step

    def _fresh(self, env: Env, old: Session | None, biller: Biller, sender: str,
               has_phone: bool, language: str | None, inbound: Inbound
               ) -> tuple[Session, list[Screen]]:
        """After expiry: an expired conversation cut short mid-flow within
        ``resume_minutes`` is offered back (continue or start again) unless the message
        asks for the menu; else a new conversation at the main menu, keeping the
        language and the menu numbering (``seq`` never restarts, so a tap on a menu of the
        expired conversation cannot match a menu of the new one)."""
        if old is not None and not engine.wants_start(env, old, inbound) and \
                engine.resumable(env, old, self.settings.resume_minutes(env.channel)):
            old.has_phone = has_phone
            old.last_inbound_at = env.now
            return old, [engine.offer_resume(env, old)]
        lang = language or (old.language if old is not None else None)
        s = self.new_session(env.channel, biller, sender, has_phone, lang)
        if old is not None:
            s.seq = old.seq
        s.last_inbound_at = env.now
        return s, engine.start(env, s)

    def change_number(self, *, channel: str, biller: Biller, old: str, new: str,
                      has_phone: bool, message_id: str | None = None) -> bool | None:
        """Move ``old``'s conversation to ``new`` (WhatsApp ``user_changed_number``);
        None when ``message_id`` was handled before, else whether there was one to move."""
        return self.run(self.change_number_step(channel=channel, biller=biller, old=old,
                                                new=new, has_phone=has_phone,
                                                message_id=message_id))

    def change_number_step(self, *, channel: str, biller: Biller, old: str, new: str,
                           has_phone: bool, message_id: str | None = None
                           ) -> Step[bool | None]:
        def step(conn: Connection) -> bool | None:
            now = utcnow()
            if message_id is not None and not first_time(conn, message_id, channel, now):
                return None
            return sessions.move(conn, sessions.session_id(channel, biller.code, old),
                                 sessions.session_id(channel, biller.code, new), new,
                                 has_phone)
        return step


async def gather_in_order(waits: list[Awaitable[T]]) -> list[T]:
    """Every result, in order; all are awaited even when one fails (then the first
    failure is raised), so no outcome is left unread."""
    results: list[T] = []
    error: BaseException | None = None
    for w in waits:
        try:
            results.append(await w)
        except Exception as exc:  # noqa: BLE001 - raised below, after the rest
            error = error or exc
    if error is not None:
        raise error
    return results


_CLAIM = Fixed("INSERT INTO chat_inbound (message_id, channel, received_at) "
               "VALUES (:id, :channel, :now) ON CONFLICT (message_id) DO NOTHING "
               "RETURNING message_id", times=("now",))


def first_time(conn: Connection, message_id: str, channel: str, now: dt.datetime) -> bool:
    """Claim ``message_id``; False when another delivery (any worker) already did.
    (RETURNING, not rowcount: psycopg reports 1 for a conflicting DO NOTHING insert.)"""
    return _CLAIM.first(conn, {"id": message_id[:200], "channel": channel,
                               "now": now}) is not None


# ------------------------------------------------------------------- start-up check

def _sample_values(flows: Flows, config: Config, biller: Biller, lang: str,
                   channel: str) -> dict[str, object]:
    """Long but realistic values for every placeholder."""
    long_amount = wording.amount(12_34_56_789_00, biller, lang, channel)
    bill_no = "B" + "9" * 19
    values: dict[str, object] = wording.base_values(flows, biller, lang)
    values.update(
        account_no="9" * 12, bill_no=bill_no, period=wording.period("2026-11", biller, lang),
        amount=long_amount, due_date=wording.date(dt.date(2026, 12, 31), biller, lang),
        status=max((flows.text(lang, f"status.{k}") for k in
                    ("unpaid", "part_paid", "paid", "credit", "nothing_due")), key=len),
        receipt="BEST-000000123", ticket="000123",
        ticket_status=max((flows.text(lang, f"ticket_status.{k}") for k in
                           ("open", "assigned", "resolved")), key=len),
        category=max((flows.text(lang, f"category.{k}") for k in
                      ("no_supply", "voltage", "meter", "billing", "line", "other")), key=len),
        bill_link=(biller.public_base_url or config.public_base_url or "https://x.example")
        + f"/b/{bill_no}?t=k1.{'f' * 18}",
        upi_link="upi://pay?" + "x" * 240,
        wallet="Wallet", vpa=biller.payee.vpa or "-")
    lines = []
    for name in biller.channels:
        key = f"wallets.{name}" if flows.has_text(lang, f"wallets.{name}") else "wallets.line"
        lines.append(wording.fill(flows.text(lang, key, channel),
                                  {**values, "wallet": name}))
    values["wallets"] = "\n".join(lines)
    return values


def _sample_options(flows: Flows, node: Node, biller: Biller, lang: str, channel: str,
                    values: dict[str, object]) -> tuple[Option, ...]:
    titles = [flows.text(lang, o.label, channel) for o in node.options]
    if node.options_from == "languages":
        titles += [flows.text(code, "language.self") for code in biller.languages]
    elif node.options_from == "accounts":
        titles += ["9" * 12] * 9
    elif node.options_from == "past_bills":
        row = wording.fill(flows.text(lang, "past.row"), values)
        detail = wording.fill(flows.text(lang, "past.row_detail"), values)
        return tuple(Option(i + 1, f"k{i}", t) for i, t in enumerate(titles)) + tuple(
            Option(len(titles) + i + 1, f"b{i}", row, detail) for i in range(6))
    return tuple(Option(i + 1, f"k{i}", t) for i, t in enumerate(titles))


def check_screens(flows: Flows, config: Config) -> None:
    """Every node, rendered with long sample values, fits every channel in every language
    each biller lists; else :class:`~qrpay.chat.flows.FlowError` naming file and node."""
    for biller in config.billers.values():
        for lang in biller.languages:
            ui = chrome(flows, lang)
            for channel in ("whatsapp", "ussd"):
                values = _sample_values(flows, config, biller, lang, channel)
                for node in flows.nodes.values():
                    text = wording.fill(flows.text(lang, node.text, channel), values)
                    options = _sample_options(flows, node, biller, lang, channel, values)
                    shown = Screen(text=text, options=options, node=node.name,
                                   nav=node.name != engine.START)
                    check_fit(flows, node, lang, channel, shown, ui)
