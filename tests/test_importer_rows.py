"""Import (issue 10 items 9 and 22): every error of a row is reported, a file that is not
UTF-8 names its line with the "CSV UTF-8" hint, and the optional print columns (bill date,
tariff, sanctioned load, meter readings, last payment) are checked and stored."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from qrpay.bills import Readings, get_bill
from qrpay.config import Config
from qrpay.importer import import_bills
from qrpay.store import Store

HEADER = "account_no,name,period,amount,due_date"
PRINT = ("bill_date,tariff,sanctioned_load,previous_reading,previous_reading_date,"
         "present_reading,present_reading_date,multiplier,last_payment,last_payment_date")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bills.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_error_of_a_row_is_reported(store: Store, best_config: Config,
                                          tmp_path: Path) -> None:
    path = _write(tmp_path, f"{HEADER},mobile,category\n"
                            "12345,,2026-13,1.001,2026-02-30,123,spaceship\n")
    report = import_bills(store, best_config, path)
    got = {(e.row, e.column, e.code) for e in report.errors}
    assert got == {(2, "account_no", "invalid_length"), (2, "name", "missing_value"),
                   (2, "period", "invalid_period"), (2, "amount", "too_many_decimals"),
                   (2, "due_date", "invalid_date"), (2, "mobile", "invalid_mobile"),
                   (2, "category", "unknown_category")}


def test_not_utf8_names_the_line_and_says_save_as_csv_utf8(store: Store, best_config: Config,
                                                            tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(f"{HEADER}\n100000001,Ravi,2026-11,1.00,2026-12-05\n"
                     "100000002,Jos\xe9,2026-11,1.00,2026-12-05\n".encode("cp1252"))
    error = import_bills(store, best_config, path).errors[0]
    assert (error.code, error.row) == ("bad_encoding", 3)
    assert "line 3" in error.message and "CSV UTF-8" in error.message


def test_print_columns_are_stored_and_read_back(store: Store, best_config: Config,
                                                tmp_path: Path) -> None:
    path = _write(tmp_path, f"{HEADER},units,{PRINT}\n"
                            "100000001,Ravi,2026-11,1909.00,2026-12-05,286,2026-11-20,"
                            "LT I(B) Residential,3.50,12000,2026-10-18,12286,2026-11-18,1,"
                            "1234.56,2026-10-09\n")
    report = import_bills(store, best_config, path)
    assert report.ok, report.errors
    with store.connect() as conn:
        bill = get_bill(conn, "B2611100000001")
    assert bill.readings == Readings(12000, 12286, dt.date(2026, 10, 18),
                                     dt.date(2026, 11, 18), 1)
    assert (bill.bill_date, bill.tariff, bill.sanctioned_load) == (
        dt.date(2026, 11, 20), "LT I(B) Residential", "3.5")
    assert (bill.last_payment, bill.last_payment_date) == (123456, dt.date(2026, 10, 9))
    assert bill.as_dict()["present_reading"] == 12286


def test_readings_that_do_not_give_the_units_are_refused(store: Store, best_config: Config,
                                                         tmp_path: Path) -> None:
    path = _write(tmp_path, f"{HEADER},units,previous_reading,present_reading,multiplier\n"
                            "100000001,Ravi,2026-11,1.00,2026-12-05,286,12000,12200,1\n"
                            "100000002,Asha,2026-11,1.00,2026-12-05,,12000,11999,\n"
                            "100000003,Anil,2026-11,1.00,2026-12-05,,12000,,\n")
    got = {(e.row, e.column, e.code) for e in import_bills(store, best_config, path).errors}
    assert got == {(2, "units", "units_mismatch"), (3, "present_reading", "reading_below_previous"),
                   (4, "present_reading", "missing_value")}


def test_a_bill_without_print_columns_keeps_its_content_hash(best_config: Config) -> None:
    from qrpay.importer import parse_row

    bill = parse_row({"account_no": "100000001", "name": "Ravi", "period": "2026-11",
                      "amount": "1.00", "due_date": "2026-12-05"}, best_config)
    assert "tariff" not in bill.as_dict() and "present_reading" not in bill.as_dict()


def test_breb_sample_fills_realistic_billing_books() -> None:
    """60 bills used to be 60 books of one page: consumers fill books of 20 pages."""
    import csv

    from qrpay.digits import to_ascii
    from qrpay.ebill.batch import book_of
    from tests.conftest import SAMPLES

    with (SAMPLES / "bills-breb.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    books = {(r["biller"], book_of(to_ascii(r["account_no"]))[0]) for r in rows}
    assert len(rows) == 60 and len(books) <= 6
    assert any(r["account_no"] == "104231245" for r in rows)  # the source's own example


def test_a_jsonl_row_with_lists_for_text_reports_each_field(store: Store, best_config: Config,
                                                            tmp_path: Path) -> None:
    import json

    path = tmp_path / "bills.jsonl"
    row = {"account_no": "100000001", "name": "Ravi", "period": "2026-11", "amount": "1.00",
           "due_date": "2026-12-05", "mobile": ["9876543210"], "address": {"a": 1},
           "charges": ["x"], "bill_no": [1]}
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    got = {(e.column, e.code) for e in import_bills(store, best_config, path).errors}
    assert got == {("mobile", "invalid_type"), ("address", "invalid_type"),
                   ("charges", "invalid_type"), ("bill_no", "invalid_type")}
