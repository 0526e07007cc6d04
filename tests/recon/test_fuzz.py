"""Property tests over settlement files: a file in a built-in column layout whose cells hold
anything (amounts as floats, in other scripts, huge; dates that are not; stray statuses), or
whose bytes are not text at all, is either reconciled or refused with qrpay's own errors,
each naming its row; a refused file writes nothing."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from qrpay.config import Config
from qrpay.errors import QrpayError
from qrpay.recon.importer import import_settlement
from qrpay.store import Store
from qrpay.store.schema import ledger, payments, recon_files, recon_lines

from .conftest import add_bill

FUZZ = settings(max_examples=25, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
NOW = dt.datetime(2026, 11, 21, 6, 0, tzinfo=dt.UTC)

GENERIC = ["txn_id", "bill_no", "amount", "fee", "tax", "net", "settlement_id", "settled_on",
           "paid_at", "status", "utr", "mode", "refund_id"]
CELLS = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["1234.50", "1234.5", "0.30000000000000004", "১২৩৪.৫০", "१२३४.५०",
                     "1,234.50", "1e5", "-0.01", "99999999999999999999.99", "", "NaN",
                     "B2611100000001", "b2611100000001", "2026-11-20", "2026-13-40",
                     "2026-11-20T10:00:00+05:30", "success", "refund", "reversed", "pending",
                     "\x00"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str))
ROWS = st.lists(st.lists(CELLS, min_size=len(GENERIC), max_size=len(GENERIC)),
                min_size=1, max_size=6)


def _counts(store: Store) -> tuple[int, ...]:
    with store.connect() as conn:
        return tuple(int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                     for t in (payments, ledger, recon_lines))


def _check(store: Store, config: Config, path: Path, channel: str) -> None:
    before = _counts(store)
    try:
        report = import_settlement(store, config, path, channel, now=NOW)
    except QrpayError:
        assert _counts(store) == before
        return
    if report.errors:
        assert _counts(store) == before, "a refused file wrote something"
        for err in report.errors:
            assert isinstance(err, QrpayError) and err.code


@pytest.fixture(autouse=True)
def _a_bill(store: Store) -> None:
    add_bill(store, "B2611100000001")


def test_a_well_formed_line_is_read(store: Store, recon_config: Config, tmp_path: Path) -> None:
    """The layout the fuzz cases bend is one the importer reads."""
    path = tmp_path / "settlement.csv"
    path.write_text(",".join(GENERIC) + "\npay_1,B2611100000001,1234.50,0,0,1234.50,setl_1,"
                    "2026-11-20,2026-11-19T10:00:00+05:30,success,UTR1,upi,\n",
                    encoding="utf-8")
    report = import_settlement(store, recon_config, path, "upi", now=NOW)
    assert report.ok, report.errors
    assert report.lines == 1


@FUZZ
@given(rows=ROWS)
def test_generic_csv_with_any_cells(store: Store, recon_config: Config, tmp_path_factory: Any,
                                    rows: list[list[str]]) -> None:
    path = tmp_path_factory.mktemp("f") / "settlement.csv"
    with path.open("w", newline="", encoding="utf-8", errors="surrogatepass") as fh:
        w = csv.writer(fh)
        w.writerow(GENERIC)
        w.writerows(rows)
    _check(store, recon_config, path, "upi")


@FUZZ
@given(rows=st.lists(st.dictionaries(st.sampled_from(GENERIC), CELLS | st.floats()
                                     | st.integers() | st.none(), max_size=10),
                     min_size=1, max_size=5))
def test_generic_jsonl_with_any_values(store: Store, recon_config: Config,
                                       tmp_path_factory: Any, rows: list[dict[str, Any]]
                                       ) -> None:
    path = tmp_path_factory.mktemp("f") / "settlement.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    _check(store, recon_config, path, "upi")


@pytest.mark.parametrize("column", ["utr", "txn_id", "settlement_id", "mode"])
def test_a_control_character_in_a_text_cell_is_a_row_error(store: Store, recon_config: Config,
                                                            tmp_path: Path, column: str) -> None:
    """Found by the fuzz case above on PostgreSQL: a NUL in a JSON Lines cell reached the
    database (DataError, a traceback) instead of an error naming the row and column."""
    line = {"txn_id": "pay_1", "bill_no": "B2611100000001", "amount": "1234.50",
            "settlement_id": "setl_1", "settled_on": "2026-11-20", "status": "success",
            "utr": "UTR1", "mode": "upi"}
    line[column] = "A\x00B"
    path = tmp_path / "settlement.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    before = _counts(store)
    report = import_settlement(store, recon_config, path, "upi", now=NOW)
    assert [(e.code, e.column, e.row) for e in report.errors] == [("invalid_value", column, 1)]
    assert _counts(store) == before


@FUZZ
@given(raw=st.binary(max_size=300), suffix=st.sampled_from([".csv", ".jsonl", ".xlsx"]))
def test_bytes_that_are_not_a_settlement_file(store: Store, recon_config: Config,
                                              tmp_path_factory: Any, raw: bytes,
                                              suffix: str) -> None:
    path = tmp_path_factory.mktemp("f") / ("settlement" + suffix)
    path.write_bytes(raw)
    with store.connect() as conn:
        files_before = conn.execute(select(func.count()).select_from(recon_files)).scalar_one()
    _check(store, recon_config, path, "razorpay")
    with store.connect() as conn:
        files_after = conn.execute(select(func.count()).select_from(recon_files)).scalar_one()
    assert files_after - files_before in (0, 1)


@pytest.mark.parametrize("cell", [float("nan"), float("inf"), -float("inf"), 1.5])
def test_a_json_float_that_is_no_whole_number_is_no_identifier(cell: float) -> None:
    """Found by the cases above: NaN and infinity as a txn_id were a bare ValueError."""
    from qrpay.errors import ValidationError
    from qrpay.recon.formats import _text

    with pytest.raises(ValidationError) as got:
        _text(cell, "txn_id")
    assert got.value.code == "invalid_value"


@pytest.mark.parametrize("cell", ["99999999999999999", 10**20, -(10**20)])
def test_unix_seconds_beyond_the_calendar_are_a_bad_date(cell: Any) -> None:
    """Found by the cases above: ``fromtimestamp`` raised a bare ValueError/OverflowError."""
    from qrpay.errors import ValidationError
    from qrpay.recon.formats import moment

    with pytest.raises(ValidationError) as got:
        moment(cell, "settled_on")
    assert got.value.code == "invalid_date"
