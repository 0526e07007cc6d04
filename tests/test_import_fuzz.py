"""Property tests over the bill importer: a bill file in the real column layout whose cells
hold anything (amounts as floats or in other scripts or beyond 64 bits, dates that are
not, stray characters), a JSON Lines file of any values, or bytes that are not text at all,
is either imported or refused with qrpay's own errors, each naming its row (and column,
where one is at fault); a refused file writes no bill."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from qrpay.config import Config
from qrpay.errors import QrpayError
from qrpay.importer import COLUMNS, import_bills
from qrpay.store import Store
from qrpay.store.schema import bills

FUZZ = settings(max_examples=30, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
GOOD = {"account_no": "100000000", "name": "Ravi Kumar", "period": "2026-11",
        "amount": "1909.00", "due_date": "2026-12-05", "mobile": "9177777868",
        "charges": "energy=1859.00;fixed=50.00", "history": "1;2;3"}
CELLS = st.one_of(
    st.text(max_size=16),
    st.sampled_from(["1909.00", "1909.5", "1909.005", "१९०९.००", "১৯০৯.০০", "1,909.00",
                     "1_909", "1e3", "-1", "99999999999999999999.00", "", "2026-13", "2026-11",
                     "2026-02-30", "১০০০০০০০০", "+91 91777 77868", "energy=1.00;fixed=x",
                     "1;2;x", "\x00", "hi", "bn", "NULL"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str))
ROWS = st.lists(st.dictionaries(st.sampled_from(COLUMNS), CELLS, max_size=6), min_size=1,
                max_size=5)


def _bills(store: Store) -> int:
    with store.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(bills)).scalar_one())


def _check(store: Store, config: Config, path: Path) -> None:
    before = _bills(store)
    report = import_bills(store, config, path)
    if report.ok:
        assert _bills(store) - before == report.created
        return
    assert _bills(store) == before, "a refused file wrote bills"
    for err in report.errors:
        assert isinstance(err, QrpayError) and err.code
        assert err.row is not None or err.code in {"bad_encoding", "bad_header", "empty_file",
                                                   "bad_json", "missing_column",
                                                   "unknown_column", "file_not_found"}, err


def test_the_layout_bent_below_is_one_that_imports(store: Store, best_config: Config,
                                                   tmp_path: Path) -> None:
    path = tmp_path / "bills.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(GOOD))
        w.writeheader()
        w.writerow(GOOD)
    report = import_bills(store, best_config, path)
    assert report.ok, report.errors
    assert report.created == 1


@FUZZ
@given(rows=ROWS)
@example(rows=[{"amount": "99999999999999999999999.00"}])
@example(rows=[{"late_amount": str(2**63)}])
def test_csv_with_any_cells(store: Store, best_config: Config, tmp_path_factory: Any,
                            rows: list[dict[str, str]]) -> None:
    path = tmp_path_factory.mktemp("f") / "bills.csv"
    with path.open("w", newline="", encoding="utf-8", errors="surrogatepass") as fh:
        w = csv.DictWriter(fh, fieldnames=list(COLUMNS))
        w.writeheader()
        for row in rows:
            w.writerow({**GOOD, **row})
    _check(store, best_config, path)


@FUZZ
@given(rows=st.lists(st.dictionaries(st.sampled_from(COLUMNS), CELLS | st.floats()
                                     | st.integers() | st.none() | st.booleans(),
                                     max_size=6), min_size=1, max_size=4))
@example(rows=[{"amount": 1909}])
def test_jsonl_with_any_values(store: Store, best_config: Config, tmp_path_factory: Any,
                               rows: list[dict[str, Any]]) -> None:
    path = tmp_path_factory.mktemp("f") / "bills.jsonl"
    path.write_text("\n".join(json.dumps({**GOOD, **r}) for r in rows) + "\n",
                    encoding="utf-8")
    _check(store, best_config, path)


@FUZZ
@given(raw=st.binary(max_size=300), suffix=st.sampled_from([".csv", ".jsonl"]))
def test_bytes_that_are_not_a_bill_file(store: Store, best_config: Config,
                                        tmp_path_factory: Any, raw: bytes, suffix: str) -> None:
    path = tmp_path_factory.mktemp("f") / ("bills" + suffix)
    path.write_bytes(raw)
    _check(store, best_config, path)
