"""Reports as text tables, CSV and XLSX.

Text tables are for people: labels in the report's language, counts and amounts in
lakh/crore grouping (``22,75,63,750.00``), Bengali digits in Bengali reports.  CSV and
XLSX are for spreadsheets: keys as well as labels, amounts as plain decimals (CSV) or
numbers with two decimals (XLSX), always ASCII digits.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from qrpay.digits import localise
from qrpay.money import format_amount, group_indian, to_decimal_str
from qrpay.reports.collections import CollectionReport, Figure, change
from qrpay.reports.labels import area_label, category_label, mode_label, numerals_for, word


@dataclass(frozen=True)
class Table:
    """A report as rows of text cells, the first row the header; ``money`` marks the
    columns holding minor units (formatted per output)."""

    title: str
    header: tuple[str, ...]
    keys: tuple[str, ...]
    rows: tuple[tuple[str | int, ...], ...]
    money: frozenset[int]
    counts: frozenset[int]
    notes: tuple[str, ...] = ()
    row_keys: tuple[str, ...] = ()  # a machine key per row (CSV's first column)


def key_label(by: str, key: str, lang: str, names: dict[str, str] | None = None) -> str:
    if by == "mode":
        return mode_label(key, lang)
    if by == "category":
        return category_label(key, lang)
    if by == "area":
        return area_label(key, lang)
    if by == "cashier":
        return (names or {}).get(key, key if key != "0" else "-")
    return key or "-"


def count_text(n: int, lang: str) -> str:
    sign = "-" if n < 0 else ""
    return localise(sign + group_indian(abs(n)), numerals_for(lang))


def money_text(minor: int, lang: str) -> str:
    return format_amount(minor, numerals=numerals_for(lang))


def pct_text(value: Decimal | None, lang: str, signed: bool = False) -> str:
    if value is None:
        return "-"
    text = (f"{value:+}" if signed else f"{value}") + "%"
    return localise(text, numerals_for(lang))


def collections_table(r: CollectionReport, lang: str) -> Table:
    rows: list[tuple[str | int, ...]] = []
    for ln in r.lines:
        rows.append((key_label(r.by, ln.key, lang, r.names), ln.figure.count, ln.figure.amount))
    rows.append((word(lang, "total"), r.total.count, r.total.amount))
    sym = {"INR": "₹", "BDT": "৳"}.get(r.currency, r.currency)
    return Table(
        title=f"{word(lang, 'collections')} {r.period} ({', '.join(r.billers)})",
        header=(word(lang, r.by), word(lang, "number"), f"{word(lang, 'amount')} ({sym})"),
        keys=(r.by, "count", "amount"), rows=tuple(rows), money=frozenset({2}),
        counts=frozenset({1}), notes=tuple(_notes(r, lang)),
        row_keys=tuple(ln.key for ln in r.lines) + ("total",))


def _notes(r: CollectionReport, lang: str) -> list[str]:
    target = pct_text(r.target_percent, lang) if r.target_percent is not None else "-"
    return [
        f"{word(lang, 'digital_share')}: {pct_text(r.digital_percent, lang)} "
        f"({count_text(r.digital.count, lang)} / {count_text(r.total.count, lang)}); "
        f"{word(lang, 'target')}: {target}",
        _versus(lang, "mom", "previous", r.total, r.previous),
        _versus(lang, "yoy", "last_year", r.total, r.last_year),
        f"{word(lang, 'settled')}: {money_text(r.settled.amount, lang)} "
        f"({count_text(r.settled.count, lang)}); {word(lang, 'unsettled')}: "
        f"{money_text(r.unsettled.amount, lang)} ({count_text(r.unsettled.count, lang)})",
    ]


def _versus(lang: str, label: str, name: str, now: Figure, before: Figure) -> str:
    return (f"{word(lang, label)}: {word(lang, 'number')} "
            f"{pct_text(change(now.count, before.count), lang, signed=True)}, "
            f"{word(lang, 'amount')} {pct_text(change(now.amount, before.amount), lang, True)} "
            f"({word(lang, name)}: {count_text(before.count, lang)}, "
            f"{money_text(before.amount, lang)})")


# ----------------------------------------------------------------------- writers

def _cell(table: Table, i: int, value: str | int, lang: str) -> str:
    if isinstance(value, int) and i in table.money:
        return money_text(value, lang)
    if isinstance(value, int) and i in table.counts:
        return count_text(value, lang)
    return str(value)


def _width(text: str) -> int:
    """Columns a string takes in a terminal: combining marks and viramas take none."""
    import unicodedata

    return sum(0 if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Mc", "Cf")
               else 1 for c in text)


def to_text(table: Table, lang: str) -> str:
    cells = [list(table.header)] + [[_cell(table, i, v, lang) for i, v in enumerate(row)]
                                    for row in table.rows]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(table.header))]
    lines = [table.title, ""]
    for n, row in enumerate(cells):
        parts = []
        for i, text in enumerate(row):
            pad = " " * (widths[i] - _width(text))
            parts.append(text + pad if i == 0 else pad + text)
        lines.append("  ".join(parts).rstrip())
        if n == 0 or n == len(cells) - 2:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines + [""] + list(table.notes)) + "\n"


def to_csv(table: Table, lang: str) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(table.keys + ("label",))
    for n, row in enumerate(table.rows):
        values = [to_decimal_str(v) if isinstance(v, int) and i in table.money else v
                  for i, v in enumerate(row)]
        if table.row_keys:
            values[0] = table.row_keys[n]
        w.writerow(values + [row[0]])
    return out.getvalue()


def to_xlsx(table: Table, path: Path | io.BytesIO, lang: str) -> None:
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "report"
    sheet.append([table.title])
    sheet["A1"].font = Font(bold=True)
    sheet.append(list(table.header))
    for row in table.rows:
        sheet.append([Decimal(v) / 100 if isinstance(v, int) and i in table.money else v
                      for i, v in enumerate(row)])
        r = sheet.max_row
        for i in table.money:
            sheet.cell(row=r, column=i + 1).number_format = "#,##,##0.00"
    for note in table.notes:
        sheet.append([note])
    book.save(path)


def simple_table(title: str, header: Sequence[str], keys: Sequence[str],
                 rows: Sequence[tuple[str | int, ...]], money: Sequence[int] = (),
                 counts: Sequence[int] = ()) -> Table:
    return Table(title=title, header=tuple(header), keys=tuple(keys), rows=tuple(rows),
                 money=frozenset(money), counts=frozenset(counts))
