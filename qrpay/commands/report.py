"""``qrpay report collections|arrears|consumers``: the finance team's reports."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

FORMATS = ("table", "csv", "xlsx", "pdf", "png", "svg")


def register(sub: Any) -> None:
    p = sub.add_parser("report", help="collection, arrears and consumer reports")
    rsub = p.add_subparsers(dest="report_command", required=True, metavar="REPORT")
    col = rsub.add_parser("collections", help="collections in a month (default: the "
                                              "KESCO table, by payment mode)")
    col.add_argument("--period", required=True, help="YYYY-MM")
    col.add_argument("--by", default="mode", choices=("mode", "channel", "day", "biller",
                                                      "category", "area", "counter",
                                                      "cashier"))
    col.add_argument("--check", action="store_true",
                     help="also sum the ledger directly and fail if the report differs")
    col.add_argument("--chart", default="per_day",
                     choices=("per_day", "share", "digital_vs_target"),
                     help="which chart --format png/svg draws")
    _common(col)
    col.set_defaults(func=collections_cmd)
    arr = rsub.add_parser("arrears", help="owed after the latest bill's due date, by area "
                                          "and billing book")
    arr.add_argument("--as-of", type=dt.date.fromisoformat, help="YYYY-MM-DD (default today)")
    _common(arr)
    arr.set_defaults(func=arrears_cmd)
    con = rsub.add_parser("consumers", help="accounts by category and area")
    _common(con)
    con.set_defaults(func=consumers_cmd)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--biller", help="biller code (default: the profile's first)")
    p.add_argument("--format", default="table", choices=FORMATS)
    p.add_argument("--lang", choices=("en", "hi", "bn"),
                   help="language (default: the biller's first of en/hi/bn)")
    p.add_argument("-o", "--output", type=Path,
                   help="file to write (required for xlsx, pdf, png, svg)")


def _lang(args: argparse.Namespace, ctx: Any) -> str:
    if args.lang:
        return str(args.lang)
    biller = ctx.config.biller(args.biller)
    return next((lang for lang in biller.languages if lang in ("en", "hi", "bn")), "en")


def _emit(args: argparse.Namespace, ctx: Any, table: Any, lang: str,
          draw: Any = None, pdf: Any = None) -> int:
    from qrpay.errors import ValidationError
    from qrpay.reports import output

    if args.format == "table":
        ctx.out.write(output.to_text(table, lang))
        return 0
    if args.format == "csv":
        text = output.to_csv(table, lang)
        if args.output:
            args.output.write_text(text, encoding="utf-8")
        else:
            ctx.out.write(text)
        return 0
    if not args.output:
        raise ValidationError(f"--format {args.format} needs -o FILE", code="missing_output",
                              field="output")
    if args.format == "xlsx":
        output.to_xlsx(table, args.output, lang)
    elif args.format in ("png", "svg"):
        if draw is None:
            raise ValidationError("this report has no chart", code="no_chart", field="format")
        draw(args.output)
    elif args.format == "pdf":
        if pdf is None:
            raise ValidationError("this report has no PDF", code="no_pdf", field="format")
        pdf(args.output)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def collections_cmd(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.errors import Conflict
    from qrpay.reports import charts, output, pdf, rollup
    from qrpay.reports.collections import collections, ledger_figure

    rollup.catch_up(ctx.store, ctx.config)
    lang = _lang(args, ctx)
    with ctx.store.connect() as conn:
        report = collections(conn, ctx.config, args.period, by=args.by, biller=args.biller)
        if args.check:
            for code in report.billers:
                direct = ledger_figure(conn, ctx.config, code, args.period)
                mine = collections(conn, ctx.config, args.period, biller=code).total
                if direct != mine:
                    raise Conflict(f"{code}: report {mine} != ledger {direct}",
                                   code="report_mismatch")
        month = pdf.MonthData.load(conn, ctx.config, report) if args.format == "pdf" else None
    table = output.collections_table(report, lang)

    def draw(path: Path) -> None:
        names = charts.channel_names(ctx.config, lang)
        charts.save(charts.collections_chart(report, args.chart, lang, names), path)

    def make_pdf(path: Path) -> None:
        assert month is not None
        path.write_bytes(pdf.monthly_pdf(month, lang))

    return _emit(args, ctx, table, lang, draw, make_pdf)


def arrears_cmd(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.reports import charts, output
    from qrpay.reports.accounts import arrears
    from qrpay.reports.labels import area_label, word

    biller = ctx.config.biller(args.biller)
    as_of = args.as_of or biller.today()
    lang = _lang(args, ctx)
    with ctx.store.connect() as conn:
        groups = arrears(conn, biller.code, as_of)
    rows = [(area_label(g.keys[0], lang), g.keys[1], g.accounts, g.amount) for g in groups]
    rows.append((word(lang, "total"), "", sum(g.accounts for g in groups),
                 sum(g.amount for g in groups)))
    table = output.simple_table(
        f"{word(lang, 'arrears')} {biller.code} {as_of.isoformat()}",
        (word(lang, "area"), word(lang, "book"), word(lang, "consumers"), word(lang, "amount")),
        ("area", "book", "accounts", "amount"), rows, money=(3,), counts=(2,))

    def draw(path: Path) -> None:
        charts.save(charts.arrears_chart(groups, lang, biller.currency), path)

    return _emit(args, ctx, table, lang, draw)


def consumers_cmd(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.reports import output
    from qrpay.reports.accounts import consumers
    from qrpay.reports.labels import area_label, category_label, word

    biller = ctx.config.biller(args.biller)
    lang = _lang(args, ctx)
    with ctx.store.connect() as conn:
        groups = consumers(conn, biller.code)
    rows = [(category_label(g.keys[0], lang), area_label(g.keys[1], lang), g.accounts)
            for g in groups]
    rows.append((word(lang, "total"), "", sum(g.accounts for g in groups)))
    table = output.simple_table(f"{word(lang, 'consumers')} {biller.code}",
                                (word(lang, "category"), word(lang, "area"),
                                 word(lang, "number")), ("category", "area", "accounts"),
                                rows, counts=(2,))
    return _emit(args, ctx, table, lang)
