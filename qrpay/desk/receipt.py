"""The printed receipt, counter or online: a small PDF (reportlab) and the receipt-number QR.

The PDF is A6 portrait and speaks the biller's language with English beside it.  Text is
set by reportlab with HarfBuzz shaping (``uharfbuzz``, ``shaping=1`` on the paragraph
style) in the Noto fonts the bills use (:mod:`qrpay.ebill.fonts`), one font per script
run (:func:`qrpay.ebill.shaping.itemise`), so Hindi, Marathi and Bengali names come out
with their conjuncts and reordered vowel signs.  Each piece of text is wrapped in a
marked-content span whose ``/ActualText`` is the string itself, so that copying or
``pdftotext`` gives back exactly what was typed (shaped glyphs alone do not spell it).
Amounts use lakh/crore grouping and the biller's digits; an online payment shows
"Online (UPI)" and the channel's UTR/RRN, a counter one "Counter (Cash)".  The QR
carries the receipt number so a later scan at the desk finds it.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.colors import Color, HexColor, black
from reportlab.lib.pagesizes import A6
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from qrpay.desk.counter import ReceiptView
from qrpay.ebill.fonts import DEFAULT_FILES, font, font_path, role_for
from qrpay.ebill.shaping import itemise, script_of
from qrpay.errors import RenderError
from qrpay.money import format_amount
from qrpay.templating import texts

MARGIN = 7 * mm
QR_MODULE_MM = 0.8
GREY = HexColor("#555555")
RED = Color(0.7, 0, 0.1)
LABEL_WIDTH = 27 * mm
FRAME_PADDING = 6  # points: reportlab's Frame default on each side


def qr_svg_data_uri(text: str) -> str:
    """The receipt-number QR as an SVG data URI for the HTML receipt."""
    from qrpay.qr import save_svg

    buf = io.BytesIO()
    save_svg(text, buf, scale=4)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode()


# ------------------------------------------------------------------------------ wording

@dataclass(frozen=True)
class Wording:
    """The receipt's words: the biller's language first, English beside it."""

    lang: str
    local: dict[str, Any]
    english: dict[str, Any]

    def label(self, key: str) -> tuple[str, str]:
        """(local, English) for ``key``; the English twice on an English receipt."""
        return str(self.local[key]), str(self.english[key])

    def method(self, r: ReceiptView, words: dict[str, Any]) -> str:
        return paid_via(r, words)


def paid_at_text(r: ReceiptView) -> str:
    """When it was paid, on the biller's clock (``2026-11-20 10:15``)."""
    return r.biller.local(r.paid_at).strftime("%Y-%m-%d %H:%M") if r.paid_at else ""


def paid_via(r: ReceiptView, words: dict[str, Any]) -> str:
    """``Counter (Cash)``, ``Online (UPI)``, ``অনলাইন (বিকাশ)``: where and how, in ``words``'
    language (the desk's texts)."""
    name = words["modes"].get(r.method) or words["channels"].get(r.method, r.method)
    via = words["paid_via"]["counter" if r.at_counter else "online"]
    return f"{via} ({name})"


def wording(r: ReceiptView) -> Wording:
    lang = r.biller.language
    return Wording(lang, texts("desk", lang), texts("desk", "en"))


def numerals(r: ReceiptView) -> str:
    return r.biller.numerals if r.biller.language != "en" else "latn"


def amount_text(r: ReceiptView) -> str:
    """``₹ 1,23,456.50`` / ``৳ ১,২৩,৪৫৬.৫০``: lakh/crore grouping, the biller's digits."""
    return format_amount(r.amount, currency=r.biller.currency, numerals=numerals(r))


# ------------------------------------------------------------------------------ fonts

FACES = {role: f"qrpay-{role}" for role in DEFAULT_FILES}


@cache
def register_fonts() -> None:
    """Register the bills' Noto fonts with reportlab, shapable (HarfBuzz), once."""
    for role, face in FACES.items():
        pdfmetrics.registerFont(TTFont(face, str(font_path(role)), shapable=True))


def _printable(text: str) -> str:
    """``text`` without characters of scripts the receipt has no font for."""
    return "".join(ch for ch in text if script_of(ch) != "other")


def _roles(runs: list[tuple[str, str]], bold: bool) -> list[tuple[str, str]]:
    """Each character's font role: its script run's, or Latin where the (bold) font of
    the run lacks it (Latin letters inside a Devanagari run)."""
    out = []
    for script, chunk in runs:
        face = font(role_for(script, bold))
        out += [(ch, script if script == "latin" or face.has(ch) else "latin") for ch in chunk]
    return out


def _word_roles(chars: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Punctuation takes the role of the next letter in its word: reportlab shapes a
    word with one font, so ``(by`` must not start in the Devanagari font."""
    out = list(chars)
    for i in range(len(out) - 1, -1, -1):
        ch, _ = out[i]
        nxt = out[i + 1] if i + 1 < len(out) else None
        if not ch.isalnum() and not ch.isspace() and nxt and not nxt[0].isspace():
            out[i] = (ch, nxt[1])
    return out


def _covered(runs: list[tuple[str, str]], bold: bool) -> list[tuple[str, str]]:
    merged: list[tuple[str, str]] = []
    for ch, role in _word_roles(_roles(runs, bold)):
        if merged and merged[-1][0] == role:
            merged[-1] = (role, merged[-1][1] + ch)
        else:
            merged.append((role, ch))
    return merged


def markup(text: str, bold: bool = False) -> str:
    """Paragraph markup for ``text``: each script run in its Noto font."""
    try:
        runs = itemise(_printable(text))
    except RenderError:
        runs = [("latin", _printable(text))]
    return "".join(f'<font face="{FACES[role_for(script, bold)]}">{escape(chunk)}</font>'
                   for script, chunk in _covered(runs, bold))


def _style(size: float, bold: bool = False, color: Color = black) -> ParagraphStyle:
    return ParagraphStyle(f"r{size}{bold}", fontName=FACES["latin-bold" if bold else "latin"],
                          fontSize=size, leading=size * 1.3, textColor=color, shaping=1)


# ------------------------------------------------------------------------------ text

def _utf16_hex(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


class Text(Flowable):
    """One shaped paragraph inside a ``/Span`` whose ``/ActualText`` is its text."""

    def __init__(self, text: str, size: float = 9, *, bold: bool = False,
                 color: Color = black) -> None:
        super().__init__()
        self.text = text
        self.para = Paragraph(markup(text, bold), _style(size, bold, color))

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width, self.height = self.para.wrap(avail_width, avail_height)
        return self.width, self.height

    def draw(self) -> None:
        code = self.canv._code  # reportlab's page content stream, in drawing order
        code.append(f"/Span <</ActualText <FEFF{_utf16_hex(self.text)}>>> BDC")
        self.para.drawOn(self.canv, 0, 0)
        code.append("EMC")


# ------------------------------------------------------------------------------ layout

def _label(w: Wording, key: str) -> list[Flowable]:
    local, english = w.label(key)
    cell: list[Flowable] = [Text(local, 8, color=GREY)]
    if local != english:
        cell.append(Text(english, 6.5, color=GREY))
    return cell


def _rows(r: ReceiptView, w: Wording, paid_at: str) -> list[tuple[str, str]]:
    rows = [("receipt_no", r.receipt_no), ("bill_no", r.bill.bill_no),
            ("account_no", r.bill.account_no), ("name", r.bill.name),
            ("period", r.bill.period)]
    if not r.at_counter and r.utr:
        rows.append(("utr", r.utr))
    elif r.reference:
        rows.append(("reference_short", r.reference))
    rows.append(("paid_at", paid_at))
    if r.at_counter:
        rows += [("counter", r.counter), ("cashier", r.cashier)]
    return rows


def _table(r: ReceiptView, w: Wording, paid_at: str, width: float) -> Table:
    data = [[_label(w, key), Text(value, 9, bold=key in ("receipt_no", "name"))]
            for key, value in _rows(r, w, paid_at) if value]
    table = Table(data, colWidths=[LABEL_WIDTH, width - LABEL_WIDTH], hAlign="LEFT")
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2), ("TOPPADDING", (0, 0), (-1, -1), 1.2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.2),
        ("LINEBELOW", (0, 0), (-1, -2), 0.25, HexColor("#cccccc"))]))
    return table


def _head(r: ReceiptView, w: Wording) -> list[Flowable]:
    title_local, title_en = w.label("receipt_title")
    names = [r.biller.name_local] if r.biller.name_local and w.lang != "en" else []
    out: list[Flowable] = [Text(n, 12, bold=True) for n in names]
    out.append(Text(r.biller.name, 10 if names else 12, bold=True))
    title = title_local if title_local == title_en else f"{title_local} / {title_en}"
    out += [Spacer(1, 1 * mm), Text(title, 9, color=GREY), Spacer(1, 1.5 * mm),
            Text(amount_text(r), 18, bold=True), Text(w.method(r, w.local), 9),
            Spacer(1, 2 * mm)]
    return out


def _stamp(r: ReceiptView, w: Wording) -> list[Flowable]:
    if r.in_force:
        return []
    word = str(w.local["cancelled"])
    if w.lang != "en":
        word += " / " + str(w.english["cancelled"])
    text = f"{word}: {r.cancel_note}" if r.cancel_note else word
    if r.cancelled_by:  # in English, as the stamp's English half
        text += f" (by {r.cancelled_by})"
    return [Spacer(1, 2 * mm), Text(text, 11, bold=True, color=RED)]


def _draw_qr(c: Canvas, text: str, page_width: float) -> None:
    """The receipt number as a QR in the lower right corner (vectors, via qrpay.qr)."""
    from qrpay.qr import QUIET_ZONE, draw, make_symbol

    symbol = make_symbol(text)
    side = (len(symbol.matrix) + 2 * QUIET_ZONE) * QR_MODULE_MM * mm
    draw(c, text, page_width - MARGIN - side, MARGIN / 2, module_mm=QR_MODULE_MM,
         symbol=symbol)


def receipt_pdf(r: ReceiptView, paid_at: str) -> bytes:
    """The receipt as PDF bytes; ``paid_at`` already formatted in the biller's time."""
    register_fonts()
    w = wording(r)
    buf = io.BytesIO()
    width, _ = A6
    doc = SimpleDocTemplate(buf, pagesize=A6, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=MARGIN, bottomMargin=MARGIN + 20 * mm,
                            title=f"Receipt {r.receipt_no}", author=r.biller.name,
                            pageCompression=1)
    story = [*_head(r, w), _table(r, w, paid_at, doc.width - 2 * FRAME_PADDING),
             *_stamp(r, w)]

    def footer(c: Canvas, _doc: Any) -> None:
        _draw_qr(c, r.receipt_no, width)
        c.saveState()
        c.translate(MARGIN + FRAME_PADDING, MARGIN)
        note = Text(str(w.local["receipt_copy"]), 6.5, color=GREY)
        note.wrapOn(c, width - 2 * MARGIN - 24 * mm, 20 * mm)
        note.drawOn(c, 0, 0)
        c.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()
