"""The importer's columnar path accepts a row only when the full checks give the same bill.

Rows are checked as polars columns (``qrpay.importer_columns``); a row in any unusual form
goes to the per-row checks instead.  These tests hold the columnar path to the full
checks: every row it accepts must be accepted by ``parse_row_errors`` with the same stored
row, byte for byte (content hash included); its CSV reading must equal the csv module's;
and a whole import must write the same rows and report the same errors either way."""

from __future__ import annotations

import csv
import io
import json
import random
import re
import sqlite3
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qrpay import importer, importer_columns, samplegen
from qrpay.config import load_config
from qrpay.store import Store

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_import_fast import ODD as FAST_ODD  # noqa: E402

ODD = FAST_ODD + ["two  spaces", "a\tb", "नाम  दो", "x\u00a0y", "0012.00", "-0.00",
                  "1;02;3", "energy=01.00", "Energy=1.00", "a0=1.00", "B-2611", "0981234567",
                  '"quoted"', "back\\slash", "x\x1fy"]

CONFIGS = {p: load_config(ROOT / "samples" / f"{p}.toml") for p in ("best", "breb")}
# Characters that make values unusual in every way the rules care about.
TRICKY = (" \t\u00a0\u2003\u3000\x1c\x85\u200b\"\\,;=.-+_/:#'" "0123456789০১২৩৪৫৬৭৮৯०१२३४५६७८९"
          "abcxyzABCXYZ" "कখ²")


def _rows(profile: str, n: int, seed: int = 7) -> list[dict[str, str]]:
    billers = ("dhaka-pbs-1", "khulna-pbs") if profile == "breb" else ()
    return [{k: str(v) for k, v in row.items()}
            for row in samplegen.rows(profile, n, seed=seed, billers=billers)]


def _frame(rows: list[dict[str, str]]) -> pl.DataFrame:
    return pl.DataFrame({c: [r.get(c, "") for r in rows] for c in importer.COLUMNS},
                        schema={c: pl.String for c in importer.COLUMNS})


def _check_rows(profile: str, rows: list[dict[str, str]]) -> int:
    """Every row the columnar path accepts: the full checks accept it, with the same
    stored row.  Returns how many it accepted."""
    config = CONFIGS[profile]
    checked = importer_columns.ColumnChecks(config).check(_frame(rows))
    stored = checked.stored.rows(named=True)
    assert len(stored) + len(checked.unusual) == len(rows)
    for got in stored:
        raw = rows[got["line"]]
        bill, errors = importer.parse_row_errors(raw, config)
        assert not errors, (raw, errors)
        assert bill is not None
        want = dict(zip(importer_columns.SCHEMA, importer._stored_row(bill, got["line"]),
                        strict=True))
        assert got == want, raw
    return len(stored)


@pytest.mark.parametrize("profile", ["best", "breb"])
def test_columnar_rows_equal_full_checks(profile: str) -> None:
    rng = random.Random(5)
    rows = []
    for raw in _rows(profile, 300):
        rows.append(raw)
        for _ in range(6):
            bent = dict(raw)
            bent[rng.choice(importer.COLUMNS)] = rng.choice(ODD)
            rows.append(bent)
    accepted = _check_rows(profile, rows)
    assert accepted > 300  # the columnar path takes the ordinary rows


def test_columnar_path_takes_every_ordinary_sample_row() -> None:
    rows = _rows("best", 200)[10:]  # the first ten carry the awkward forms
    assert _check_rows("best", rows) == len(rows)


_value = st.one_of(st.sampled_from(ODD), st.text(alphabet=TRICKY, max_size=14))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["best", "breb"]),
       st.lists(st.tuples(st.integers(0, 49), st.sampled_from(importer.COLUMNS), _value,
                          st.booleans()), min_size=1, max_size=40))
def test_columnar_accepts_only_what_the_full_checks_accept(profile: str,
                                                           edits: list[Any]) -> None:
    rows = _rows(profile, 50, seed=11)
    for i, column, value, keep in edits:
        # keep: alter a canonical value slightly (append / prepend), else replace it
        rows[i][column] = (value + rows[i][column] if len(value) % 2 else
                           rows[i][column] + value) if keep else value
    _check_rows(profile, rows)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-10**13 - 5, 10**13 + 5), min_size=1, max_size=30))
def test_amounts_are_minor_units_exactly(amounts: list[int]) -> None:
    """Every amount the columnar path takes is the integer parse_amount gives."""
    rows = _rows("best", len(amounts))
    for row, minor in zip(rows, amounts, strict=True):
        sign = "-" if minor < 0 else ""
        row["amount"] = f"{sign}{abs(minor) // 100}.{abs(minor) % 100:02d}"
        row["charges"] = ""
        row["late_amount"] = ""
    _check_rows("best", rows)


def test_names_the_columnar_path_takes_are_left_alone_by_split_strip_and_json() -> None:
    """Every character: if the columnar path takes a name with it, Python's
    " ".join(split()), strip() and json.dumps leave the name as it is."""
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    names = pl.Series([f"a{ch}b {ch}" for ch in chars], dtype=pl.String)
    taken = pl.DataFrame({"n": names}).filter(importer_columns.words(pl.col("n")))["n"].to_list()
    assert len(taken) > 1_000_000
    for name in taken:
        assert " ".join(name.split()) == name and name.strip() == name, repr(name)
        assert json.dumps(name, ensure_ascii=False) == f'"{name}"', repr(name)


# ---------------------------------------------------------------------------- reading

def _csv_module(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


_field = st.text(alphabet='ab ,"\r\n\tक', max_size=6)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_field, min_size=3, max_size=3), min_size=1, max_size=8),
       st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_reading_a_chunk_equals_the_csv_module(rows: list[list[str]], end: str,
                                               mangle: bool) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator=end).writerows(rows)
    text = out.getvalue()
    if mangle:  # quotes and line ends where a writer would not put them
        text = text.replace('",', '" ,').replace(',"', ',x"', 1)
    df = importer_columns.read_chunk(text.encode(), ["p", "q", "r"])
    if df is None:
        return  # not plain: the csv module reads it
    want = [r for r in _csv_module(text) if r and any(c.strip() for c in r)]
    assert [list(r) for r in df.rows()] == want


# ---------------------------------------------------------------------------- whole imports

def _table(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def _import_both(tmp_path: Path, text: str, profile: str = "best", **kw: Any
                 ) -> tuple[list[Any], list[Any]]:
    path = tmp_path / "bills.csv"
    path.write_text(text, encoding="utf-8", newline="")
    out = []
    for columnar in (True, False):
        db = tmp_path / f"c{columnar}.db"
        db.unlink(missing_ok=True)
        store = Store(f"sqlite:///{db}")
        store.upgrade()
        first = importer.import_bills(store, CONFIGS[profile], path, columnar=columnar, **kw)
        again = importer.import_bills(store, CONFIGS[profile], path, columnar=columnar,
                                      **kw)
        store.dispose()
        out.append([
            first.as_dict() | {"file": ""}, again.as_dict() | {"file": ""},
            _table(db, "SELECT bill_no, biller, account_no, name, period, amount, due_date, "
                   "late_amount, arrears, mobile, category, area, units, address, language, "
                   "meter_no, history, charges, details, content_hash, typeof(due_date), "
                   "length(created_at), created_at = updated_at FROM bills ORDER BY id"),
            _table(db, "SELECT biller, account_no, bill_no, kind, amount, note, "
                   "length(created_at) FROM ledger ORDER BY id")])
    return out[0], out[1]


def _file(rows: list[dict[str, str]], end: str = "\n") -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(importer.COLUMNS), lineterminator=end)
    w.writeheader()
    w.writerows(rows)
    return out.getvalue()


@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_a_clean_file_imports_the_same_either_way(tmp_path: Path, end: str) -> None:
    text = _file(_rows("best", 120), end) + end + end  # trailing blank lines
    columnar, per_row = _import_both(tmp_path, text, batch_size=50)
    assert columnar == per_row
    assert columnar[0]["created"] == 120 and columnar[1]["unchanged"] == 120


def test_errors_duplicates_and_odd_lines_are_the_same_either_way(tmp_path: Path) -> None:
    rows = _rows("best", 90)
    rows[3]["amount"] = "12.345"
    rows[7]["mobile"] = "12345"
    rows[20] = dict(rows[5])  # a duplicate in the same chunk
    rows[70] = dict(rows[6])  # and in a later chunk
    rows[40]["name"] = "  spaced   name "  # unusual but valid
    rows[41]["amount"] = "१,२३४.५०"
    rows[41]["charges"] = ""
    rows[42]["units"] = "abc"
    text = _file(rows)
    lines = text.split("\n")
    lines.insert(30, "")  # a blank line: the csv module reads on from there
    text = "\n".join(lines)
    columnar, per_row = _import_both(tmp_path, text, batch_size=25)
    assert columnar == per_row
    codes = [e["code"] for e in columnar[0]["errors"]]
    assert codes.count("duplicate_bill") == 2 and "too_many_decimals" in codes


def test_a_record_over_two_lines_is_read_by_the_csv_module(tmp_path: Path) -> None:
    rows = _rows("best", 60)
    rows[33]["address"] = "line one\nline two"
    columnar, per_row = _import_both(tmp_path, _file(rows), batch_size=20)
    assert columnar == per_row and columnar[0]["created"] == 60


def test_replace_and_conflicts_are_the_same_either_way(tmp_path: Path) -> None:
    base = _rows("best", 40)
    for replace in (False, True):
        out = []
        for columnar in (True, False):
            db = tmp_path / f"r{replace}{columnar}.db"
            store = Store(f"sqlite:///{db}")
            store.upgrade()
            path = tmp_path / "a.csv"
            path.write_text(_file(base), encoding="utf-8")
            importer.import_bills(store, CONFIGS["best"], path, columnar=columnar)
            changed = [dict(r) for r in base]
            changed[4]["name"] = "नया नाम"
            changed[9]["amount"], changed[9]["charges"] = "10.00", ""
            changed[12] = dict(changed[13])
            path.write_text(_file(changed), encoding="utf-8")
            report = importer.import_bills(store, CONFIGS["best"], path, replace=replace,
                                           columnar=columnar, batch_size=7)
            store.dispose()
            out.append([report.as_dict(),
                        _table(db, "SELECT bill_no, name, amount, content_hash FROM bills "
                               "ORDER BY id"),
                        _table(db, "SELECT bill_no, kind, amount, note FROM ledger "
                               "ORDER BY id")])
        assert out[0] == out[1]


def test_wrong_field_count_and_bad_encoding_are_the_same_either_way(tmp_path: Path) -> None:
    text = _file(_rows("best", 30))
    short = text.replace("\n", "\n1,2,3\n", 12)
    columnar, per_row = _import_both(tmp_path, short)
    assert columnar[0] == per_row[0]
    assert columnar[0]["errors"][-1]["code"] == "wrong_field_count"
    path = tmp_path / "latin.csv"
    path.write_bytes(text.encode()[:2000] + b"\xe9" + text.encode()[2000:])
    reports = []
    for columnar_ in (True, False):
        store = Store(f"sqlite:///{tmp_path / f'e{columnar_}.db'}")
        store.upgrade()
        reports.append(importer.import_bills(store, CONFIGS["best"], path,
                                             columnar=columnar_).errors[-1])
        store.dispose()
    assert reports[0].code == reports[1].code == "bad_encoding"
    assert reports[0].row == reports[1].row and str(reports[0]) == str(reports[1])


def test_an_import_killed_midway_writes_nothing_and_runs_again(tmp_path: Path) -> None:
    """kill -9 of ``qrpay bills import`` while it writes: the store has none of the
    file's bills (one transaction), and the same command then imports them all, once."""
    import os
    import signal
    import subprocess

    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as fh:
        samplegen.write_csv(fh, "best", 60_000)
    db = tmp_path / "crash.db"
    env = dict(os.environ, QRPAY_DATABASE_URL=f"sqlite:///{db}", QRPAY_TOKEN_KEY_K1="t")
    cmd = [sys.executable, "-m", "qrpay", "--config", str(ROOT / "samples" / "best.toml"),
           "bills", "import", str(path)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    seen = b""
    while not re.search(rb" [2-5][0-9]\.[0-9]k/60\.0k", seen) and proc.poll() is None:
        seen += proc.stderr.read1(4096)  # tqdm's bar: rows done so far
    assert proc.poll() is None, seen[-500:]  # still writing: kill it there
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _table(db, "SELECT count(*) FROM bills") == [(0,)]
    assert _table(db, "SELECT count(*) FROM ledger") == [(0,)]
    indexes = "SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name"
    assert ("ix_bills_mobile",) in _table(db, indexes)  # built after the rows: not lost
    done = subprocess.run(cmd + ["--no-progress"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "60000 new" in done.stdout
    again = subprocess.run(cmd + ["--no-progress"], env=env, capture_output=True, text=True)
    assert "0 new, 0 replaced, 60000 unchanged" in again.stdout
    assert _table(db, "SELECT count(*), count(DISTINCT bill_no) FROM bills") == [(60000, 60000)]
    assert _table(db, "SELECT count(*) FROM ledger WHERE kind = 'charge'") == [(60000,)]
