"""The printed counter receipt: a small PDF (reportlab) and the receipt-number QR.

The PDF is A6 portrait, Latin text (Helvetica): labels in English, and the consumer's
name only when it is Latin-1 (the HTML receipt shows every script).  The QR carries the
receipt number so a later scan at the desk finds it.
"""

from __future__ import annotations

import base64
import io

from reportlab.lib.pagesizes import A6
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from qrpay.desk.counter import ReceiptView
from qrpay.money import format_amount

MARGIN = 8 * mm
QR_MODULE_MM = 0.8


def qr_svg_data_uri(text: str) -> str:
    """The receipt-number QR as an SVG data URI for the HTML receipt."""
    from qrpay.qr import save_svg

    buf = io.BytesIO()
    save_svg(text, buf, scale=4)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode()


def _latin(text: str) -> str:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return ""
    return text


def _draw_qr(c: Canvas, text: str, page_width: float) -> None:
    """The receipt number as a QR in the lower right corner (vectors, via qrpay.qr)."""
    from qrpay.qr import QUIET_ZONE, draw, make_symbol

    symbol = make_symbol(text)
    side = (len(symbol.matrix) + 2 * QUIET_ZONE) * QR_MODULE_MM * mm
    draw(c, text, page_width - MARGIN - side, MARGIN / 2, module_mm=QR_MODULE_MM,
         symbol=symbol)


def _rows(r: ReceiptView, paid_at: str) -> list[tuple[str, str]]:
    reference = f" ({r.reference})" if r.reference else ""
    rows = [("Receipt no.", r.receipt_no), ("Bill no.", r.bill.bill_no),
            ("Account", r.bill.account_no)]
    name = _latin(r.bill.name)
    if name:
        rows.append(("Name", name[:40]))
    rows += [("Bill month", r.bill.period), ("Mode", f"{r.mode}{reference}"),
             ("Paid at", paid_at), ("Counter", r.counter), ("Cashier", r.cashier)]
    return rows


def receipt_pdf(r: ReceiptView, paid_at: str) -> bytes:
    """The receipt as PDF bytes; ``paid_at`` already formatted in the biller's time."""
    buf = io.BytesIO()
    width, height = A6
    c = Canvas(buf, pagesize=A6, pageCompression=1)
    c.setTitle(f"Receipt {r.receipt_no}")
    c.setAuthor(_latin(r.biller.name) or r.biller.code)
    y = height - MARGIN - 10
    c.setFont("Helvetica-Bold", 12)
    c.drawString(MARGIN, y, (_latin(r.biller.name) or r.biller.code)[:40])
    y -= 16
    c.setFont("Helvetica", 10)
    c.drawString(MARGIN, y, "Payment receipt (counter)")
    y -= 22
    c.setFont("Helvetica-Bold", 16)
    amount = format_amount(r.amount, currency=r.biller.currency, symbol=False)
    c.drawString(MARGIN, y, amount)
    y -= 18
    c.setFont("Helvetica", 9)
    for label, value in _rows(r, paid_at):
        c.drawString(MARGIN, y, label)
        c.drawString(MARGIN + 25 * mm, y, value)
        y -= 12
    if not r.in_force:
        c.setFont("Helvetica-Bold", 22)
        c.setFillColorRGB(0.7, 0, 0.1)
        c.drawString(MARGIN, y - 18, "CANCELLED")
        c.setFillColorRGB(0, 0, 0)
    _draw_qr(c, r.receipt_no, width)
    c.setFont("Helvetica", 7)
    c.drawString(MARGIN, MARGIN, "Computer-generated receipt; no signature needed.")
    c.showPage()
    c.save()
    return buf.getvalue()
