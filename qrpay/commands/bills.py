"""``qrpay bills import FILE``, ``qrpay bills show NUMBER`` and ``qrpay bills list``.

``show`` and ``list`` find bills the way the counter desk does (:mod:`qrpay.desk.lookup`):
by bill, account (consumer), meter or mobile number, in any digits.
"""

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
    show = bsub.add_parser("show", help="print one bill (by bill, account, meter or mobile "
                           "number: an account's latest bill, and its earlier unpaid ones)")
    show.add_argument("bill_no", metavar="NUMBER")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=show_cmd)
    lst = bsub.add_parser("list", help="list the bills of an account, meter or mobile number")
    which = lst.add_mutually_exclusive_group(required=True)
    which.add_argument("--account", help="account (consumer) number")
    which.add_argument("--mobile", help="mobile number, any format")
    which.add_argument("--meter", help="meter number")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=list_cmd)
    link = bsub.add_parser("link", help="print the bill-page URL (with token) of the SMS and "
                                        "the link under the QR")
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


def _find(ctx: Any, conn: Any, text: str) -> Any:
    from qrpay.desk.lookup import find_anywhere, require

    return require(find_anywhere(conn, list(ctx.config.billers.values()), text), text)


def show_cmd(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.errors import Conflict
    from qrpay.money import format_amount

    with ctx.store.connect() as conn:
        found = _find(ctx, conn, args.bill_no)
        if len(found.accounts) > 1:
            raise Conflict(f"{args.bill_no} matches accounts {', '.join(found.accounts)}: "
                           "use qrpay bills list", code="several_accounts", field="number")
        bill, *older = found.bills
        status = _status(conn, bill, ctx)
        unpaid = [b for b in older if (_status(conn, b, ctx) or {}).get("due_now", 0) > 0]
    if args.json:
        out = bill.as_dict()
        if status is not None:
            out["status"] = status
        if unpaid:
            out["earlier_unpaid"] = [b.bill_no for b in unpaid]
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
        rows.append(("due_now", format_amount(status.get("due_now", 0), currency=cur)))
    if unpaid:
        rows.append(("earlier_unpaid", " ".join(b.bill_no for b in unpaid)))
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

    biller = ctx.config.biller(bill.biller)
    status = bill_status(conn, bill, biller.today(), biller.late_payment.grace_days)
    out = dataclasses.asdict(status) if dataclasses.is_dataclass(status) else dict(status)
    return json.loads(json.dumps(out, default=str))


LIST_COLUMNS = ("bill_no", "period", "due_date", "amount", "due_now", "state", "account_no",
                "name")


def list_cmd(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.errors import ValidationError
    from qrpay.money import format_amount

    text = args.account or args.mobile or args.meter
    kind = "account" if args.account else "mobile" if args.mobile else "meter"
    with ctx.store.connect() as conn:
        found = _find(ctx, conn, text)
        if found.kind not in (kind, "bill_no"):
            raise ValidationError(f"{text} is a {found.kind} number, not a {kind} number",
                                  code="not_found_as", field=kind)
        rows = [(b, _status(conn, b, ctx) or {}) for b in found.bills]
    if args.json:
        print(json.dumps([{**b.as_dict(), "status": st} for b, st in rows],
                         ensure_ascii=False, indent=2), file=ctx.out)
        return 0
    table = [LIST_COLUMNS]
    for b, st in rows:
        cur = ctx.config.biller(b.biller).currency
        table.append((b.bill_no, b.period, b.due_date.isoformat(),
                      format_amount(b.amount, currency=cur),
                      format_amount(st.get("due_now", 0), currency=cur), st.get("state", ""),
                      b.account_no, b.name))
    widths = [max(len(str(r[i])) for r in table) for i in range(len(LIST_COLUMNS))]
    for r in table:
        print("  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)).rstrip(),
              file=ctx.out)
    return 0


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
