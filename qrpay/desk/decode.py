"""Read a payment QR from a photo or screenshot (the desk's camera upload) with the
reader the CLI uses, :func:`qrpay.qr.decode_image` (zxing-cpp first, a sharpened retry,
then pyzbar with upscaled retries); photos get contrast-stretched and resized pyzbar
tries on top.  Uploads are size-checked before decoding.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from PIL import Image, ImageOps, UnidentifiedImageError

from qrpay.errors import TooLarge, ValidationError

MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding
TARGET_SIDE = 1200  # upscale until the short side is about this


def _photo_candidates(img: Image.Image) -> Iterator[Image.Image]:
    """Extra tries for camera photos: contrast stretched, resized towards TARGET_SIDE."""
    stretched = ImageOps.autocontrast(img.convert("L"), cutoff=2)
    yield stretched
    short = min(stretched.size)
    if short < TARGET_SIDE or short > 2 * TARGET_SIDE:
        scale = TARGET_SIDE / short
        yield stretched.resize((round(stretched.width * scale), round(stretched.height * scale)),
                               Image.Resampling.LANCZOS)


def open_image(data: bytes) -> Image.Image:
    if not data:
        raise ValidationError("no image was uploaded", code="empty_image", field="image")
    if len(data) > MAX_BYTES:
        raise TooLarge("the image is too large", code="image_too_large", field="image")
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
    """The texts of the QR codes in the image (``qrpay.qr.decode_image`` first, which
    upscales small images; then contrast-stretched and resized copies for photos)."""
    from pyzbar.pyzbar import ZBarSymbol, decode

    from qrpay.qr import decode_image

    img = open_image(data)
    found = decode_image(img)
    if found:
        return found
    for candidate in _photo_candidates(img):
        symbols = decode(candidate, symbols=[ZBarSymbol.QRCODE])
        if symbols:
            return [_text(s.data) for s in symbols]
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
