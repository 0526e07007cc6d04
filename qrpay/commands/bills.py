"""``qrpay bills import FILE`` and ``qrpay bills show BILL_NO``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("bills", help="import and inspect bills")
    bsub = p.add_subparsers(dest="bills_command", required=True, metavar="ACTION")
    imp = bsub.add_parser("import", help="import a bill file (CSV or JSON Lines)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--dry-run", action="store_true", help="validate only, write nothing")
    imp.add_argument("--replace", action="store_true",
                     help="replace stored bills whose content differs")
    imp.add_argument("--json", action="store_true", help="print the report as JSON")
    imp.add_argument("--no-progress", action="store_true", help="no progress bar")
    imp.set_defaults(func=import_cmd)
    show = bsub.add_parser("show", help="print one bill")
    show.add_argument("bill_no")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=show_cmd)
    link = bsub.add_parser("link", help="print the bill-page URL (with token) the QR opens")
    link.add_argument("bill_no")
    link.add_argument("--base", help="another base URL, e.g. http://127.0.0.1:8000")
    link.set_defaults(func=link_cmd)


def import_cmd(args: argparse.Namespace, ctx: Any) -> int:
    from tqdm import tqdm

    from qrpay.importer import count_rows, import_bills

    bar = None
    if not args.no_progress and args.file.is_file():
        total = count_rows(args.file)
        bar = tqdm(total=total, unit="row", unit_scale=total >= 10000,
                   desc=f"import {args.file.name}", file=sys.stderr, dynamic_ncols=True)

    def progress(rows: int) -> None:
        if bar is not None:
            bar.update(rows - bar.n)

    try:
        report = import_bills(ctx.store, ctx.config, args.file, dry_run=args.dry_run,
                              replace=args.replace, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2), file=ctx.out)
    else:
        for e in report.errors:
            print(f"error[{e.code}]: {e}", file=ctx.err)
        if report.more_errors:
            print(f"... and {report.more_errors} more errors", file=ctx.err)
        verb = "would import" if args.dry_run else "imported"
        if report.ok:
            print(f"{verb} {report.file}: {report.rows} rows, {report.created} new, "
                  f"{report.replaced} replaced, {report.unchanged} unchanged", file=ctx.out)
        else:
            print(f"nothing written: {len(report.errors) + report.more_errors} error(s) in "
                  f"{report.file}", file=ctx.err)
    return 0 if report.ok else 2


def show_cmd(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.bills import get_bill
    from qrpay.digits import to_ascii
    from qrpay.money import format_amount

    with ctx.store.connect() as conn:
        bill = get_bill(conn, to_ascii(args.bill_no).strip())
        status = _status(conn, bill, ctx)
    if args.json:
        out = bill.as_dict()
        if status is not None:
            out["status"] = status
        print(json.dumps(out, ensure_ascii=False, indent=2), file=ctx.out)
        return 0
    cur = ctx.config.biller(bill.biller).currency
    rows = [("bill_no", bill.bill_no), ("biller", bill.biller), ("account_no", bill.account_no),
            ("name", bill.name), ("period", bill.period),
            ("amount", format_amount(bill.amount, currency=cur)),
            ("due_date", bill.due_date.isoformat())]
    if bill.late_amount is not None:
        rows.append(("late_amount", format_amount(bill.late_amount, currency=cur)))
    if bill.arrears:
        rows.append(("arrears", format_amount(bill.arrears, currency=cur)))
    for key in ("mobile", "category", "area", "units", "address", "language", "meter_no"):
        value = getattr(bill, key)
        if value is not None:
            rows.append((key, str(value)))
    if bill.history:
        rows.append(("history", " ".join(map(str, bill.history)) + " kWh"))
    for head, value in bill.charges:
        rows.append((f"  {head}", format_amount(value, currency=cur)))
    if status is not None:
        rows.append(("status", status.get("state", "")))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}", file=ctx.out)
    return 0


def _status(conn: Any, bill: Any, ctx: Any) -> dict[str, Any] | None:
    """The bill's payment status from the ledger, once the payments module is present."""
    try:
        from qrpay.payments.ledger import bill_status
    except ImportError:
        return None
    import dataclasses

    today = ctx.config.biller(bill.biller).today()
    status = bill_status(conn, bill, today)
    out = dataclasses.asdict(status) if dataclasses.is_dataclass(status) else dict(status)
    return json.loads(json.dumps(out, default=str))


def link_cmd(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.bills import get_bill
    from qrpay.digits import to_ascii
    from qrpay.payload import bill_url

    with ctx.store.connect() as conn:
        bill = get_bill(conn, to_ascii(args.bill_no).strip())
    url = bill_url(bill, ctx.config.biller(bill.biller), ctx.config, bill.amount)
    if args.base:
        url = args.base.rstrip("/") + url[url.index("/b/"):]
    print(url, file=ctx.out)
    return 0
