"""Screens, channel-neutral, and how each channel shows them.

The engine produces :class:`Screen` values (text, numbered options, maybe a document);
:func:`whatsapp_messages` turns one into Graph API message objects (text, reply buttons
up to 3, a list up to 10 rows, a document) and :func:`ussd_pages` into USSD pages of at
most 182 GSM-7 septets or 80 UCS-2 code units, the longer ones split with a "98 More"
option.  :func:`check_fit` renders every node of the flows with long sample values in
every language and channel and refuses any that would not fit.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from qrpay.chat.flows import FlowError, Flows, Node
from qrpay.notify.sms import is_gsm7, sms_info

# WhatsApp Cloud API limits (channels.md §1.4), counted in code points.
WA_TEXT_MAX = 4096
WA_BODY_MAX = 1024
WA_BUTTONS_MAX = 3
WA_BUTTON_TITLE_MAX = 20
WA_LIST_ROWS_MAX = 10
WA_ROW_TITLE_MAX = 24
WA_ROW_DESCRIPTION_MAX = 72
WA_LIST_BUTTON_MAX = 20
# USSD screens (channels.md §2.1).
USSD_GSM7_MAX = 182
USSD_UCS2_MAX = 80
USSD_MAX_PAGES = 8
MORE = "98"


@dataclass(frozen=True)
class Option:
    number: int  # as shown and as typed
    key: str
    title: str
    description: str = ""


@dataclass(frozen=True)
class Document:
    url: str
    filename: str
    caption: str = ""


@dataclass(frozen=True)
class Screen:
    text: str
    options: tuple[Option, ...] = ()
    node: str = ""
    seq: int = 0  # the menu's number: a tap carries it, so an old menu is recognised
    end: bool = False  # the conversation is over (USSD answers END)
    document: Document | None = None
    nav: bool = False  # offer 0 back / 00 main (USSD)


@dataclass(frozen=True)
class Chrome:
    """The fixed wording around screens in one language."""

    choose: str
    nav: str
    more: str


def chrome(flows: Flows, lang: str) -> Chrome:
    return Chrome(choose=flows.text(lang, "ui.choose"), nav=flows.text(lang, "ui.nav"),
                  more=flows.text(lang, "ui.more"))


# ------------------------------------------------------------------------- WhatsApp

def _reply_id(screen: Screen, option: Option) -> str:
    return f"{screen.seq}:{option.key}"


def _fits_buttons(options: tuple[Option, ...]) -> bool:
    """Reply buttons for up to 3 short options without descriptions; else a list."""
    return len(options) <= WA_BUTTONS_MAX and all(
        len(o.title) <= WA_BUTTON_TITLE_MAX and not o.description for o in options)


def _numbered(screen: Screen) -> str:
    lines = [f"{o.number}. {o.title}" for o in screen.options]
    return "\n".join([screen.text, "", *lines])


def whatsapp_messages(screen: Screen, ui: Chrome) -> list[dict[str, object]]:
    """The Graph API message objects (without ``to``) that show ``screen``."""
    out: list[dict[str, object]] = []
    if not screen.options:
        out.append({"type": "text", "text": {"preview_url": False, "body": screen.text}})
    elif _fits_buttons(screen.options):
        buttons = [{"type": "reply", "reply": {"id": _reply_id(screen, o), "title": o.title}}
                   for o in screen.options]
        out.append({"type": "interactive", "interactive": {
            "type": "button", "body": {"text": screen.text}, "action": {"buttons": buttons}}})
    elif len(screen.options) <= WA_LIST_ROWS_MAX:
        rows = []
        for o in screen.options:
            row = {"id": _reply_id(screen, o), "title": o.title}
            if o.description:
                row["description"] = o.description
            rows.append(row)
        out.append({"type": "interactive", "interactive": {
            "type": "list", "body": {"text": screen.text},
            "action": {"button": ui.choose, "sections": [{"rows": rows}]}}})
    else:
        out.append({"type": "text", "text": {"preview_url": False, "body": _numbered(screen)}})
    if screen.document is not None:
        doc = {"link": screen.document.url, "filename": screen.document.filename}
        if screen.document.caption:
            doc["caption"] = screen.document.caption
        out.append({"type": "document", "document": doc})
    return out


def whatsapp_problems(screen: Screen, ui: Chrome) -> list[str]:
    """What in ``screen`` breaks Meta's limits (empty when it fits)."""
    problems = []
    interactive = 0 < len(screen.options) <= WA_LIST_ROWS_MAX
    limit = WA_BODY_MAX if interactive else WA_TEXT_MAX
    body = screen.text if interactive else (_numbered(screen) if screen.options else screen.text)
    if len(body) > limit:
        problems.append(f"body is {len(body)} characters, over {limit}")
    if interactive and not _fits_buttons(screen.options):
        if len(ui.choose) > WA_LIST_BUTTON_MAX:
            problems.append(f"list button {ui.choose!r} is over {WA_LIST_BUTTON_MAX}")
        for o in screen.options:
            if len(o.title) > WA_ROW_TITLE_MAX:
                problems.append(f"list row {o.title!r} is {len(o.title)} characters, "
                                f"over {WA_ROW_TITLE_MAX}")
            if len(o.description) > WA_ROW_DESCRIPTION_MAX:
                problems.append(f"list row description {o.description!r} is over "
                                f"{WA_ROW_DESCRIPTION_MAX}")
    return problems


# ----------------------------------------------------------------------------- USSD

def ussd_units(text: str) -> tuple[int, int]:
    """(units used, limit) of ``text`` as one USSD screen in the encoding it needs."""
    if is_gsm7(text):
        return sms_info(text).units, USSD_GSM7_MAX
    return sms_info(text).units, USSD_UCS2_MAX


def fits_ussd(text: str) -> bool:
    used, limit = ussd_units(text)
    return used <= limit


def _split_long(line: str, room: str) -> list[str]:
    """A line too long for one page, cut at spaces (or anywhere, as a last resort)."""
    pieces: list[str] = []
    current = ""
    for word in line.split(" "):
        candidate = f"{current} {word}" if current else word
        if fits_ussd(candidate + room):
            current = candidate
            continue
        if current:
            pieces.append(current)
        current = word
        while not fits_ussd(current + room):
            cut = len(current) - 1
            while cut > 1 and not fits_ussd(current[:cut] + room):
                cut -= 1
            pieces.append(current[:cut])
            current = current[cut:]
    if current:
        pieces.append(current)
    return pieces


def _lines(screen: Screen) -> list[str]:
    lines = screen.text.split("\n")
    lines += [f"{o.number}. {o.title}" + (f" {o.description}" if o.description else "")
              for o in screen.options]
    return lines


def ussd_pages(screen: Screen, ui: Chrome) -> tuple[str, ...]:
    """``screen`` as USSD pages; every page but the last ends with ``98 More``, the last
    with the back/main line when the screen offers it.  Remembered for the latest
    screens (screens and chrome are values; the menus are the same for every caller, and
    paging re-counts each line's encoding units several times)."""
    return _ussd_pages(screen, ui)


@functools.lru_cache(maxsize=4096)
def _ussd_pages(screen: Screen, ui: Chrome) -> tuple[str, ...]:
    footer = f"\n{ui.nav}" if screen.nav and not screen.end else ""
    more = f"\n{ui.more}"
    lines: list[str] = []
    for line in _lines(screen):
        lines.extend(_split_long(line, more) if not fits_ussd(line + more) else [line])
    pages: list[str] = []
    current: list[str] = []
    for i, line in enumerate(lines):
        candidate = "\n".join([*current, line])
        last = i == len(lines) - 1
        tail = footer if last else more
        if fits_ussd(candidate + tail) or not current:
            current.append(line)
            continue
        pages.append("\n".join(current) + more)
        current = [line]
    body = "\n".join(current)
    if fits_ussd(body + footer):
        pages.append(body + footer)
    else:
        pages.append(body + more)
        pages.append(footer.lstrip("\n"))
    return tuple(pages)


# ------------------------------------------------------------------------ fit check

def check_fit(flows: Flows, node: Node, lang: str, channel: str, screen: Screen,
              ui: Chrome) -> None:
    """Raise :class:`FlowError` naming file, node and language when ``screen`` (the
    node rendered with long sample values) does not fit ``channel``."""
    if channel == "whatsapp":
        problems = whatsapp_problems(screen, ui)
    else:
        pages = ussd_pages(screen, ui)
        problems = [f"page {i + 1} is {ussd_units(p)[0]} units, over {ussd_units(p)[1]}"
                    for i, p in enumerate(pages) if not fits_ussd(p)]
        if len(pages) > USSD_MAX_PAGES:
            problems.append(f"{len(pages)} pages, over {USSD_MAX_PAGES}")
    if problems:
        raise FlowError(f"{node.file}: node {node.name!r} field 'text' ({lang}, {channel}): "
                        f"screen does not fit: {problems[0]}", code="screen_too_long",
                        field="text", file=node.file, node=node.name)
