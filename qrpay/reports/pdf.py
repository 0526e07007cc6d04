"""The monthly collection report for the board: one A4 PDF (reportlab) with the KESCO
table, the channel table, digital share against target, month-on-month and year-on-year
change, settled and unsettled money, open exceptions and refunds due, and the charts.

Text is drawn with reportlab's HarfBuzz shaping (``reportlab.pdfbase.ttfonts.shapeStr``,
uharfbuzz: the glyphs and positions HarfBuzz gives) in the Noto fonts the bills use; a
line mixing scripts is cut into runs by :func:`qrpay.ebill.shaping.itemise` and each run
drawn in its script's font, advancing by the width HarfBuzz gives it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.ttfonts import TTFont, shapeStr
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import Connection, func, select

from qrpay.config import Config
from qrpay.digits import localise
from qrpay.ebill.shaping import itemise, shape
from qrpay.money import CURRENCIES
from qrpay.reports import charts
from qrpay.reports.collections import CollectionReport
from qrpay.reports.labels import numerals_for, word
from qrpay.reports.output import Table, collections_table, count_text, key_label, money_text
from qrpay.store.schema import recon_exceptions, refunds_due

MARGIN = 16 * mm
ROLES = ("latin", "latin-bold", "deva", "deva-bold", "beng", "beng-bold")


@dataclass(frozen=True)
class MonthData:
    report: CollectionReport
    biller_name: str
    biller_name_local: str
    names: dict[str, str]
    open_exceptions: dict[str, int]
    refunds_due: tuple[int, int]  # count, minor units
    config: Config

    @classmethod
    def load(cls, conn: Connection, config: Config, report: CollectionReport) -> MonthData:
        q = select(recon_exceptions.c.outcome, func.count()).where(
            recon_exceptions.c.state == "open").group_by(recon_exceptions.c.outcome)
        refunds = conn.execute(select(func.count(), func.coalesce(func.sum(
            refunds_due.c.amount), 0)).where(refunds_due.c.biller.in_(report.billers))).one()
        biller = config.biller(report.billers[0])
        return cls(report=report, biller_name=biller.name,
                   biller_name_local=biller.name_local or biller.name,
                   names={n: c.display_name or n for n, c in config.channels.items()},
                   open_exceptions={o: int(n) for o, n in conn.execute(q)},
                   refunds_due=(int(refunds[0]), int(refunds[1])), config=config)


@cache
def _fonts() -> dict[str, str]:
    from reportlab.pdfbase import pdfmetrics

    from qrpay.ebill.fonts import font_path

    names = {}
    for role in ROLES:
        name = f"qrpay-{role}"
        pdfmetrics.registerFont(TTFont(name, str(font_path(role))))
        names[role] = name
    return names


def draw_text(c: Canvas, x: float, y: float, text: str, size: float, *, bold: bool = False,
              align: str = "left") -> float:
    """Draw ``text`` shaped, in runs by script; return its width."""
    fonts = _fonts()
    width = shape(text, bold).width_at(size)
    if align == "right":
        x -= width
    elif align == "center":
        x -= width / 2
    for script, chunk in itemise(text):
        role = script + ("-bold" if bold else "")
        c.setFont(fonts[role], size)
        # shaped here, not with drawString(shaping=True): reportlab only honours that
        # when python-bidi is installed, and silently draws unshaped text otherwise
        c.drawString(x, y, shapeStr(chunk, fonts[role], size))
        x += shape(chunk, bold).width_at(size)
    return width


def _table(c: Canvas, t: Table, x: float, y: float, widths: list[float], lang: str,
           size: float = 9.5) -> float:
    """Draw ``t`` (first column left, others right aligned); return the y below it."""
    row_h = size * 1.65
    c.setFillColorRGB(0.93, 0.95, 0.97)
    c.rect(x, y - row_h + 3, sum(widths), row_h, stroke=0, fill=1)
    c.setFillColorRGB(0, 0, 0)
    _row(c, x, y - row_h + 8, list(t.header), widths, size, bold=True)
    y -= row_h
    for n, row in enumerate(t.rows):
        cells = [money_text(v, lang) if isinstance(v, int) and i in t.money else
                 count_text(v, lang) if isinstance(v, int) and i in t.counts else str(v)
                 for i, v in enumerate(row)]
        last = n == len(t.rows) - 1
        if last:
            c.line(x, y + 2, x + sum(widths), y + 2)
        _row(c, x, y - row_h + 8, cells, widths, size, bold=last)
        y -= row_h
    return y - 6


def _row(c: Canvas, x: float, y: float, cells: list[str], widths: list[float], size: float,
         bold: bool) -> None:
    for i, (text, w) in enumerate(zip(cells, widths, strict=False)):
        if i == 0:
            draw_text(c, x + 3, y, text, size, bold=bold)
        else:
            draw_text(c, x + w - 3, y, text, size, bold=bold, align="right")
        x += w


def _chart(c: Canvas, fig: Any, x: float, y: float, w: float) -> float:
    png = charts.to_png(fig, dpi=170)
    img = ImageReader(io.BytesIO(png))
    iw, ih = img.getSize()
    h = w * ih / iw
    c.drawImage(img, x, y - h, width=w, height=h)
    return y - h - 4


def monthly_pdf(data: MonthData, lang: str) -> bytes:
    r = data.report
    buf = io.BytesIO()
    width, height = A4
    c = Canvas(buf, pagesize=A4, pageCompression=1)
    c.setTitle(f"{word('en', 'report_title')} {r.period}")
    y = height - MARGIN
    draw_text(c, MARGIN, y - 14, f"{word(lang, 'report_title')}", 17, bold=True)
    draw_text(c, width - MARGIN, y - 14, localise(r.period, numerals_for(lang)), 13, bold=True,
              align="right")
    draw_text(c, MARGIN, y - 32, data.biller_name if lang == "en" else data.biller_name_local,
              11)
    y -= 52
    usable = width - 2 * MARGIN
    table = collections_table(r, lang)
    table = Table(table.title, tuple(h.replace("₹", CURRENCIES.get(r.currency, ("", ""))[1])
                                     .replace("৳", CURRENCIES.get(r.currency, ("", ""))[1])
                                     for h in table.header), table.keys, table.rows,
                  table.money, table.counts, table.notes)
    y = _table(c, table, MARGIN, y, [usable * 0.46, usable * 0.22, usable * 0.32], lang)
    for note in table.notes:
        draw_text(c, MARGIN, y, note, 8.6)
        y -= 13
    y -= 6
    y = _channels(c, data, y, usable, lang)
    y = _exceptions(c, data, y, lang)
    names = dict(data.names, counter=word(lang, "counter"))
    half = (usable - 6 * mm) / 2
    low = _chart(c, charts.collections_chart(r, "digital_vs_target", lang, names), MARGIN, y,
                 half)
    low = min(low, _chart(c, charts.collections_chart(r, "share", lang, names),
                          MARGIN + half + 6 * mm, y, half))
    _chart(c, charts.collections_chart(r, "per_day", lang, names), MARGIN, low, usable)
    c.showPage()
    c.save()
    return buf.getvalue()


def _channels(c: Canvas, data: MonthData, y: float, usable: float, lang: str) -> float:
    rows: list[tuple[str | int, ...]] = [
        (data.names.get(ln.key, key_label("channel", ln.key, lang)) if ln.key != "counter"
         else word(lang, "counter"), ln.figure.count, ln.figure.amount)
        for ln in data.report.by_channel]
    rows.append((word(lang, "total"), data.report.total.count, data.report.total.amount))
    t = Table("", (word(lang, "channel"), word(lang, "number"), word(lang, "amount")),
              ("channel", "count", "amount"), tuple(rows), frozenset({2}), frozenset({1}))
    return _table(c, t, MARGIN, y, [usable * 0.46, usable * 0.22, usable * 0.32], lang)


def _exceptions(c: Canvas, data: MonthData, y: float, lang: str) -> float:
    parts = [f"{k}: {count_text(v, lang)}" for k, v in sorted(data.open_exceptions.items())]
    draw_text(c, MARGIN, y, f"{word(lang, 'exceptions')}: "
              f"{', '.join(parts) if parts else word(lang, 'none')}", 8.6)
    n, amount = data.refunds_due
    draw_text(c, MARGIN, y - 13, f"{word(lang, 'refunds_due')}: {count_text(n, lang)}, "
              f"{money_text(amount, lang)}", 8.6)
    return y - 24
