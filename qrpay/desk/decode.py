"""Read a payment QR from a photo or screenshot (the desk's camera upload): zxing-cpp
first (it reads blurred, tilted and perspective-distorted phone photos that zbar misses;
``bench/qr_camera.py``), then pyzbar.

zbar misses codes drawn at about 2 px per module, which is what a screenshot of a bill
or a small phone photo often gives: :func:`qrpay.qr.decode_image` retries small images
upscaled (nearest neighbour keeps module edges sharp); photos get contrast-stretched and
resized tries on top.  Uploads are size-checked before decoding.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

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
    found = _zxing(img)
    if found:
        return found
    found = decode_image(img)
    if found:
        return found
    for candidate in _photo_candidates(img):
        symbols = decode(candidate, symbols=[ZBarSymbol.QRCODE])
        if symbols:
            return [_text(s.data) for s in symbols]
    return []


def _zxing(img: Image.Image) -> list[str]:
    """The QR texts zxing-cpp finds; a blurred photo is tried again upscaled twice and
    sharpened (unsharp mask), which recovers modules of about 3 px under a 1.5 px blur."""
    import zxingcpp

    gray = img.convert("L")
    for candidate in (gray, _sharpened(gray)):
        results = zxingcpp.read_barcodes(
            candidate, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
        found = [r.text for r in results if r.valid and r.text]
        if found:
            return found
    return []


def _sharpened(gray: Image.Image) -> Image.Image:
    if max(gray.size) > TARGET_SIDE:  # already large: sharpen only
        return gray.filter(ImageFilter.UnsharpMask(4, 300, 0))
    big = gray.resize((gray.width * 2, gray.height * 2), Image.Resampling.BICUBIC)
    return big.filter(ImageFilter.UnsharpMask(4, 300, 0))


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
