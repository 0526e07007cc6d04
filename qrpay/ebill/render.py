"""Bill pages to PDF: one bill per file, or a print book (cover sheet + bills)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from qrpay.bills import Bill
from qrpay.config import Biller, Config
from qrpay.ebill import layout
from qrpay.ebill.layout import Out
from qrpay.ebill.pdf import Layer, Page, Stream, build
from qrpay.ebill.view import BillView, HowToSteps, Labels, bill_language, labels_for, make_view
from qrpay.errors import RenderError
from qrpay.money import format_amount

SIZES = {"A4": 1.0, "A5": 0.70711}
# "How to pay" from a wallet for a bill in a language (``qrpay.biller.howto.howto``, which
# the callers above this layer pass in: the channel list and USSD codes are the biller
# API's profile), or None
HowTo = Callable[[Config, Biller, Bill, str], HowToSteps | None]


@dataclass(frozen=True)
class Rendered:
    bill_no: str
    pdf: bytes
    payload: str | None  # what the QR must decode to (None: no QR, nothing due)
    qr_amount: int | None
    qr_box: tuple[float, float, float] | None  # x, y (bottom), side in page points
    page_size: tuple[float, float]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.pdf).hexdigest()


_STATIC: dict[tuple[str, str, str], Stream] = {}
_LABELS: dict[tuple[str, str], Labels] = {}


def _labels(biller: Biller, lang: str) -> Labels:
    key = (biller.code, lang)
    if key not in _LABELS:
        _LABELS[key] = labels_for(biller, lang)
    return _LABELS[key]


def _matrix(payload: str, *, broken: bool = False) -> list[bytearray]:
    from qrpay.qr import make_symbol

    rows = [bytearray(r) for r in make_symbol(payload).matrix]
    if broken:  # test hook: wipe the middle so that no reader can decode it
        n = len(rows)
        for r in range(n // 4, 3 * n // 4):
            rows[r][n // 4:3 * n // 4] = bytes(3 * n // 4 - n // 4)
    return rows


def _wrap(scale: float) -> tuple[str, str]:
    if scale == 1.0:
        return "", ""
    return f"q {scale:.5f} 0 0 {scale:.5f} 0 0 cm\n", "\nQ"


def draw_page(view: BillView, biller: Biller, lab: Labels, size: str,
              matrix: list[bytearray] | None) -> tuple[Page, Out]:
    scale = SIZES[size]
    key = (biller.code, lab.lang, size)
    cached = _STATIC.get(key)
    out = Out(s=layout.NullLayer() if cached else Layer(), d=Layer(), scale=scale,
              geo=layout.GEOMETRY[size])
    layout.header(out, biller, lab, view)
    layout.consumer(out, lab, view)
    layout.amount_panel(out, lab, view)
    layout.charges_table(out, lab, view)
    layout.qr_panel(out, biller, lab, view, matrix)
    layout.usage(out, lab, view)
    layout.footer(out, biller, lab)
    prefix, suffix = _wrap(scale)
    if cached is None:
        cached = _STATIC[key] = Stream.of(out.s, prefix="q\n" + prefix, suffix=suffix + "\nQ",
                                                static=True)
    dynamic = Stream.of(out.d, prefix=prefix, suffix=suffix)
    page = Page(layout.W * scale, layout.H * scale, (cached, dynamic))
    return page, out


def bill_page(bill: Bill, biller: Biller, config: Config, *, size: str = "A4",
              on: dt.date | None = None, break_qr: bool = False, howto: HowTo | None = None
              ) -> tuple[Page, BillView, Out]:
    if size not in SIZES:
        raise RenderError(f"paper size must be one of {', '.join(SIZES)}", code="bad_size",
                          field="size")
    lab = _labels(biller, bill_language(bill, biller))
    steps = howto(config, biller, bill, lab.lang) if howto else None
    view = make_view(bill, biller, config, lab, on=on, howto=steps)
    matrix = _matrix(view.payload, broken=break_qr) if view.payload else None
    page, out = draw_page(view, biller, lab, size, matrix)
    return page, view, out


def render_bill(bill: Bill, biller: Biller, config: Config, *, size: str = "A4",
                on: dt.date | None = None, break_qr: bool = False,
                howto: HowTo | None = None) -> Rendered:
    """One bill as a one-page PDF (``howto``: see :data:`HowTo`)."""
    page, view, out = bill_page(bill, biller, config, size=size, on=on, break_qr=break_qr,
                                howto=howto)
    pdf = build([page], title=f"{biller.name} {bill.period} {bill.bill_no}",
                subject=bill.bill_no)
    return Rendered(bill.bill_no, pdf, view.payload, view.qr_amount_minor, out.qr_box,
                    (page.width, page.height))


def cover_page(biller: Biller, book: str, bills: Sequence[Bill], lang: str,
               size: str) -> Page:
    """The first page of a print book: what it holds, for the meter reader's bag."""
    lab = _labels(biller, lang)
    scale = SIZES[size]
    layer = Layer()
    y = layout.H - 120
    layer.fill(layout.ACCENT)
    layer.round_rect(layout.M, y - 30, layout.CW, 100, 6)
    layer.text(layout.M + 20, y + 35, biller.name_local or biller.name, 20, bold=True,
               colour="#FFFFFF")
    layer.text(layout.M + 20, y + 10, biller.name, 12, colour="#FFFFFF")
    local, english = lab.pair("cover_title")
    layer.text(layout.M + 20, y - 14, f"{local} / {english}" if local else english, 12,
               bold=True, colour="#FFFFFF")
    total = sum(b.amount for b in bills)
    rows = [
        (lab.pair("cover_title"), book),
        (lab.pair("bill_month"), bills[0].period if bills else ""),
        (lab.pair("cover_bills"), str(len(bills))),
        (lab.pair("cover_range"), f"{bills[0].account_no} – {bills[-1].account_no}"
         if bills else ""),
        (lab.pair("cover_total"), format_amount(total, currency=biller.currency,
                                                numerals=biller.numerals)),
    ]
    y -= 80
    for (local, english), value in rows:
        layer.text(layout.M + 20, y, f"{local} / {english}" if local else english, 11,
                   bold=True, colour=layout.INK)
        layer.text(layout.W - layout.M - 20, y, value, 13, bold=True, colour=layout.ACCENT,
                   align="right")
        layer.stroke(layout.RULE, 0.5)
        layer.line(layout.M + 20, y - 10, layout.W - layout.M - 20, y - 10)
        y -= 34
    prefix, suffix = _wrap(scale)
    return Page(layout.W * scale, layout.H * scale,
                (Stream.of(layer, prefix=prefix, suffix=suffix),))


def render_book(book: str, bills: Sequence[Bill], biller: Biller, config: Config, *,
                size: str = "A4", on: dt.date | None = None,
                howto: HowTo | None = None) -> bytes:
    """A print book: a cover sheet, then one page per bill in the order given."""
    pages = [cover_page(biller, book, bills, biller.language, size)]
    for bill in bills:
        page, _view, _out = bill_page(bill, biller, config, size=size, on=on, howto=howto)
        pages.append(page)
    return build(pages, title=f"{biller.name} {book}", subject=book)


def png_preview(pdf: bytes, path: str | Path, *, scale: float = 2.0) -> Path:
    """Page 1 of ``pdf`` as a PNG (pdfium), for previews."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        image = doc[0].render(scale=scale).to_pil()
        target = Path(path)
        image.save(target, optimize=True)
        return target
    finally:
        doc.close()
