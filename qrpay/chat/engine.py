"""The conversation engine: one inbound message -> the screens to answer with.

Channel adapters (:mod:`qrpay.chat.whatsapp`, :mod:`qrpay.chat.ussd`) turn what arrives
into an :class:`Inbound`, call :func:`handle` inside the transaction that holds the
session row, and show the returned :class:`~qrpay.chat.screens.Screen` values their way.
The engine knows nodes, options and actions (all from the flow files) and these rules:

- a greeting or ``00`` goes to the main menu from anywhere, ``0`` one step back;
- an option is its number (the whole input: ``12`` is option 12, never option 1) or its
  label as typed, in any digit script;
- a tap on a button or list row of an earlier menu is refused politely;
- after three bad inputs in a row the helpline is offered;
- after a final (``say``) screen the conversation rests on the main menu: the next
  number chooses from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qrpay.chat import accounts, complaints, wording
from qrpay.chat.actions import ACTIONS, Env, Rejected, bill, status
from qrpay.chat.flows import START, Node, OptionDef, Step
from qrpay.chat.normalise import is_greeting, label_key, normalise, option_number
from qrpay.chat.screens import Document, Option, Screen
from qrpay.chat.sessions import Session

BAD_INPUTS_BEFORE_HELPLINE = 3
BACK, MAIN = "0", "00"
RESUME = "resume"  # the node that asks: continue where you left off, or start again


@dataclass(frozen=True)
class Inbound:
    """One message as the engine sees it.  ``kind``: ``text`` (typed, or a USSD input),
    ``choice`` (a tapped button or list row: ``choice`` is its id), ``other`` (image,
    audio, location, reaction...)."""

    kind: str
    text: str = ""
    choice: str = ""
    quoted: str | None = None  # WhatsApp ``context.id``: the message this one replies to


# ------------------------------------------------------------------------ rendering

def _condition(env: Env, s: Session, name: str | None) -> bool:
    if name is None:
        return True
    return {
        "ask_area": env.settings.for_biller(env.biller.code).ask_area,
        "has_phone": s.has_phone,
        "country_in": env.biller.country == "IN",
        "country_bd": env.biller.country == "BD",
    }[name]


def _values(env: Env, s: Session, template: str) -> dict[str, Any]:
    """The placeholders ``template`` uses: a bill's values (a ledger read, links with
    tokens) and a ticket's only when it shows them."""
    lang = s.language
    values = wording.base_values(env.flows, env.biller, lang)
    wanted = wording.placeholders(template)
    bill_no = s.data.get("bill_no")
    b = bill(env, bill_no) if bill_no and wanted & wording.BILL_VALUES else None
    if b is not None:
        values.update(wording.bill_values(env.flows, env.config, env.biller, b, status(env, b),
                                          lang, env.channel))
    elif s.data.get("account_no"):
        values["account_no"] = s.data["account_no"]
    ticket = s.data.get("ticket")
    if ticket and wanted & wording.TICKET_VALUES:
        c = complaints.find(env.conn, env.biller.code, ticket)
        values["ticket"] = ticket
        if c is not None:
            values["category"] = env.flows.text(lang, f"category.{c.category}")
            values["ticket_status"] = env.flows.text(lang, f"ticket_status.{c.status}")
    return values


def _dynamic(env: Env, s: Session, source: str) -> list[tuple[str, str, str]]:
    """(key, title, description) of an ``options_from`` menu."""
    lang = s.language
    if source == "languages":
        return [(code, env.flows.text(code, "language.self"), "")
                for code in env.biller.languages]
    if source == "accounts":
        return [(a, a, "") for a in s.data.get("accounts", [])]
    rows = []
    for b in accounts.past_bills(env.conn, env.biller.code, s.data.get("account_no", "")):
        values = {"period": wording.period(b.period, env.biller, lang),
                  "amount": wording.amount(b.amount, env.biller, lang, env.channel),
                  "status": env.flows.text(lang, f"status.{status(env, b).state}")}
        rows.append((b.bill_no, wording.fill(env.flows.text(lang, "past.row"), values),
                     wording.fill(env.flows.text(lang, "past.row_detail"), values)))
    return rows


def options_of(env: Env, s: Session, node: Node) -> list[tuple[Option, OptionDef | None]]:
    """The options ``node`` shows this session, numbered from 1, with their definitions
    (None for dynamic options, which all lead to ``node.select``)."""
    out: list[tuple[Option, OptionDef | None]] = []
    for o in node.options:
        if _condition(env, s, o.when):
            title = env.flows.text(s.language, o.label, env.channel)
            out.append((Option(len(out) + 1, o.key, title), o))
    if node.options_from:
        for key, title, description in _dynamic(env, s, node.options_from):
            out.append((Option(len(out) + 1, key, title, description), None))
    return out


def screen(env: Env, s: Session, node: Node | None = None) -> Screen:
    """The screen of the session's current node (or ``node``)."""
    node = node or env.flows.node(s.node)
    template = env.flows.text(s.language, node.text, env.channel)
    text = wording.fill(template, _values(env, s, template))
    options = tuple(o for o, _ in options_of(env, s, node))
    document = None
    if node.type == "say" and env.channel == "whatsapp" and s.data.get("document"):
        b = bill(env, s.data["document"])
        if b is not None:
            document = Document(url=wording.pdf_link(env.config, env.biller, b),
                                filename=f"bill-{b.bill_no}.pdf")
    return Screen(text=text, options=options, node=node.name, seq=s.seq,
                  end=node.type == "say" and env.channel == "ussd", document=document,
                  nav=node.name != START and node.type != "say")


def _note(env: Env, s: Session, key: str) -> Screen:
    text = wording.fill(env.flows.text(s.language, key, env.channel),
                        wording.base_values(env.flows, env.biller, s.language))
    return Screen(text=text, node=s.node, seq=s.seq)


# ------------------------------------------------------------------------- movement

def enter(env: Env, s: Session, name: str, *, push: bool = True) -> Screen:
    """Go to node ``name`` (following ``when``/``else``) and render it."""
    node = env.flows.node(name)
    while not _condition(env, s, node.when):
        assert node.otherwise is not None
        node = env.flows.node(node.otherwise)
    if node.name == START:
        s.stack.clear()
        for key in ("accounts", "document", "area", "category"):
            s.data.pop(key, None)
    elif push and s.node != node.name and env.flows.node(s.node).type != "say":
        s.stack.append(s.node)
    s.node = node.name
    s.seq += 1
    s.bad = 0
    if node.type == "say":
        s.stack.clear()
    return screen(env, s, node)


def _apply(env: Env, s: Session, step: Step, value: str | None) -> Screen:
    s.data.update(step.set)
    outcome = None
    if step.action is not None:
        saved = s.data.get("resume_node")
        outcome = ACTIONS[step.action](env, s, value)
        if step.action == "resume" and saved:
            s.data.pop("resume_node", None)
            return enter(env, s, saved, push=False)
    return enter(env, s, step.target(outcome))


def _bad(env: Env, s: Session, key: str = "ui.not_understood") -> list[Screen]:
    s.bad += 1
    if s.bad >= BAD_INPUTS_BEFORE_HELPLINE:
        s.bad = 0
        key = "ui.helpline"
    return [_note(env, s, key), screen(env, s)]


def _match(env: Env, s: Session, node: Node, text: str
           ) -> tuple[Option, OptionDef | None] | None:
    options = options_of(env, s, node)
    number = option_number(text)
    for option, definition in options:
        if number is not None and option.number == number:
            return option, definition
        if number is None and label_key(option.title) == text:
            return option, definition
    return None


def _choose(env: Env, s: Session, node: Node, found: tuple[Option, OptionDef | None]
            ) -> list[Screen]:
    option, definition = found
    step = definition.step if definition is not None else node.select
    assert step is not None
    try:
        return [_apply(env, s, step, option.key)]
    except Rejected as exc:
        return _bad(env, s, exc.text_key)


def _tap(env: Env, s: Session, node: Node, choice: str) -> list[Screen]:
    seq, _, key = choice.partition(":")
    if seq != str(s.seq) or env.flows.node(s.node).type == "say":
        return old_menu(env, s)
    for option, definition in options_of(env, s, node):
        if option.key == key:
            return _choose(env, s, node, (option, definition))
    return old_menu(env, s)


def resumable(env: Env, s: Session, minutes: int) -> bool:
    """A conversation cut short mid-flow (by the gateway or by expiry) recently enough
    to offer back: not at the main menu, not after a final screen."""
    node = env.flows.nodes.get(s.node)
    return node is not None and node.type != "say" and s.resumable(
        env.now, minutes, (START, RESUME))


def offer_resume(env: Env, s: Session) -> Screen:
    """Ask "continue or start again"; continuing puts the saved node back."""
    s.data["resume_node"] = s.node
    return enter(env, s, RESUME, push=False)


def wants_start(env: Env, s: Session, inbound: Inbound) -> bool:
    """A greeting or ``00``: the main menu, whatever came before."""
    if inbound.kind != "text":
        return False
    text = normalise(inbound.text)
    return text == MAIN or is_greeting(text, env.flows.greetings(s.language))


def back(env: Env, s: Session) -> Screen:
    target = s.stack.pop() if s.stack else START
    return enter(env, s, target, push=False)


def start(env: Env, s: Session) -> list[Screen]:
    return [enter(env, s, START)]


def old_menu(env: Env, s: Session) -> list[Screen]:
    """The polite refusal of an answer to an earlier screen, and the current screen."""
    return [_note(env, s, "ui.old_menu"), screen(env, s)]


def handle(env: Env, s: Session, inbound: Inbound, *, stale: bool = False) -> list[Screen]:
    """Answer one inbound message; ``s`` is changed in place (save it afterwards).
    ``stale``: the message replies to an earlier screen than the current one (the
    adapter knows; WhatsApp's ``context.id``): refused unless it is a greeting, ``00``
    or ``0``."""
    s.last_inbound_at = env.now
    if inbound.kind == "other":
        return [_note(env, s, "ui.media")]
    node = env.flows.node(s.node)
    if inbound.kind == "choice":
        return old_menu(env, s) if stale else _tap(env, s, node, inbound.choice)
    text = normalise(inbound.text)
    if wants_start(env, s, inbound):
        return start(env, s)
    if text == BACK:
        return [back(env, s)]
    if stale:
        return old_menu(env, s)
    if node.type == "say":  # resting after a final screen: the main menu answers
        node = env.flows.node(START)
        found = _match(env, s, node, text)
        if found is None:
            return start(env, s)
        s.node = START
        return _choose(env, s, node, found)
    found = _match(env, s, node, text)
    if found is not None:
        return _choose(env, s, node, found)
    if node.type == "ask" and node.step is not None and text:
        try:
            return [_apply(env, s, node.step, inbound.text.strip())]
        except Rejected as exc:
            return _bad(env, s, exc.text_key)
    return _bad(env, s)
