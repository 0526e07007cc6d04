"""The bill page as a sequence of small block functions.

Every block draws into an :class:`Out` with two layers: ``s`` (static: the frame and
labels, the same for every bill of a biller, language and paper size) and ``d`` (this
bill's values).  The static layer is drawn once per process and reused; when a page is
drawn with a cached frame, ``s`` is a :class:`NullLayer` and static drawing costs nothing.
So: anything that comes from the bill goes to ``d``; only wording, the biller and the
page geometry may go to ``s``.

Coordinates are A4 points measured from the top (``top``); A5 pages are the same design
scaled by 1/sqrt(2), except the QR, which keeps (nearly) its size on paper: each paper
size has a :class:`Geometry` whose QR panel is wide enough for it (up to 64 mm with the
quiet zone on A4, 61 mm on A5) and a module size on paper (1.12 mm on A4, 1.10 mm on A5;
a version 7 symbol is then 59 mm, a version 6 one 55 mm).  The module is pinned, not as
large as the panel allows: in ``bench/qr_camera.py`` zbar needs about 4.3 px per module
to read a 1.5 px blur at 100 dpi (1.10 mm), and misses finder patterns under JPEG q=20
at 7 px per module and more (1.2 mm at 150 dpi); see docs/benchmarks.md.  On A5 the charges column
is narrower, the QR panel wider and taller, and the usage row and the footer tighter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qrpay.config import Biller
from qrpay.ebill.pdf import Layer, PdfImage, image_from_file
from qrpay.ebill.shaping import shape
from qrpay.ebill.view import BillView, Labels

W, H = 595.28, 841.89
M = 28.0
CW = W - 2 * M
LEFT_W = 330.0
RIGHT_X = M + LEFT_W + 12
RIGHT_W = W - M - RIGHT_X
ACCENT, ACCENT_LIGHT, INK, GREY, RULE = "#1F4E79", "#E3EDF7", "#1A1A1A", "#5F6B76", "#B8C4D0"
HIGHLIGHT = "#C0392B"
MM = 72 / 25.4
QR_MIN_MODULE = 0.4 * MM
QR_QUIET = 4
# rows of the page (top, height), A4 design points
ROW_CONSUMER = (112.0, 166.0)


@dataclass(frozen=True)
class Geometry:
    """Where the rows below the consumer row go on one paper size (A4 design points)."""

    qr_paper: float  # the largest symbol with its quiet zone, on paper (points)
    qr_module: float  # the module on paper (points), when the symbol then fits qr_paper
    charges_w: float  # the charges column; the QR panel takes the rest of the row
    charges: tuple[float, float]  # (top, height) of the charges / QR row
    usage: tuple[float, float]
    footer_top: float
    footer_steps: tuple[float, float, float, float]  # helpline, route, generated, English
    qr_text_below: float = 44.0  # room under the symbol: the amount in the QR and the URL
    readings_top: float = 86.0  # first meter-reading row, below the usage row's top

    @property
    def panel_x(self) -> float:
        return M + self.charges_w + 12

    @property
    def panel_w(self) -> float:
        return W - M - self.panel_x


GEOMETRY = {
    "A4": Geometry(qr_paper=64 * MM, qr_module=1.12 * MM, charges_w=LEFT_W,
                   charges=(290.0, 262.0), usage=(564.0, 160.0), footer_top=738.0,
                   footer_steps=(18, 36, 56, 66)),
    "A5": Geometry(qr_paper=61 * MM, qr_module=1.10 * MM, charges_w=CW - 12 - 257.0,
                   charges=(290.0, 318.0), usage=(620.0, 150.0), footer_top=780.0,
                   footer_steps=(15, 29, 42, 50),
                   qr_text_below=40.0, readings_top=80.0),
}
HOWTO_SIZE = 7.5
HOWTO_LEADING = 9.5


def Y(top: float) -> float:
    return H - top


class NullLayer(Layer):
    """Swallows drawing: used for the static layer once it is cached."""

    def __getattribute__(self, name: str) -> Any:
        if name in ("ops", "glyphs", "content"):
            return object.__getattribute__(self, name)
        return _nothing


def _nothing(*_args: Any, **_kwargs: Any) -> float:
    return 0.0


@dataclass
class Out:
    s: Layer
    d: Layer
    scale: float = 1.0
    qr_box: tuple[float, float, float] | None = None  # x, y (bottom), side; page points
    geo: Geometry = GEOMETRY["A4"]


# -- helpers -----------------------------------------------------------------------------

def fit(text: str, size: float, width: float, bold: bool = False) -> str:
    """``text``, cut at a word and ended with an ellipsis if it is wider than ``width``."""
    if shape(text, bold).width * size / 1000 <= width:
        return text
    words = text.split()
    while len(words) > 1:
        words.pop()
        candidate = " ".join(words) + " …"
        if shape(candidate, bold).width * size / 1000 <= width:
            return candidate
    chars = text
    while len(chars) > 1:
        chars = chars[:-1]
        if shape(chars + "…", bold).width * size / 1000 <= width:
            return chars + "…"
    return chars


def label(layer: Layer, x: float, top: float, lab: Labels, key: str, size: float = 7.5, *,
          colour: str = INK, sub: str = GREY, align: str = "left") -> None:
    """A label in the bill's language with English under it (English only on en bills)."""
    local, english = lab.pair(key)
    if local:
        layer.text(x, Y(top), local, size, bold=True, colour=colour, align=align)
        layer.text(x, Y(top + size * 1.15), english, size - 1.5, colour=sub, align=align)
    else:
        layer.text(x, Y(top), english, size, bold=True, colour=colour, align=align)


URL_MIN_SIZE = 3.5


def wrap(text: str, size: float, width: float, bold: bool = False) -> list[str]:
    """``text`` in lines no wider than ``width``, cut between words (a word wider than
    the line gets a line of its own)."""
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and shape(candidate, bold).width * size / 1000 <= width:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines


def url_lines(url: str, size: float, width: float) -> tuple[list[str], float]:
    """The bill-page URL on one line, or two with the second starting at ``?t=`` (a
    token is never cut); the font shrinks (down to ``URL_MIN_SIZE``) until each line
    fits ``width``.  Returns the lines and the font size."""
    if not url:
        return [], size
    cut = url.find("?t=")
    lines = [url] if shape(url).width_at(size) <= width or cut < 0 else [url[:cut], url[cut:]]
    widest = max(shape(line).width for line in lines)
    return lines, max(URL_MIN_SIZE, min(size, width * 1000 / widest))


# -- blocks ------------------------------------------------------------------------------

def logo(out: Out, biller: Biller, lab: Labels, x: float, top: float, side: float) -> None:
    """The utility's logo (profile ``logo``, an image file) fitted into a white square,
    or the placeholder box when the profile has none."""
    s = out.s
    s.fill("#FFFFFF")
    s.round_rect(x, Y(top + side), side, side, 4)
    if not biller.logo:
        s.text(x + side / 2, Y(top + side / 2 + 3), lab.english.get("logo", "LOGO"), 7,
               colour=RULE, align="center")
        return
    img = _logo_image(biller.logo)
    inner = side - 6
    k = inner / max(img.width, img.height)
    w, h = img.width * k, img.height * k
    s.image(img, x + (side - w) / 2, Y(top + (side + h) / 2), w, h)


def _logo_image(path: str) -> PdfImage:
    import os

    from qrpay.errors import RenderError

    try:
        stat = os.stat(path)
    except OSError:
        raise RenderError(f"the profile's logo {path} is not there", code="logo_missing",
                          field="logo") from None
    try:
        return image_from_file(path, stat.st_mtime_ns)
    except (OSError, ValueError) as exc:
        raise RenderError(f"logo {path}: {exc}", code="bad_logo", field="logo") from None


def header(out: Out, biller: Biller, lab: Labels, view: BillView) -> None:
    s, top = out.s, 28.0
    s.fill(ACCENT)
    s.round_rect(M, Y(top + 72), CW, 72, 6)
    logo(out, biller, lab, M + 10, top + 10, 52)
    local_name = biller.name_local if lab.bilingual and biller.name_local else ""
    if local_name:
        s.text(M + 74, Y(top + 32), fit(local_name, 15, 250, True), 15, bold=True,
               colour="#FFFFFF")
        s.text(M + 74, Y(top + 50), fit(biller.name, 10.5, 250), 10.5, colour="#FFFFFF")
    else:
        s.text(M + 74, Y(top + 40), fit(biller.name, 15, 250, True), 15, bold=True,
               colour="#FFFFFF")
    right = W - M - 12
    local, english = lab.pair("title")
    s.text(right, Y(top + 28), local or english, 14, bold=True, colour="#FFFFFF",
           align="right")
    if local:
        s.text(right, Y(top + 43), english, 9.5, colour="#FFFFFF", align="right")
    out.d.text(right, Y(top + 61), view.month, 10, bold=True, colour="#FFFFFF", align="right")


CONSUMER_ROWS = ("name", "address", "account_no", "bill_no", "category")


def consumer(out: Out, lab: Labels, view: BillView) -> None:
    """Who and what: the fixed rows, then tariff and sanctioned load when the bill file
    gives them, then the meter; the rows share the box's height."""
    s, d = out.s, out.d
    top, height = ROW_CONSUMER
    s.stroke(RULE, 0.6)
    s.fill("#FFFFFF")
    s.round_rect(M, Y(top + height), LEFT_W, height, 5, fill=False, stroke=True)
    values = {"name": view.name, "address": view.address, "account_no": view.account_no,
              "bill_no": view.bill_no, "category": view.category, "meter_no": view.meter_no,
              **dict(view.connection)}
    keys = [*CONSUMER_ROWS, *(key for key, _ in view.connection), "meter_no"]
    step = min(22.0, (height - 10) / len(keys))
    for i, key in enumerate(keys):
        row = top + 5 + step * (i + 0.5)  # the two label lines span row - 7 .. row + 10.5
        label(d, M + 10, row, lab, key, 7.5 if step >= 19 else 7.0)
        bold = key in ("name", "account_no")
        d.text(M + 118, Y(row + 2), fit(values[key], 9.5, LEFT_W - 128, bold), 9.5,
               bold=bold, colour=INK)
        if i:
            d.stroke(ACCENT_LIGHT, 0.5)
            d.line(M + 8, Y(row + 1.75 - step / 2), M + LEFT_W - 8, Y(row + 1.75 - step / 2))


def _value_row(layer: Layer, x: float, width: float, top: float, lab: Labels, key: str,
               value: str, *, colour: str = INK) -> None:
    label(layer, x + 12, top, lab, key)
    layer.text(x + width - 12, Y(top + 3), value, 10, bold=True, colour=colour, align="right")


def amount_panel(out: Out, lab: Labels, view: BillView) -> None:
    s, d = out.s, out.d
    top, height = ROW_CONSUMER
    x, cx = RIGHT_X, RIGHT_X + RIGHT_W / 2
    s.fill(ACCENT_LIGHT)
    s.round_rect(x, Y(top + height), RIGHT_W, height, 5)
    label(d, cx, top + 18, lab, view.amount_key, 9, colour=ACCENT, align="center")
    main, english = view.amount_box
    size = 22.0 if view.payable else 16.0
    while shape(main, True).width * size / 1000 > RIGHT_W - 16 and size > 9:
        size -= 1
    d.text(cx, Y(top + (62 if view.payable or not english else 52)), main, size, bold=True,
           colour=ACCENT, align="center")
    if english:
        d.text(cx, Y(top + 65), fit(english, 9, RIGHT_W - 16), 9, colour=GREY,
               align="center")
    s.stroke(RULE, 0.5)
    s.line(x + 12, Y(top + 74), x + RIGHT_W - 12, Y(top + 74))
    rows: list[tuple[str, str, str]] = []
    if view.bill_date:
        rows.append(("bill_date", view.bill_date, INK))
    if view.payable:  # a credit or zero bill: no pay-by date, no late amount
        rows += [("due_date", view.due_date, HIGHLIGHT), ("after_due", view.late_amount, INK)]
        if view.late_from:  # grace days: the late amount applies from this day
            rows[-1] = ("late_from", view.late_from, INK)
            rows.append(("late_amount", view.late_amount, INK))
    for i, (key, value, colour) in enumerate(rows):
        _value_row(d, x, RIGHT_W, top + 90 + 23 * i, lab, key, value, colour=colour)


def howto_lines(view: BillView, width: float) -> list[str]:
    """The "how to pay" steps wrapped to ``width``; a step's second line is indented."""
    out: list[str] = []
    for step in view.howto_lines:
        step = step.replace("→", "›")  # the bill fonts (Noto Sans) have no U+2192 arrow
        for i, line in enumerate(wrap(step, HOWTO_SIZE, width - (8 if out else 0))):
            out.append(("  " if i else "") + line)
    return out


def howto(out: Out, view: BillView) -> float:
    """The wallets' Pay Bill and USSD paths (Bangladeshi billers whose profile lists
    channels), in a box at the foot of the charges column; returns its height (0: none).
    Wording from ``templates/channels/<lang>.toml [howto]``, as on the bill page."""
    if not view.howto_lines:
        return 0.0
    d, geo = out.d, out.geo
    width = geo.charges_w - 20
    lines = howto_lines(view, width)
    height = 26 + HOWTO_LEADING * len(lines)
    top = geo.charges[0] + geo.charges[1] - height
    d.fill(ACCENT_LIGHT)
    d.round_rect(M, Y(top + height), geo.charges_w, height, 5)
    d.text(M + 10, Y(top + 14), fit(view.howto_title, 8.5, width, True), 8.5, bold=True,
           colour=ACCENT)
    for i, line in enumerate(lines):
        d.text(M + 10 + (8 if line.startswith("  ") else 0), Y(top + 27 + HOWTO_LEADING * i),
               line.strip(), HOWTO_SIZE, colour=INK)
    return height


def charges_table(out: Out, lab: Labels, view: BillView) -> None:
    s, d, geo = out.s, out.d, out.geo
    left_w = geo.charges_w
    top, height = geo.charges
    below_box = howto(out, view)
    if below_box:
        height -= below_box + 10
    d.stroke(RULE, 0.6)
    d.round_rect(M, Y(top + height), left_w, height, 5, fill=False, stroke=True)
    s.fill(ACCENT)
    s.rect(M, Y(top + 24), left_w, 24)
    label(s, M + 10, top + 11, lab, "charges", 8, colour="#FFFFFF", sub="#DDE6EE")
    rows = view.charges
    step = min(22.0, (height - 24 - 40) / max(len(rows), 1))
    below = step >= 16  # room for the English head under the local one
    for i, (head, english, amount, amount_en) in enumerate(rows):
        base = top + 24 + step * (i + 1) - (7 if english and below else 5)
        if english and not below:
            head = f"{head} / {english}"
            amount = f"{amount} ({amount_en})" if amount_en else amount
        d.text(M + 12, Y(base), fit(head, 9, left_w - 150), 9, colour=INK)
        if english and below:
            d.text(M + 12, Y(base + 8), fit(english, 6.5, left_w - 150), 6.5, colour=GREY)
        d.text(M + left_w - 12, Y(base), amount, 9, colour=INK, align="right")
        if amount_en and below:
            d.text(M + left_w - 12, Y(base + 8), amount_en, 6.5, colour=GREY, align="right")
    d.stroke(ACCENT, 0.8)
    d.line(M + 8, Y(top + height - 34), M + left_w - 8, Y(top + height - 34))
    label(d, M + 12, top + height - 20, lab, view.total_key, 9)
    d.text(M + left_w - 12, Y(top + height - 16), view.total, 11, bold=True, colour=ACCENT,
           align="right")


def qr_side(side_modules: int, scale: float, room: float, paper: float,
            module: float | None = None) -> float:
    """The module size in design points: ``module`` (points on paper) when the symbol
    with its quiet zone then fits ``paper`` (points on paper) and ``room`` (design
    points), else as large as they allow; never under 0.4 mm on paper."""
    total = side_modules + 2 * QR_QUIET
    largest = min(paper / scale, room) / total
    if module is not None:
        largest = min(largest, module / scale)
    return max(largest, QR_MIN_MODULE / scale)


def _nothing_due(d: Layer, cx: float, top: float, lab: Labels, view: BillView,
                 panel_w: float) -> None:
    """The QR panel of a zero or credit bill: every line in both languages."""
    label(d, cx, top + 90, lab, view.amount_key, 9, colour=GREY, align="center")
    d.text(cx, Y(top + 118), fit(view.nothing_due, 9.5, panel_w - 16, True), 9.5,
           bold=True, colour=ACCENT, align="center")
    if view.nothing_due_en:
        d.text(cx, Y(top + 130), fit(view.nothing_due_en, 8, panel_w - 16), 8, colour=GREY,
               align="center")
    main = view.amount_box[0] if view.amount_box[1] else view.amount  # credit: "जमा ₹ 5"
    d.text(cx, Y(top + 154), fit(main, 12, panel_w - 16, True), 12, bold=True, colour=INK,
           align="center")
    if view.amount_en:
        d.text(cx, Y(top + 167), fit(view.amount_en, 8, panel_w - 16), 8, colour=GREY,
               align="center")


def qr_panel(out: Out, biller: Biller, lab: Labels, view: BillView,
             matrix: Sequence[Sequence[int]] | None) -> None:
    s, d, geo = out.s, out.d, out.geo
    top, height = geo.charges
    x, panel_w = geo.panel_x, geo.panel_w
    cx = x + panel_w / 2
    s.stroke(ACCENT, 1.0)
    s.fill("#FFFFFF")
    s.round_rect(x, Y(top + height), panel_w, height, 5, fill=True, stroke=True)
    if matrix is None:
        _nothing_due(d, cx, top, lab, view, panel_w)
        return
    if biller.country == "IN":
        label(d, cx, top + 13, lab, "scan_upi", 8.5, colour=ACCENT, align="center")
        qtop = top + 24
    else:
        label(d, cx, top + 13, lab, "scan_bd", 8.5, colour=ACCENT, align="center")
        d.text(cx, Y(top + 33), fit(" · ".join(view.channels), 7.5, panel_w - 12, True),
               7.5, bold=True, colour=INK, align="center")
        qtop = top + 34
    n = len(matrix)
    tall = top + height - geo.qr_text_below - qtop  # room for the symbol, in height
    room = min(panel_w - 4, tall)
    module = qr_side(n, out.scale, room, geo.qr_paper, geo.qr_module)
    side = module * (n + 2 * QR_QUIET)
    qtop += max(0.0, tall - side) / 2  # a pinned module leaves room: centre the block
    qx = cx - side / 2
    d.fill(INK)
    d.modules(matrix, qx + QR_QUIET * module, Y(qtop + side) + QR_QUIET * module, module)
    out.qr_box = (qx * out.scale, Y(qtop + side) * out.scale, side * out.scale)
    below = qtop + side
    local, english = lab.pair("qr_amount")
    d.text(cx, Y(below + 6), f"{local} · {english}" if local else english, 6.5, colour=GREY,
           align="center")
    d.text(cx, Y(below + 20), view.qr_amount, 11, bold=True, colour=ACCENT, align="center")
    lines, size = url_lines(view.url, 5.5, panel_w - 16)
    for i, line in enumerate(lines):
        d.text(cx, Y(below + 30 + i * 6.5), line, size, colour=GREY, align="center")


def usage(out: Out, lab: Labels, view: BillView) -> None:
    """Units, the 12-month average, the meter readings and the last payment when the bill
    file gives them, and the consumption chart."""
    s, d = out.s, out.d
    top, height = out.geo.usage
    s.stroke(RULE, 0.6)
    s.round_rect(M, Y(top + height), CW, height, 5, fill=False, stroke=True)
    label(s, M + 12, top + 20, lab, "units", 8)
    d.text(M + 12, Y(top + 54), view.units, 22, bold=True, colour=ACCENT)
    s.text(M + 12, Y(top + 66), lab.english["units_unit"], 7.5, colour=GREY)
    label(s, M + 120, top + 20, lab, "average", 8)
    d.text(M + 120, Y(top + 50), view.average, 14, bold=True, colour=INK)
    s.text(M + 120, Y(top + 66), lab.english["units_unit"], 7.5, colour=GREY)
    readings(out, lab, view, M + 12, top + out.geo.readings_top, READINGS_W - 24)
    chart(out, lab, view, M + READINGS_W + 8, top + 12, CW - READINGS_W - 20, height - 22)


READINGS_W = 236.0


def readings(out: Out, lab: Labels, view: BillView, x: float, top: float,
             width: float) -> None:
    """Present and previous readings with their dates and the multiplier, then the last
    payment: rows of label, value and date, drawn only when the bill has them."""
    d = out.d
    rows = list(view.readings)
    if view.last_payment[0]:
        rows.append(("last_payment", *view.last_payment))
    for i, (key, value, when) in enumerate(rows):
        row = top + 18 * i
        if i:
            d.stroke(ACCENT_LIGHT, 0.5)
            d.line(x, Y(row - 11), x + width, Y(row - 11))
        label(d, x, row - 3, lab, key, 6.8, colour=GREY)
        d.text(x + width * 0.7, Y(row), value, 8.5, bold=True, colour=INK, align="right")
        if when:
            d.text(x + width, Y(row), when, 7, colour=GREY, align="right")


def chart(out: Out, lab: Labels, view: BillView, x: float, top: float, width: float,
          height: float) -> None:
    """A 12-month bar chart: vector bars, values on top, month names under."""
    s, d = out.s, out.d
    label(s, x, top + 8, lab, "chart", 8)
    base = top + height - 14
    plot_h = height - 56
    s.stroke(RULE, 0.6)
    s.line(x, Y(base), x + width, Y(base))
    bars = view.history
    if not bars:
        return
    peak = max(kwh for _, kwh, _ in bars) or 1
    slot = width / 12
    bar_w = slot * 0.62
    for i, (month, kwh, text) in enumerate(bars):
        bx = x + slot * (i + 12 - len(bars)) + (slot - bar_w) / 2
        h = plot_h * kwh / peak
        d.fill(ACCENT if i == len(bars) - 1 else "#9DB8D3")
        d.rect(bx, Y(base), bar_w, h)
        d.text(bx + bar_w / 2, Y(base) + h + 3, text, 6.5, colour=INK, align="center")
        d.text(bx + bar_w / 2, Y(base + 10), month, 6.5, colour=GREY, align="center")


def footer(out: Out, biller: Biller, lab: Labels) -> None:
    s, top = out.s, out.geo.footer_top
    helpline_at, route_at, generated_at, english_at = out.geo.footer_steps
    s.stroke(RULE, 0.6)
    s.line(M, Y(top), W - M, Y(top))
    if biller.helpline:
        local, english = lab.pair("helpline")
        text = f"{local} / {english}" if local else english
        width = s.text(M, Y(top + helpline_at), text + ":", 9, bold=True, colour=ACCENT)
        s.text(M + width + 5, Y(top + helpline_at), biller.helpline, 11, bold=True, colour=INK)
    route = biller.complaint_route
    if route:
        s.text(M, Y(top + route_at), fit(route, 8, CW), 8, colour=INK)
    local, english = lab.pair("generated")
    s.text(M, Y(top + generated_at), local or english, 7, colour=GREY)
    if local:
        s.text(M, Y(top + english_at), english, 6.5, colour=GREY)
