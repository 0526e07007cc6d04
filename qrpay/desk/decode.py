"""Read a payment QR from a photo or screenshot (the desk's camera upload), with pyzbar.

zbar misses codes drawn at about 2 px per module, which is what a screenshot of a bill
or a small phone photo often gives, so small images are tried again upscaled (nearest
neighbour keeps module edges sharp), then with contrast stretched.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from PIL import Image, ImageOps, UnidentifiedImageError

from qrpay.errors import ValidationError

MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding
TARGET_SIDE = 1200  # upscale until the short side is about this


def _candidates(img: Image.Image) -> Iterator[Image.Image]:
    gray = img.convert("L")
    yield gray
    short = min(gray.size)
    for factor in (2, 3, 4):
        if short * factor > TARGET_SIDE * 2:
            break
        yield gray.resize((gray.width * factor, gray.height * factor), Image.Resampling.NEAREST)
    stretched = ImageOps.autocontrast(gray, cutoff=2)
    yield stretched
    if short < TARGET_SIDE:
        scale = TARGET_SIDE / short
        yield stretched.resize((round(gray.width * scale), round(gray.height * scale)),
                               Image.Resampling.LANCZOS)
    if short > 2 * TARGET_SIDE:  # big photos: zbar does better on a smaller copy
        scale = TARGET_SIDE / short
        yield stretched.resize((round(gray.width * scale), round(gray.height * scale)),
                               Image.Resampling.LANCZOS)


def open_image(data: bytes) -> Image.Image:
    if not data:
        raise ValidationError("no image was uploaded", code="empty_image", field="image")
    if len(data) > MAX_BYTES:
        raise ValidationError("the image is too large", code="image_too_large", field="image")
    try:
        img = Image.open(io.BytesIO(data))
        if img.width * img.height > MAX_PIXELS:
            raise ValidationError("the image has too many pixels", code="image_too_large",
                                  field="image")
        img.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ValidationError(f"not an image: {exc}", code="bad_image", field="image") from None
    return ImageOps.exif_transpose(img) or img


def decode_qr(data: bytes) -> list[str]:
    """The texts of the QR codes in the image, first decoding pass that finds any."""
    from pyzbar.pyzbar import ZBarSymbol, decode

    img = open_image(data)
    for candidate in _candidates(img):
        found = decode(candidate, symbols=[ZBarSymbol.QRCODE])
        if found:
            return [_text(s.data) for s in found]
    return []


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def decode_one(data: bytes) -> str:
    """The one QR text in the image; ``ValidationError(no_qr_found)`` when there is none."""
    texts = decode_qr(data)
    if not texts:
        raise ValidationError("no QR code found in the image", code="no_qr_found",
                              field="image")
    return texts[0]
