"""``qrpay recon import FILE --channel NAME``, ``qrpay recon poll``, ``qrpay recon
exceptions`` and ``qrpay recon resolve``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("recon", help="reconcile settlement files and channel status APIs")
    rsub = p.add_subparsers(dest="recon_command", required=True, metavar="ACTION")
    imp = rsub.add_parser("import", help="import a settlement or MIS file (CSV, XLSX, JSONL)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--channel", required=True, help="the channel the file comes from")
    imp.add_argument("--format", dest="format_name",
                     help="column map: razorpay, cashfree, generic (default: the profile's)")
    imp.add_argument("--dry-run", action="store_true", help="match and report, write nothing")
    imp.add_argument("--json", action="store_true", help="print the report as JSON")
    imp.add_argument("--no-progress", action="store_true", help="no progress bar")
    imp.set_defaults(func=import_cmd)
    poll = rsub.add_parser("poll", help="ask the channels' status APIs about pending payments")
    poll.add_argument("--channel", action="append", help="only this channel (repeatable)")
    poll.add_argument("--json", action="store_true")
    poll.set_defaults(func=poll_cmd)
    exc = rsub.add_parser("exceptions", help="list the open exceptions")
    exc.add_argument("--all", action="store_true", help="closed ones too")
    exc.add_argument("--json", action="store_true")
    exc.set_defaults(func=exceptions_cmd)
    one = rsub.add_parser("payment", help="what reconciliation knows of one transaction")
    one.add_argument("txn_id")
    one.add_argument("--channel", required=True)
    one.add_argument("--json", action="store_true")
    one.set_defaults(func=payment_cmd)
    ref = rsub.add_parser("refunds", help="money owed back to consumers (refunds due)")
    ref.add_argument("--biller")
    ref.add_argument("--json", action="store_true")
    ref.set_defaults(func=refunds_cmd)
    res = rsub.add_parser("resolve", help="act on an exception (audited; nothing is deleted)")
    res.add_argument("exception_id", type=int)
    res.add_argument("action", choices=("post", "refund", "write_off", "link"))
    res.add_argument("--reason", required=True)
    res.add_argument("--bill", help="the other bill, for link")
    res.add_argument("--actor", default="cli")
    res.set_defaults(func=resolve_cmd)


def import_cmd(args: argparse.Namespace, ctx: Any) -> int:
    from tqdm import tqdm

    from qrpay.recon.importer import import_settlement
    from qrpay.recon.reader import count_rows

    bar = None
    if not args.no_progress and args.file.is_file() and args.file.suffix.lower() in (
            ".csv", ".jsonl", ".ndjson", ".json", ".xlsx", ".txt"):
        total = count_rows(args.file)
        bar = tqdm(total=total or None, unit="line", unit_scale=total >= 10000,
                   desc=f"recon {args.file.name}", file=sys.stderr, dynamic_ncols=True)

    def progress(lines: int) -> None:
        if bar is not None:
            bar.update(lines - bar.n)

    try:
        report = import_settlement(ctx.store, ctx.config, args.file, args.channel,
                                   format_name=args.format_name, dry_run=args.dry_run,
                                   progress=progress)
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2), file=ctx.out)
        return 0 if report.ok else 2
    _print_report(report, args.dry_run, ctx)
    return 0 if report.ok else 2


def _print_report(report: Any, dry_run: bool, ctx: Any) -> None:
    for e in report.errors:
        print(f"error[{e.code}]: {e}", file=ctx.err)
    if report.more_errors:
        print(f"... and {report.more_errors} more errors", file=ctx.err)
    if not report.ok:
        print(f"nothing written: {len(report.errors) + report.more_errors} error(s) in "
              f"{report.file}", file=ctx.err)
        return
    if report.already_imported is not None:
        print(f"{report.file}: already imported (file {report.already_imported}); "
              "nothing changed", file=ctx.out)
        return
    verb = "would reconcile" if dry_run else "reconciled"
    print(f"{verb} {report.file} ({report.format}, channel {report.channel}): "
          f"{report.lines} lines", file=ctx.out)
    for outcome, n in sorted(report.counts.items()):
        if n:
            print(f"  {outcome:<20} {n}", file=ctx.out)
    bad = [s for s in report.settlements if not s["ok"]]
    print(f"  settlements checked: {len(report.settlements)}, net != gross - fee - tax: "
          f"{len(bad)}", file=ctx.out)


def poll_cmd(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.recon.poll import poll_channels

    result = poll_channels(ctx.store, ctx.config, channels=args.channel)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2), file=ctx.out)
    else:
        print(result.summary(), file=ctx.out)
    return 0


def exceptions_cmd(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.recon.queue import list_exceptions

    with ctx.store.connect() as conn:
        items = list_exceptions(conn, state=None if args.all else "open")
    if args.json:
        print(json.dumps([i.as_dict() for i in items], ensure_ascii=False, indent=2),
              file=ctx.out)
        return 0
    for i in items:
        print(f"{i.id:>6}  {i.state:<6} {i.outcome:<18} {i.channel:<10} {i.txn_id or '-':<24} "
              f"{i.bill_no or '-':<16} {i.amount_text:>12}  -> {i.suggested}  {i.message}",
              file=ctx.out)
    print(f"{len(items)} exception(s)", file=ctx.out)
    return 0


def payment_cmd(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.recon.queue import payment_history

    with ctx.store.connect() as conn:
        h = payment_history(conn, args.channel, args.txn_id)
    if args.json:
        print(json.dumps(h, ensure_ascii=False, indent=2), file=ctx.out)
        return 0
    p = h["payment"]
    print(f"{h['channel']} {h['txn_id']}: " + (
        f"payment {p['status']}, bill {p['bill_no']}, {p['amount']}, receipt "
        f"{p['receipt_no'] or '-'}" if p else "no payment here"), file=ctx.out)
    for ln in h["lines"]:
        print(f"  {ln['file']}:{ln['line']}  {ln['kind']:<8} {ln['outcome']:<18} "
              f"{ln['amount']:>12}  fee {ln['fee']} tax {ln['tax']}  "
              f"settlement {ln['settlement_id'] or '-'}", file=ctx.out)
    for e in h["exceptions"]:
        print(f"  exception {e['id']} {e['outcome']} ({e['state']}) -> {e['suggested']}"
              f"{': ' + e['reason'] if e['reason'] else ''}", file=ctx.out)
    return 0


def refunds_cmd(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.money import format_amount
    from qrpay.recon.queue import refunds_list

    with ctx.store.connect() as conn:
        items = refunds_list(conn, args.biller)
    if args.json:
        print(json.dumps([i.as_dict() for i in items], ensure_ascii=False, indent=2),
              file=ctx.out)
        return 0
    for i in items:
        print(f"{i.created_at:%Y-%m-%d}  {i.source:<10} {i.bill_no or '-':<16} "
              f"{i.account_no or '-':<12} {format_amount(i.amount):>14}  {i.reason}",
              file=ctx.out)
    total = sum(i.amount for i in items)
    print(f"{len(items)} refund(s) due, {format_amount(total)}", file=ctx.out)
    return 0


def resolve_cmd(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.recon.queue import act

    with ctx.store.begin() as conn:
        done = act(conn, ctx.config, args.exception_id, args.action, actor=args.actor,
                   reason=args.reason, bill_no=args.bill)
    print(f"exception {args.exception_id}: {done}", file=ctx.out)
    return 0


def periodic_pass(store: Any, config: Any) -> str:
    """One pass of the worker's periodic recon work: fold the ledger into the daily
    totals, then ask the channels' status APIs about pending payments."""
    from qrpay.recon.poll import poll_channels
    from qrpay.reports.rollup import catch_up

    moved = catch_up(store, config)
    polled = poll_channels(store, config)
    return f"rollup +{moved} ledger ids; poll {polled.summary()}"


def run_periodic(store: Any, config: Any, stop: Any, interval: float) -> None:
    """Until ``stop`` is set: :func:`periodic_pass` every ``interval`` seconds (errors are
    logged and the loop goes on)."""
    import logging

    log = logging.getLogger("qrpay.recon")
    while not stop.is_set():
        try:
            log.info(periodic_pass(store, config))
        except Exception:  # keep the worker alive; the next pass retries
            log.exception("periodic recon pass failed")
        stop.wait(interval)
