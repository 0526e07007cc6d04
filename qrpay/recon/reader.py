"""Settlement files row by row: CSV (UTF-8, BOM allowed), XLSX (first sheet) and JSON
Lines.  Each yields ``(row number, {column: value})``, header names lower-cased; CSV and
XLSX rows count from 2 (row 1 is the header), JSON Lines from 1.

Values keep the type the file gave them: text from CSV; text, int, float, date or
datetime from XLSX (openpyxl); str, int, Decimal (never float: ``parse_float=Decimal``),
bool or nested objects from JSON.  :mod:`qrpay.recon.formats` turns them into money.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from qrpay.errors import ImportError_

Row = tuple[int, dict[str, Any]]
SUFFIXES = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".jsonl": "jsonl",
            ".ndjson": "jsonl", ".json": "jsonl"}


def kind_of(path: Path) -> str:
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ImportError_(f"unknown file type {path.suffix!r}: use .csv, .xlsx or .jsonl",
                           code="unknown_file_type", file=str(path))
    return kind


def rows(path: Path) -> Iterator[Row]:
    kind = kind_of(path)
    if kind == "csv":
        yield from _csv_rows(path)
    elif kind == "xlsx":
        yield from _xlsx_rows(path)
    else:
        yield from _jsonl_rows(path)


def _header(cells: list[Any], path: Path) -> list[str]:
    header = [str(c).strip().lower() if c is not None else "" for c in cells]
    seen: set[str] = set()
    for h in header:
        if h and h in seen:
            raise ImportError_(f"column {h!r} appears twice", code="duplicate_column",
                               file=str(path), row=1, column=h)
        seen.add(h)
    return header


def _csv_rows(path: Path) -> Iterator[Row]:
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        reader = csv.reader(text)
        try:
            first = next(reader, None)
            if first is None:
                raise ImportError_("the file is empty", code="empty_file", file=str(path))
            header = _header(first, path)
            for row in reader:
                if not row or all(not c.strip() for c in row):
                    continue
                if len(row) != len(header):
                    raise ImportError_(f"row has {len(row)} fields, the header has "
                                       f"{len(header)}", code="wrong_field_count",
                                       file=str(path), row=reader.line_num)
                yield reader.line_num, dict(zip(header, row, strict=True))
        except csv.Error as exc:
            raise ImportError_(f"bad CSV: {exc}", code="bad_csv", file=str(path),
                               row=reader.line_num) from None
        except UnicodeDecodeError as exc:
            raise ImportError_(f"not UTF-8 text ({exc.reason})", code="bad_encoding",
                               file=str(path), row=reader.line_num + 1) from None


def _xlsx_rows(path: Path) -> Iterator[Row]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
        raise ImportError_(f"not a readable XLSX workbook: {exc}", code="bad_xlsx",
                           file=str(path)) from None
    try:
        sheet = book.worksheets[0]
        it = sheet.iter_rows(values_only=True)
        first = next(it, None)
        if first is None:
            raise ImportError_("the workbook's first sheet is empty", code="empty_file",
                               file=str(path))
        header = _header(list(first), path)
        for n, cells in enumerate(it, start=2):
            values = list(cells) + [None] * (len(header) - len(cells))
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            yield n, {h: v for h, v in zip(header, values, strict=False) if h}
    finally:
        book.close()


def _jsonl_rows(path: Path) -> Iterator[Row]:
    with path.open("rb") as raw:
        for n, line in enumerate(raw, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line.decode("utf-8-sig"), parse_float=Decimal)
            except UnicodeDecodeError as exc:
                raise ImportError_(f"not UTF-8 text ({exc.reason})", code="bad_encoding",
                                   file=str(path), row=n) from None
            except json.JSONDecodeError as exc:
                raise ImportError_(f"not valid JSON: {exc.msg}", code="bad_json",
                                   file=str(path), row=n) from None
            if not isinstance(obj, dict):
                raise ImportError_("each line must be a JSON object", code="bad_json",
                                   file=str(path), row=n)
            yield n, {str(k).lower(): v for k, v in obj.items()}


def count_rows(path: Path) -> int:
    """About how many rows the file has (for a progress bar's total)."""
    if kind_of(path) == "xlsx":
        return 0
    n = 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            n += chunk.count(b"\n")
    return max(n - 1, 0) if kind_of(path) == "csv" else n
