"""``qrpay render``: e-bills as PDF.

* ``qrpay render --period YYYY-MM --out DIR [--workers N] [--books] [--verify none|sample|all]
  [--resume] [--scheduler tcp://HOST:PORT] [--biller CODE] [--size A4|A5]``: the cycle.
* ``qrpay render --bill BILL_NO -o FILE.pdf [--png]``: one bill (and a PNG preview);
  ``-o FILE.png`` writes the PNG preview only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

from qrpay.errors import RenderError, ValidationError


def register(sub: Any) -> None:
    p = sub.add_parser("render", help="render e-bills (PDF) for a period or one bill",
                       description="Render bilingual PDF e-bills with the payment QR.")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--period", metavar="YYYY-MM", help="render every bill of this period")
    what.add_argument("--bill", metavar="BILL_NO", help="render one bill")
    p.add_argument("--out", metavar="DIR", help="output folder for --period")
    p.add_argument("-o", "--output", metavar="FILE.pdf", help="output file for --bill")
    p.add_argument("--png", action="store_true", help="with --bill: also write FILE.png")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="worker processes (default: one per core)")
    p.add_argument("--books", action="store_true",
                   help="also write one print book per billing book under DIR/books/")
    p.add_argument("--verify", choices=("none", "sample", "all"), default="none",
                   help="decode the printed QR back from the page (sample: 1 in 50)")
    p.add_argument("--resume", action="store_true", help="finish an interrupted run in DIR")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run the chunks as tasks on this Dask scheduler")
    p.add_argument("--biller", metavar="CODE", help="only this biller (default: all)")
    p.add_argument("--size", choices=("A4", "A5"), default="A4", help="paper size")
    p.add_argument("--on", metavar="YYYY-MM-DD",
                   help="QR amount as due on this day (default: the amount by the due date)")
    p.add_argument("--chunk-size", type=int, default=200, help=argparse.SUPPRESS)
    p.add_argument("--test-break-qr", action="append", default=[], metavar="BILL_NO",
                   help=argparse.SUPPRESS)  # test hook: print an unreadable QR
    p.set_defaults(func=handler)


def _on(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"--on {text!r} is not a date YYYY-MM-DD", code="invalid_date",
                              field="on") from None


def handler(args: argparse.Namespace, ctx: Any) -> int:
    if args.bill:
        return one_bill(args, ctx)
    return cycle(args, ctx)


def one_bill(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.bills import get_bill
    from qrpay.digits import to_ascii
    from qrpay.ebill.render import png_preview, render_bill

    if not args.output:
        raise ValidationError("--bill needs -o FILE.pdf", code="missing_output", field="output")
    target = Path(args.output)
    kind = target.suffix.lower()
    if kind not in (".pdf", ".png"):
        raise ValidationError(f"-o {args.output}: the file must end in .pdf (the bill) or .png "
                              "(a preview of its page)", code="bad_output", field="output")
    with ctx.store.connect() as conn:
        bill = get_bill(conn, to_ascii(args.bill).strip())
    from qrpay.biller.howto import howto

    rendered = render_bill(bill, ctx.config.biller(bill.biller), ctx.config, size=args.size,
                           on=_on(args.on), howto=howto)
    target.parent.mkdir(parents=True, exist_ok=True)
    if kind == ".png":
        print(f"wrote {png_preview(rendered.pdf, target)}", file=ctx.out)
        return 0
    from qrpay.ebill.batch import write_atomic

    write_atomic(target, rendered.pdf)
    print(f"wrote {target} ({len(rendered.pdf):,} bytes)", file=ctx.out)
    if args.png:
        png = png_preview(rendered.pdf, target.with_suffix(".png"))
        print(f"wrote {png}", file=ctx.out)
    return 0


def cycle(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.biller.howto import howto
    from qrpay.ebill import batch

    if not args.out:
        raise ValidationError("--period needs --out DIR", code="missing_output", field="out")
    period = args.period
    if len(period) != 7 or period[4] != "-" or not (period[:4] + period[5:]).isdigit():
        raise ValidationError(f"--period {period!r} is not YYYY-MM", code="invalid_period",
                              field="period")
    config = ctx.config
    billers = (config.biller(args.biller).code,) if args.biller else tuple(config.billers)
    job = batch.Job(config=config, out=str(Path(args.out).resolve()), period=period,
                    billers=billers, books=args.books, verify=args.verify, size=args.size,
                    on=_on(args.on), break_qr=frozenset(args.test_break_qr), howto=howto)
    store = ctx.store
    with store.connect() as conn:
        total = batch.count_bills(conn, job)
    if total == 0:
        raise RenderError(f"no bills for {period}" + (f" of {args.biller}" if args.biller
                                                       else ""), code="no_bills",
                          field="period")
    summary = _run_with_bar(store, job, args, total, ctx)
    _print_summary(summary, job, ctx)
    if summary.failures:
        for bill_no, problem in summary.failures:
            print(f"verify failed: {bill_no}: {problem}", file=ctx.err)
        raise RenderError(f"{len(summary.failures)} bill(s) failed QR verification: "
                          + ", ".join(b for b, _ in summary.failures[:20]),
                          code="verify_failed")
    return 0


def _run_with_bar(store: Any, job: Any, args: argparse.Namespace, total: int,
                  ctx: Any) -> Any:
    from tqdm import tqdm

    from qrpay.ebill import batch

    stream = getattr(ctx, "err", sys.stderr)
    with tqdm(total=total, unit="bill", desc=f"render {job.period}", file=stream,
              mininterval=0.5, smoothing=0.1, dynamic_ncols=True) as bar:
        return batch.run(store, job, workers=args.workers, resume=args.resume,
                         scheduler=args.scheduler, chunk_size=args.chunk_size,
                         progress=bar.update)


def _print_summary(s: Any, job: Any, ctx: Any) -> None:
    out = ctx.out
    print(f"bills: {s.bills:,} ({s.rendered:,} rendered, {s.resumed:,} already done)",
          file=out)
    print(f"without QR (nothing due): {s.no_qr:,}", file=out)
    if job.books:
        print(f"print books: {s.books:,}", file=out)
    if job.verify != "none":
        earlier = (f" (and {s.verified_before:,} by the interrupted run)"
                   if s.verified_before else "")
        print(f"QR verified: {s.verified:,}, failed: {len(s.failures):,}{earlier}", file=out)
    print(f"time: {s.seconds:.1f} s, {s.rate:,.0f} bills/s", file=out)
    print(f"manifest: {Path(job.out) / 'manifest.csv'}", file=out)
