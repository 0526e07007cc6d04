"""Does the e-bill's QR survive a phone camera?  Degradation benchmark (issue 10 item 21).

    .venv/bin/python bench/qr_camera.py [--bills 50] [--dpi 150 100] [--size A4 A5]

Real e-bills (``qrpay.ebill.render_bill``, UPI for BEST and Bangla QR for BREB, different
bill numbers and amounts) are rasterised at 150 and 100 dpi (pypdfium2), cropped to the QR
panel with 12 mm of page around it (a photo framing the QR), degraded, and decoded once,
with no retries, by pyzbar (zbar) and by zxing-cpp.  A trial counts only when the decoder
returns exactly the bill's payload.  Degradations (seeded, so runs repeat):

- ``blur``: Gaussian blur, radius 1.5 px;
- ``jpeg``: JPEG quality 20;
- ``rotate``: 17 degrees (bicubic, white fill);
- ``contrast``: contrast cut to 35 % (grey on grey);
- ``perspective``: each corner moved by up to 8 % of the crop (a tilted phone);
- ``noise_blur_jpeg``: uniform noise of +-24 levels (sigma ~14), blur radius 1.0 px, JPEG 30.

Prints one row per paper size, dpi and degradation with the share decoded by each
decoder, and exits 1 if any is below ``--goal`` (default 99 %).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageChops, ImageEnhance, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qrpay.bills import Bill  # noqa: E402
from qrpay.config import Config, load_config  # noqa: E402
from qrpay.ebill.render import Rendered, render_bill  # noqa: E402

os.environ.setdefault("QRPAY_TOKEN_KEY_K1", "bench-key-not-a-secret")

MARGIN_MM = 12.0
Degrade = Callable[[Image.Image, random.Random], Image.Image]


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("L")


def _perspective(img: Image.Image, rng: random.Random) -> Image.Image:
    w, h = img.size
    d = 0.08
    # where each output corner samples the input: up to 8 % of the side, inwards or out
    quad = [c + rng.uniform(-d, d) * s for corner in ((0, 0), (0, h), (w, h), (w, 0))
            for c, s in zip(corner, (w, h), strict=True)]
    return img.transform((w, h), Image.Transform.QUAD, tuple(quad),
                         Image.Resampling.BICUBIC, fillcolor=255)


def _noise(img: Image.Image, rng: random.Random, amplitude: int = 24) -> Image.Image:
    raw = Image.frombytes("L", img.size, rng.randbytes(img.width * img.height))
    noise = raw.point(lambda v: 128 + (v - 128) * amplitude // 128)
    return ImageChops.add(img, noise, 1.0, -128)


DEGRADATIONS: dict[str, Degrade] = {
    "blur": lambda img, rng: img.filter(ImageFilter.GaussianBlur(1.5)),
    "jpeg": lambda img, rng: _jpeg(img, 20),
    "rotate": lambda img, rng: img.rotate(17, Image.Resampling.BICUBIC, expand=True,
                                          fillcolor=255),
    "contrast": lambda img, rng: ImageEnhance.Contrast(img).enhance(0.35),
    "perspective": _perspective,
    "noise_blur_jpeg": lambda img, rng: _jpeg(
        _noise(img, rng).filter(ImageFilter.GaussianBlur(1.0)), 30),
}


def read_zbar(img: Image.Image) -> list[str]:
    from pyzbar import pyzbar

    return [s.data.decode("utf-8", "replace")
            for s in pyzbar.decode(img, symbols=[pyzbar.ZBarSymbol.QRCODE])]


def read_zxing(img: Image.Image) -> list[str]:
    import zxingcpp

    return [r.text for r in zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode)]


DECODERS: dict[str, Callable[[Image.Image], list[str]]] = {"pyzbar": read_zbar,
                                                           "zxing-cpp": read_zxing}


def bills(n: int) -> list[tuple[Bill, Config]]:
    best = load_config(ROOT / "samples" / "best.toml")
    breb = load_config(ROOT / "samples" / "breb.toml")
    out = []
    for i in range(n):
        config = breb if i % 2 else best
        biller = config.default_biller
        account = f"{104231245 + 7919 * i:09d}"
        bill_no = f"2611{account}" if i % 2 else f"B2611{account}"
        bill = Bill(bill_no=bill_no, biller=biller.code, account_no=account, name="x",
                    period="2026-11", amount=1000 + 7331 * i * (i % 7 + 1),
                    due_date=dt.date(2026, 12, 5))
        out.append((bill, config))
    return out


def crop(rendered: Rendered, dpi: int) -> Image.Image:
    """The QR panel as a photo would frame it: the symbol and MARGIN_MM of page around."""
    import pypdfium2 as pdfium

    assert rendered.qr_box is not None
    x, y, side = rendered.qr_box
    width, height = rendered.page_size
    pad = MARGIN_MM * 72 / 25.4
    box = (max(0.0, x - pad), max(0.0, y - pad), max(0.0, width - x - side - pad),
           max(0.0, height - y - side - pad))
    doc = pdfium.PdfDocument(rendered.pdf)
    try:
        return doc[0].render(scale=dpi / 72, crop=box, grayscale=True).to_pil().convert("L")
    finally:
        doc.close()


def run(n: int, dpis: list[int], sizes: list[str]) -> dict[tuple[str, int, str], dict[str, int]]:
    results: dict[tuple[str, int, str], dict[str, int]] = {}
    for size in sizes:
        for i, (bill, config) in enumerate(bills(n)):
            rendered = render_bill(bill, config.default_biller, config, size=size)
            for dpi in dpis:
                image = crop(rendered, dpi)
                for name, degrade in DEGRADATIONS.items():
                    img = degrade(image, random.Random(f"{size}{dpi}{name}{i}"))
                    cell = results.setdefault((size, dpi, name), {d: 0 for d in DECODERS})
                    for decoder, read in DECODERS.items():
                        cell[decoder] += read(img) == [rendered.payload]
    return results


def module_px(size: str, dpi: int) -> str:
    rendered = render_bill(*_first(), size=size)
    assert rendered.qr_box is not None and rendered.payload is not None
    from qrpay.qr import make_symbol

    modules = len(make_symbol(rendered.payload).matrix) + 8
    mm = rendered.qr_box[2] / modules * 25.4 / 72
    return f"{mm:.2f} mm/module = {mm / 25.4 * dpi:.1f} px"


def _first() -> tuple[Bill, object, Config]:
    bill, config = bills(1)[0]
    return bill, config.default_biller, config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bills", type=int, default=50, help="bills per paper size")
    parser.add_argument("--dpi", type=int, nargs="+", default=[150, 100])
    parser.add_argument("--size", nargs="+", default=["A4", "A5"])
    parser.add_argument("--goal", type=float, default=99.0, help="percent decoded")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    results = run(args.bills, args.dpi, args.size)
    print(f"{'size':4} {'dpi':>4} {'module':>22}  {'degradation':16} "
          + " ".join(f"{d:>10}" for d in DECODERS))
    worst = 100.0
    for (size, dpi, name), cell in results.items():
        shares = [100.0 * cell[d] / args.bills for d in DECODERS]
        worst = min(worst, *shares)
        print(f"{size:4} {dpi:>4} {module_px(size, dpi):>22}  {name:16} "
              + " ".join(f"{s:>9.1f}%" for s in shares))
    print(f"worst: {worst:.1f}% (goal {args.goal}%), {args.bills} bills per cell, "
          f"{time.perf_counter() - start:.0f} s")
    return 0 if worst >= args.goal else 1


if __name__ == "__main__":
    sys.exit(main())
