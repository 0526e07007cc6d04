"""Read a rendered bill's QR back: rasterise the QR region (pypdfium2), decode (pyzbar)."""

from __future__ import annotations

from qrpay.ebill.render import Rendered

PAD = 6.0  # points of page around the symbol's quiet zone
PIXELS_PER_POINT = 3.0  # ~4 pixels per 0.46 mm module: zbar reads that reliably


def decode_qr(pdf: bytes, box: tuple[float, float, float], page_size: tuple[float, float],
              *, page: int = 0, scale: float = PIXELS_PER_POINT) -> list[str]:
    """The texts of the QR codes found in ``box`` (x, y, side in points) of ``page``."""
    import pypdfium2 as pdfium
    from pyzbar import pyzbar

    x, y, side = box
    width, height = page_size
    crop = (max(0.0, x - PAD), max(0.0, y - PAD), max(0.0, width - x - side - PAD),
            max(0.0, height - y - side - PAD))
    doc = pdfium.PdfDocument(pdf)
    try:
        image = doc[page].render(scale=scale, crop=crop, grayscale=True).to_pil()
    finally:
        doc.close()
    found = pyzbar.decode(image, symbols=[pyzbar.ZBarSymbol.QRCODE])
    return [_text(item.data) for item in found]


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def check(rendered: Rendered) -> str | None:
    """None when the bill's QR decodes to exactly its payload, else what is wrong."""
    if rendered.payload is None:
        return None if rendered.qr_box is None else "a QR is printed on a bill with nothing due"
    if rendered.qr_box is None:
        return "no QR on the page"
    texts = decode_qr(rendered.pdf, rendered.qr_box, rendered.page_size)
    if not texts:
        return "QR does not decode"
    if texts != [rendered.payload]:
        return f"QR decodes to {texts[0][:60]!r}, not the bill's payload"
    return None
