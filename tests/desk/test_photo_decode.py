"""The desk reads phone photos with zxing-cpp too (issue 10 item 21): a bill's QR
photographed at a tilt (a projective warp, as ``bench/qr_camera.py`` makes) that zbar
cannot read."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from pyzbar import pyzbar

from qrpay.desk.decode import decode_one

PHOTO = Path(__file__).resolve().parents[1] / "data" / "tilted-bill-qr.png"


def test_a_tilted_photo_that_zbar_misses_is_read() -> None:
    with Image.open(PHOTO) as img:
        assert pyzbar.decode(img) == []  # what the desk had before
    text = decode_one(PHOTO.read_bytes())
    assert text.startswith("upi://pay?pa=bestelectricity@sbi&") and "&url=https://" in text
