"""``qrpay qr payload|image|decode|check``: a bill's payment QR, and checking any QR."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import Any

FORMATS = ("upi", "emv", "bharatqr", "banglaqr")


def register(sub: Any) -> None:
    p = sub.add_parser("qr", help="payment QR payloads and symbols")
    qsub = p.add_subparsers(dest="qr_command", required=True, metavar="ACTION")

    pay = qsub.add_parser("payload", help="print the payload of a bill's QR")
    _bill_args(pay)
    pay.set_defaults(func=payload)

    img = qsub.add_parser("image", help="write a bill's QR as PNG or SVG")
    _bill_args(img)
    img.add_argument("-o", "--output", required=True, metavar="FILE",
                     help="output file, .png or .svg")
    img.add_argument("--scale", type=int, default=8, help="PNG pixels per module (8)")
    img.set_defaults(func=image)

    dec = qsub.add_parser("decode", help="print every QR payload found in an image or a PDF "
                                         "(every page)")
    dec.add_argument("image", metavar="IMAGE")
    dec.set_defaults(func=decode)

    chk = qsub.add_parser("check", help="explain a payment QR and say if it is genuine")
    chk.add_argument("source", metavar="TEXT_OR_IMAGE",
                     help="a payload, or an image file holding QR codes")
    chk.add_argument("--json", action="store_true", help="machine-readable output")
    chk.set_defaults(func=check)


def _bill_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("bill_no", metavar="BILL_NO")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="upi or emv (Bharat QR / Bangla QR); default: the biller's")
    p.add_argument("--on", type=dt.date.fromisoformat, default=None, metavar="YYYY-MM-DD",
                   help="amount due on this day (default: the by-due-date amount)")


def _bill_payload(args: argparse.Namespace, ctx: Any) -> str:
    from qrpay.bills import get_bill
    from qrpay.digits import to_ascii
    from qrpay.payload import bill_payload

    with ctx.store.connect() as conn:
        bill = get_bill(conn, to_ascii(args.bill_no).strip())
    biller = ctx.config.biller(bill.biller)
    return bill_payload(bill, biller, ctx.config, on=args.on, qr_format=args.format)


def payload(args: argparse.Namespace, ctx: Any) -> int:
    print(_bill_payload(args, ctx), file=ctx.out)
    return 0


def image(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay import qr
    from qrpay.errors import ValidationError

    out = Path(args.output)
    suffix = out.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise ValidationError(f"{out}: the output must end in .png or .svg",
                              code="bad_output", field="output")
    text = _bill_payload(args, ctx)
    if suffix == ".png":
        qr.save_png(text, out, scale=args.scale)
    else:
        qr.save_svg(text, out, scale=qr.DEFAULT_MODULE_MM, unit="mm")
    print(f"wrote {out}", file=ctx.out)
    return 0


PDF_DPI = 200  # a bill's 0.7-0.8 mm modules at 5-6 px: zbar reads them at once


def _is_pdf(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(5) == b"%PDF-"
    except OSError:
        return False


def _decode_pdf(path: str) -> list[str]:
    """Every QR payload on every page of a PDF (an e-bill, a print book), page by page."""
    import pypdfium2 as pdfium

    from qrpay import qr
    from qrpay.errors import ValidationError

    try:
        doc = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        raise ValidationError(f"{path}: cannot read the PDF ({exc})", code="bad_image",
                              field="image") from exc
    try:
        found: list[str] = []
        for page in doc:
            found += qr.decode_image(page.render(scale=PDF_DPI / 72, grayscale=True).to_pil())
        return found
    finally:
        doc.close()


def _decode(path: str) -> list[str]:
    from qrpay import qr
    from qrpay.errors import ValidationError

    if _is_pdf(path):
        return _decode_pdf(path)
    try:
        return qr.decode_image(path)
    except (OSError, ValueError) as exc:
        raise ValidationError(f"{path}: cannot read the image ({exc})", code="bad_image",
                              field="image") from exc


def decode(args: argparse.Namespace, ctx: Any) -> int:
    found = _decode(args.image)
    for text in found:
        print(text, file=ctx.out)
    if not found:
        print("no QR code found", file=ctx.err)
        return 1
    return 0


def _print_resolution(res: Any, text: str, out: Any) -> None:
    from qrpay.money import format_amount

    print(f"payload: {text}", file=out)
    print(f"verdict: {res.verdict}" + (f" ({res.code})" if res.code else ""), file=out)
    for reason in res.reasons:
        print(f"  - {reason}", file=out)
    summary = [("format", res.format), ("biller", res.biller), ("bill", res.bill_no),
               ("amount", None if res.amount is None else format_amount(res.amount))]
    for key, value in summary:
        if value is not None:
            print(f"{key}: {value}", file=out)
    for f in res.fields:
        note = f"  ({f.note})" if f.note else ""
        print(f"  {f.key:<7} {f.name}: {f.value}{note}", file=out)


# What a QR payload starts with (UPI intent, EMV TLV "00" "02" "01", a bill-page URL):
# text of these shapes is never taken for a file name.
PAYLOAD_PREFIXES = ("upi:", "000201", "http://", "https://")
NAME_MAX = 255  # bytes in one file name on Linux, macOS and Windows file systems


def is_image_path(source: str) -> bool:
    """Whether ``qr check SOURCE`` names an image file rather than a payload.

    Decided from the text first: a payload shape, a line break, a NUL or a path part of
    more than :data:`NAME_MAX` bytes is text, without asking the file system (a 300-byte
    Bharat QR would otherwise fail with "File name too long")."""
    if source.lower().startswith(PAYLOAD_PREFIXES) or "\n" in source or "\0" in source:
        return False
    parts = source.replace("\\", "/").split("/")
    if any(len(part.encode("utf-8", "surrogateescape")) > NAME_MAX for part in parts):
        return False
    try:
        return Path(source).is_file()
    except (OSError, ValueError):
        return False


def check(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.payload import resolve

    source = args.source
    texts = _decode(source) if is_image_path(source) else [source]
    if not texts:
        print("no QR code found", file=ctx.err)
        return 1
    results = [(text, resolve(text, ctx.config)) for text in texts]
    if args.json:
        data = [dict(res.as_dict(), payload=text) for text, res in results]
        print(json.dumps(data[0] if len(data) == 1 else data, ensure_ascii=False, indent=2),
              file=ctx.out)
    else:
        for n, (text, res) in enumerate(results):
            if n:
                print(file=ctx.out)
            _print_resolution(res, text, ctx.out)
    return 0 if all(res.verdict == "genuine" for _, res in results) else 3
