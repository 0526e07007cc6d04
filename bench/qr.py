"""QR symbols: encoding speed (segno's automatic mask vs qrpay.qr) and decode robustness.

    .venv/bin/python bench/qr.py [--bills 200] [--robust 40]

1. Symbols per second for real bill payloads (UPI, Bharat QR, Bangla QR):
   ``segno.make(payload, error="m", micro=False, eci=True)`` vs ``qrpay.qr.make_symbol``;
   also payload + symbol per bill, and ``qr.draw`` onto a reportlab canvas.
   Our symbols are split into numeric/alphanumeric/byte segments (``qrpay.qr.segment``);
   "identical" compares them with segno's symbol for the same segments
   (``segno.make(qr.segments_for(p), ...)`` at our version and level).
2. Decode success (pyzbar, no retries) of our symbols vs segno's one-byte-segment symbols
   of the same payloads (``segno.make(p)``: a higher version, smaller modules), PNG at
   3 px/module, under blur, JPEG compression, rotation and low contrast.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
import time
from pathlib import Path

import segno
from PIL import Image, ImageFilter
from pyzbar import pyzbar
from reportlab.pdfgen.canvas import Canvas

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qrpay import qr  # noqa: E402
from qrpay.bills import Bill  # noqa: E402
from qrpay.config import load_config  # noqa: E402
from qrpay.payload import bill_payload  # noqa: E402

os.environ.setdefault("QRPAY_TOKEN_KEY_K1", "bench-key-not-a-secret")


def bills(n: int) -> list[tuple[Bill, object, object, str | None]]:
    best = load_config(ROOT / "samples" / "best.toml")
    breb = load_config(ROOT / "samples" / "breb.toml")
    out = []
    for i in range(n):
        kind = i % 3
        config = breb if kind == 2 else best
        biller = config.default_biller
        account = f"{104231245 + 7919 * i:09d}"
        bill_no = (f"2611{account}" if kind == 2 else f"B2611{account}")
        bill = Bill(bill_no=bill_no, biller=biller.code, account_no=account, name="x",
                    period="2026-11", amount=1000 + 7331 * i, due_date=dt.date(2026, 12, 5))
        out.append((bill, biller, config, "emv" if kind == 1 else None))
    return out


def rate(fn, items) -> tuple[float, float]:
    start = time.perf_counter()
    for item in items:
        fn(item)
    elapsed = time.perf_counter() - start
    return len(items) / elapsed, elapsed / len(items) * 1000


def speed(n: int) -> list[str]:
    rows = bills(n)
    payloads = [bill_payload(b, biller, cfg, qr_format=f) for b, biller, cfg, f in rows]
    qr.make_symbol(payloads[0])  # build the per-version tables once
    lines = []
    segno_rate, segno_ms = rate(lambda p: segno.make(p, error="m", micro=False, eci=True),
                                payloads)
    ours_rate, ours_ms = rate(qr.make_symbol, payloads)
    pay_rate, pay_ms = rate(lambda r: bill_payload(r[0], r[1], r[2], qr_format=r[3]), rows)
    both_rate, both_ms = rate(lambda r: qr.make_symbol(
        bill_payload(r[0], r[1], r[2], qr_format=r[3])), rows)
    canvas = Canvas(io.BytesIO())
    draw_rate, draw_ms = rate(lambda p: qr.draw(canvas, p, 10, 10), payloads)
    same = sum(_same_segments(p) for p in payloads)
    versions = sorted({qr.make_symbol(p).version for p in payloads})
    plain = sorted({segno.make(p, error="m", micro=False, eci=True).version for p in payloads})
    lines.append(f"bill payloads: {n} (UPI, Bharat QR, Bangla QR in turn), "
                 f"{min(map(len, payloads))}-{max(map(len, payloads))} characters")
    lines.append(f"segno.make (automatic mask): {segno_rate:8.0f} symbols/s  "
                 f"({segno_ms:.2f} ms each)")
    lines.append(f"qrpay.qr.make_symbol:        {ours_rate:8.0f} symbols/s  "
                 f"({ours_ms:.2f} ms each), {segno_ms / ours_ms:.1f}x faster")
    lines.append(f"bill_payload alone:          {pay_rate:8.0f} payloads/s  ({pay_ms:.3f} ms)")
    lines.append(f"bill_payload + make_symbol:  {both_rate:8.0f} bills/s    ({both_ms:.2f} ms)")
    lines.append(f"qr.draw (symbol + vectors):  {draw_rate:8.0f} bills/s    ({draw_ms:.2f} ms)")
    lines.append(f"identical to segno's symbol of the same segments (modules, mask, version, "
                 f"level): {same}/{n}")
    lines.append(f"versions: ours {versions}, segno one byte segment {plain}")
    return lines


def _same_segments(p: str) -> bool:
    ours = qr.make_symbol(p)
    theirs = segno.make(qr.segments_for(p), error=ours.error, version=ours.version,
                        micro=False, eci=True, boost_error=False)
    return bool(ours.matrix == theirs.matrix and ours.mask == theirs.mask)


def png(symbol: segno.QRCode, scale: int = 3) -> Image.Image:
    buf = io.BytesIO()
    symbol.save(buf, kind="png", scale=scale, border=4)
    buf.seek(0)
    return Image.open(buf).convert("L")


def jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("L")


DISTORTIONS = {
    "clean": lambda im: im,
    "blur r=1.0": lambda im: im.filter(ImageFilter.GaussianBlur(1.0)),
    "blur r=1.25": lambda im: im.filter(ImageFilter.GaussianBlur(1.25)),
    "blur r=1.5": lambda im: im.filter(ImageFilter.GaussianBlur(1.5)),
    "jpeg q=10": lambda im: jpeg(im, 10),
    "jpeg q=3": lambda im: jpeg(im, 3),
    "rotate 15": lambda im: im.rotate(15, resample=Image.Resampling.BILINEAR, expand=True,
                                      fillcolor=255),
    "rotate 45": lambda im: im.rotate(45, resample=Image.Resampling.BILINEAR, expand=True,
                                      fillcolor=255),
    "contrast 20%": lambda im: im.point(lambda v: 140 + v * 40 // 255),
    "contrast 8% + blur": lambda im: im.point(lambda v: 150 + v * 20 // 255).filter(
        ImageFilter.GaussianBlur(1.0)),
}


def robustness(n: int) -> list[str]:
    rows = bills(n)
    payloads = [bill_payload(b, biller, cfg, qr_format=f) for b, biller, cfg, f in rows]
    lines = [f"decode success, pyzbar, single attempt, PNG at 3 px/module, {n} payloads "
             f"per cell ({n * len(DISTORTIONS) * 2} decodes)",
             f"{'distortion':<20} {'qrpay':>7} {'segno 1 segment':>16}"]
    for name, distort in DISTORTIONS.items():
        ok = {"ours": 0, "segno": 0}
        for p in payloads:
            symbols = {"ours": qr.make_symbol(p),
                       "segno": segno.make(p, error="m", micro=False, eci=True)}
            for who, sym in symbols.items():
                found = pyzbar.decode(distort(png(sym)), symbols=[pyzbar.ZBarSymbol.QRCODE])
                ok[who] += any(f.data.decode("utf-8", "replace") == p for f in found)
        lines.append(f"{name:<20} {ok['ours'] / n:>7.0%} {ok['segno'] / n:>16.0%}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bills", type=int, default=300, help="payloads for the speed test")
    ap.add_argument("--robust", type=int, default=40, help="payloads per distortion")
    args = ap.parse_args()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, segno {segno.__version__}")
    for line in speed(args.bills) + [""] + robustness(args.robust):
        print(line)


if __name__ == "__main__":
    main()
