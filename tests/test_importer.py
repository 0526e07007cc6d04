"""Bill import: every error names row, column and code; one bad row writes nothing."""

import csv
import io
import json

import pytest
from sqlalchemy import func, select

from qrpay.bills import get_bill
from qrpay.cli import main
from qrpay.importer import COLUMNS, import_bills
from qrpay.samplegen import write_csv
from qrpay.store.schema import bills, imports, ledger
from tests.conftest import SAMPLES

HEADER = "account_no,name,period,amount,due_date"


def _count(store, table=bills):
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _write(tmp_path, text, name="bills.csv", bom=False):
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def test_sample_files_import_completely(store, best_config, breb_config):
    for config, name in ((best_config, "bills-best.csv"), (breb_config, "bills-breb.csv")):
        report = import_bills(store, config, SAMPLES / name)
        assert report.ok, report.errors
        assert report.created == report.rows >= 50
    assert _count(store) >= 100


def test_bengali_digits_in_the_sample_are_normalised(store, breb_config):
    import_bills(store, breb_config, SAMPLES / "bills-breb.csv")
    with open(SAMPLES / "bills-breb.csv", encoding="utf-8") as fh:
        raw = [r for r in csv.DictReader(fh) if not r["account_no"].isascii()][0]
    from qrpay.digits import to_ascii
    account = to_ascii(raw["account_no"])
    with store.connect() as conn:
        bill = get_bill(conn, "2611" + account)
    assert bill.account_no == account
    assert bill.amount == int(to_ascii(raw["amount"]).replace(".", ""))
    assert bill.mobile.startswith("+8801")


def test_reimporting_the_same_file_is_a_no_op(store, best_config):
    first = import_bills(store, best_config, SAMPLES / "bills-best.csv")
    entries = _count(store, ledger)
    again = import_bills(store, best_config, SAMPLES / "bills-best.csv")
    assert again.ok and again.created == 0 and again.unchanged == first.created
    assert _count(store, ledger) == entries


def test_csv_with_bom_and_derived_bill_number(store, best_config, tmp_path):
    path = _write(tmp_path, f"{HEADER}\n123456789,Asha,2026-11,1234.50,2026-12-05\n", bom=True)
    assert import_bills(store, best_config, path).ok
    with store.connect() as conn:
        bill = get_bill(conn, "B2611123456789")
    assert bill.amount == 123450 and bill.late_amount == 123450 + 1543  # 1.25 %, rounded


def test_json_lines_with_decimal_amounts(store, breb_config, tmp_path):
    lines = [{"account_no": "১০৪২৩১২৪৫", "name": "রহিম", "period": "2022-02", "amount": "500.10",
              "due_date": "2022-03-10", "biller": "khulna-pbs", "history": "10;20;30"},
             {"account_no": "104231246", "name": "করিম", "period": "2022-02", "amount": "1.10",
              "due_date": "2022-03-10", "biller": "khulna-pbs"}]
    path = _write(tmp_path, "\n".join(json.dumps(x, ensure_ascii=False) for x in lines),
                  "b.jsonl")
    assert import_bills(store, breb_config, path).ok
    with store.connect() as conn:
        assert get_bill(conn, "2202104231245").history == (10, 20, 30)
        assert get_bill(conn, "2202104231246").amount == 110


@pytest.mark.parametrize("amount", [1.10, 110, 0, 10**30])
def test_a_bare_json_number_amount_is_refused_naming_row_and_column(store, breb_config,
                                                                     tmp_path, amount):
    """Rupees or paise?  A bare number is ambiguous: refused, as callbacks refuse it."""
    line = {"account_no": "104231246", "name": "করিম", "period": "2022-02", "amount": amount,
            "due_date": "2022-03-10", "biller": "khulna-pbs"}
    path = _write(tmp_path, json.dumps(line, ensure_ascii=False) + "\n", "b.jsonl")
    report = import_bills(store, breb_config, path)
    assert [(e.row, e.column, e.code) for e in report.errors] == [(1, "amount", "invalid_amount")]
    assert _count(store) == 0


@pytest.mark.parametrize("column, value", [
    ("amount", "9" * 25), ("amount", str(2**64)), ("amount", "99999999999999999999.99"),
    ("late_amount", "9" * 25), ("arrears", str(2**63)),
])
def test_an_amount_beyond_64_bits_is_a_clear_error_not_a_crash(store, best_config, tmp_path,
                                                               column, value):
    row = {"account_no": "123456789", "name": "A", "period": "2026-11", "amount": "10.00",
           "due_date": "2026-12-05", column: value}
    header = ",".join(row)
    path = _write(tmp_path, f"{header}\n{','.join(row.values())}\n")
    report = import_bills(store, best_config, path)
    assert [(e.row, e.column, e.code) for e in report.errors] == [(2, column,
                                                                   "amount_too_large")]
    assert _count(store) == 0


def test_a_late_fee_that_overflows_the_bound_is_a_clear_error(store, best_config, tmp_path):
    import dataclasses

    from qrpay.config import LatePayment
    from qrpay.money import MAX_AMOUNT, to_decimal_str

    biller = dataclasses.replace(best_config.biller("best"),
                                 late_payment=LatePayment(kind="percent", percent_bp=5000))
    config = dataclasses.replace(best_config, billers={"best": biller})
    path = _write(tmp_path, f"{HEADER}\n123456789,A,2026-11,{to_decimal_str(MAX_AMOUNT)},"
                            "2026-12-05\n")
    report = import_bills(store, config, path)
    assert [(e.column, e.code) for e in report.errors] == [("late_amount", "amount_too_large")]


@pytest.mark.parametrize("row, column, code", [
    ("12345678,A,2026-11,10.00,2026-12-05", "account_no", "invalid_length"),
    ("123456789,,2026-11,10.00,2026-12-05", "name", "missing_value"),
    ("123456789,A,2026-13,10.00,2026-12-05", "period", "invalid_period"),
    ("123456789,A,2026-11,10.005,2026-12-05", "amount", "too_many_decimals"),
    ("123456789,A,2026-11,ten,2026-12-05", "amount", "invalid_amount"),
    ("123456789,A,2026-11,10.00,2026-02-30", "due_date", "invalid_date"),
    ("12345678x,A,2026-11,10.00,2026-12-05", "account_no", "invalid_character"),
])
def test_bad_required_value_names_row_column_and_code(store, best_config, tmp_path, row, column,
                                                     code):
    good = "987654321,B,2026-11,20.00,2026-12-05"
    path = _write(tmp_path, f"{HEADER}\n{good}\n{row}\n")
    report = import_bills(store, best_config, path)
    assert not report.ok
    err = report.errors[0]
    assert (err.row, err.column, err.code) == (3, column, code)
    assert err.file == str(path)
    assert _count(store) == 0 and _count(store, ledger) == 0  # the good row was not written


@pytest.mark.parametrize("extra_header, value, code", [
    ("mobile", "12345", "invalid_mobile"),
    ("category", "spaceship", "unknown_category"),
    ("area", "suburban", "unknown_area"),
    ("charges", "energy=5.00;fixed=4.00", "charges_mismatch"),
    ("charges", "energy", "invalid_charges"),
    ("history", "1;2;3;4;5;6;7;8;9;10;11;12;13", "invalid_history"),
    ("late_amount", "5.00", "late_below_amount"),
    ("language", "fr", "unknown_language"),
    ("units", "12.5", "invalid_number"),
    ("bill_no", "x", "invalid_bill_no"),
])
def test_bad_optional_value_is_refused(store, best_config, tmp_path, extra_header, value, code):
    path = _write(tmp_path, f"{HEADER},{extra_header}\n123456789,A,2026-11,10.00,2026-12-05,"
                            f"\"{value}\"\n")
    report = import_bills(store, best_config, path)
    assert [(e.column, e.code) for e in report.errors] == [(extra_header, code)]
    assert _count(store) == 0


@pytest.mark.parametrize("text, code", [
    ("", "empty_file"),
    ("account_no,name,period,amount\n", "missing_column"),
    (f"{HEADER},ammount\n", "unknown_column"),
    (f"{HEADER},name\n", "duplicate_column"),
    (f"{HEADER}\n123456789,A,2026-11\n", "wrong_field_count"),
])
def test_bad_file_shape(store, best_config, tmp_path, text, code):
    report = import_bills(store, best_config, _write(tmp_path, text))
    assert report.errors[0].code == code


def test_not_utf8_is_refused(store, best_config, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(f"{HEADER}\n123456789,Jos\xe9,2026-11,1.00,2026-12-05\n".encode("latin-1"))
    assert import_bills(store, best_config, path).errors[0].code == "bad_encoding"


def test_bad_json_line(store, best_config, tmp_path):
    report = import_bills(store, best_config, _write(tmp_path, '{"a": 1}\n{oops\n', "x.jsonl"))
    assert report.errors[-1].code == "bad_json" and report.errors[-1].row == 2


def test_duplicate_bill_in_one_file(store, best_config, tmp_path):
    row = "123456789,A,2026-11,10.00,2026-12-05"
    report = import_bills(store, best_config, _write(tmp_path, f"{HEADER}\n{row}\n{row}\n"))
    assert [(e.row, e.code) for e in report.errors] == [(3, "duplicate_bill")]
    assert _count(store) == 0


def test_bd_bill_number_must_match_period_and_account(store, breb_config, tmp_path):
    text = (f"{HEADER},bill_no,biller\n104231245,A,2022-02,1.00,2022-03-01,2203104231245,"
            "khulna-pbs\n")
    report = import_bills(store, breb_config, _write(tmp_path, text))
    assert report.errors[0].code == "bill_no_mismatch"


def test_several_billers_need_the_biller_column(store, breb_config, tmp_path):
    report = import_bills(store, breb_config,
                          _write(tmp_path, f"{HEADER}\n104231245,A,2022-02,1.00,2022-03-01\n"))
    assert (report.errors[0].column, report.errors[0].code) == ("biller", "missing_value")


def test_changed_amount_is_a_conflict_unless_replace(store, best_config, tmp_path):
    path = _write(tmp_path, f"{HEADER}\n123456789,A,2026-11,10.00,2026-12-05\n")
    assert import_bills(store, best_config, path).ok
    changed = _write(tmp_path, f"{HEADER}\n123456789,A,2026-11,12.00,2026-12-05\n", "v2.csv")
    report = import_bills(store, best_config, changed)
    assert [(e.row, e.code) for e in report.errors] == [(2, "amount_conflict")]
    with store.connect() as conn:
        assert get_bill(conn, "B2611123456789").amount == 1000
    assert import_bills(store, best_config, changed, replace=True).replaced == 1
    with store.connect() as conn:
        assert get_bill(conn, "B2611123456789").amount == 1200
        owed = conn.execute(select(func.sum(ledger.c.amount))
                            .where(ledger.c.bill_no == "B2611123456789")).scalar_one()
    assert owed == 1200  # charge 10.00 + adjustment 2.00


def test_dry_run_writes_nothing(store, best_config):
    report = import_bills(store, best_config, SAMPLES / "bills-best.csv", dry_run=True)
    assert report.ok and report.created >= 50
    assert _count(store) == 0 and _count(store, imports) == 0


def test_errors_are_capped_but_counted(store, best_config, tmp_path):
    rows = "\n".join("bad,A,2026-11,1.00,2026-12-05" for _ in range(60))
    report = import_bills(store, best_config, _write(tmp_path, f"{HEADER}\n{rows}\n"),
                          max_errors=10)
    assert len(report.errors) == 10 and report.more_errors == 50


def test_large_file_is_written_in_batches(store, best_config, tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as fh:
        write_csv(fh, "best", 2500)
    seen = []
    report = import_bills(store, best_config, path, batch_size=1000, progress=seen.append)
    assert report.ok and report.created == 2500 and _count(store) == 2500
    assert seen[0] == 1000 and seen[-1] == 2500


def test_cli_import_and_show(best_config, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("QRPAY_DATABASE_URL", best_config.database_url)
    cfg = ["--config", str(SAMPLES / "best.toml")]
    assert main(cfg + ["bills", "import", str(SAMPLES / "bills-best.csv"), "--no-progress"]) == 0
    assert "60 new" in capsys.readouterr().out
    assert main(cfg + ["bills", "show", "B2611100000000", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["bill_no"] == "B2611100000000" and shown["amount"].count(".") == 1
    bad = _write(tmp_path, f"{HEADER}\n123456789,A,2026-11,1.001,2026-12-05\n")
    assert main(cfg + ["bills", "import", str(bad), "--no-progress"]) == 2
    assert "error[too_many_decimals]" in capsys.readouterr().err
    assert main(cfg + ["bills", "show", "B0000000000000"]) == 2
    assert "error[unknown_bill]" in capsys.readouterr().err


def test_all_columns_are_documented_in_the_sample_header():
    with open(SAMPLES / "bills-best.csv", encoding="utf-8") as fh:
        assert next(csv.reader(io.StringIO(fh.readline()))) == list(COLUMNS)


def test_cli_link_prints_the_tokenised_bill_page(best_config, capsys, monkeypatch):
    from qrpay.payload import bill_url

    monkeypatch.setenv("QRPAY_DATABASE_URL", best_config.database_url)
    cfg = ["--config", str(SAMPLES / "best.toml")]
    assert main(cfg + ["bills", "import", str(SAMPLES / "bills-best.csv"), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(cfg + ["bills", "link", "B2611100000000", "--base", "http://localhost:9"]) == 0
    url = capsys.readouterr().out.strip()
    from qrpay.store import open_store
    with open_store(best_config.database_url).connect() as conn:
        bill = get_bill(conn, "B2611100000000")
    expected = bill_url(bill, best_config.default_biller, best_config, bill.amount)
    assert url == "http://localhost:9" + expected[expected.index("/b/"):]


def test_duplicates_are_reported_beside_bad_values(store, best_config, tmp_path):
    rows = ["123456701,A,2026-11,1.005,2026-12-05",  # bad amount
            "123456702,B,2026-11,10.00,2026-12-05",
            "123456703,C,2026-11,10.00,2026-13-01",  # bad date
            "123456702,B,2026-11,10.00,2026-12-05"]  # duplicate of row 3
    report = import_bills(store, best_config,
                          _write(tmp_path, HEADER + "\n" + "\n".join(rows) + "\n"),
                          batch_size=2)
    assert [(e.row, e.code) for e in report.errors] == [
        (2, "too_many_decimals"), (4, "invalid_date"), (5, "duplicate_bill")]
    assert _count(store) == 0 and _count(store, ledger) == 0


def _indexes(store):
    """Each table's indexes as the database defines them (partial ones with their WHERE)."""
    from sqlalchemy import text

    if store.is_sqlite:
        sql = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"
    else:
        sql = ("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t "
               "AND schemaname = current_schema()")
    with store.connect() as conn:
        return {t: sorted(tuple(r) for r in conn.execute(text(sql), {"t": t}))
                for t in ("bills", "ledger")}


def test_a_big_import_into_a_small_table_keeps_every_index(store, best_config, tmp_path):
    """On SQLite such an import builds the plain indexes after the rows: whatever the
    outcome (written, refused, dry run, a second import into a fuller table) the tables
    end with the indexes they began with, and the queries that use them find the rows."""
    before = _indexes(store)
    assert before["bills"] and before["ledger"]
    assert any("meter_no IS NOT NULL" in (sql or "") for _, sql in before["bills"])
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as fh:
        write_csv(fh, "best", 300)
    text = path.read_text(encoding="utf-8")
    blank = [""] * (text.splitlines()[0].count(",") - 4)
    bad = _write(tmp_path, text + ",".join(["bad", "A", "2026-11", "1.00", "2026-12-05",
                                            *blank]) + "\n", name="bad.csv")
    assert not import_bills(store, best_config, bad).ok
    assert _indexes(store) == before and _count(store) == 0
    assert import_bills(store, best_config, path, dry_run=True).ok
    assert _indexes(store) == before and _count(store) == 0
    assert import_bills(store, best_config, path).created == 300
    assert _indexes(store) == before
    assert import_bills(store, best_config, SAMPLES / "bills-best.csv").ok  # fuller now
    assert _indexes(store) == before
    with store.connect() as conn:
        first = conn.execute(select(bills.c.biller, bills.c.account_no, bills.c.mobile)
                             .limit(1)).one()
        assert conn.execute(select(func.count()).select_from(bills).where(
            bills.c.biller == first.biller, bills.c.account_no == first.account_no)
        ).scalar_one() >= 1
        assert conn.execute(select(func.count()).select_from(ledger).where(
            ledger.c.biller == first.biller, ledger.c.account_no == first.account_no)
        ).scalar_one() >= 1


def test_backslashes_and_a_literal_backslash_n_are_stored_as_written(store, best_config,
                                                                   tmp_path):
    """PostgreSQL takes the rows in COPY's text format, where a backslash escapes: the
    stored text is still the file's."""
    rows = ['100000007,Ram \\ Shyam,2026-11,10.00,2026-12-05,"\\N"',
            '100000008,\\N,2026-11,10.00,2026-12-05,"C:\\\\bills\\n, \\t"']
    path = _write(tmp_path, f"{HEADER},address\n" + "\n".join(rows) + "\n")
    assert import_bills(store, best_config, path).ok
    with store.connect() as conn:
        first, second = (get_bill(conn, f"B261110000000{n}") for n in (7, 8))
    assert (first.name, first.address) == ("Ram \\ Shyam", "\\N")
    assert (second.name, second.address) == ("\\N", "C:\\\\bills\\n, \\t")


def test_a_chunk_whose_rows_share_every_value_but_the_bill_is_stored_whole(store, best_config,
                                                                         tmp_path):
    """On SQLite a value every row of a chunk shares goes into the statement once: with
    one row, every value does."""
    address = "'); DROP TABLE bills; --"
    path = _write(tmp_path, f"{HEADER},mobile,address\n100000009,Asha D'Souza,2026-11,10.00,"
                  f"2026-12-05,9812345678,{address}\n")
    assert import_bills(store, best_config, path).created == 1
    with store.connect() as conn:
        bill = get_bill(conn, "B2611100000009")
        entries = conn.execute(select(ledger.c.kind, ledger.c.amount, ledger.c.note)
                               .where(ledger.c.bill_no == bill.bill_no)).all()
    assert (bill.name, bill.amount, bill.mobile) == ("Asha D'Souza", 1000, "+919812345678")
    assert bill.address == address
    assert [tuple(e) for e in entries] == [("charge", 1000, "bill 2026-11")]


def test_every_bill_names_the_import_that_wrote_it(store, best_config, tmp_path):
    """bills.import_id has no foreign key (schema.bills): the importer keeps it true, a
    replace included."""
    path = tmp_path / "bills.csv"
    with path.open("w", encoding="utf-8") as fh:
        write_csv(fh, "best", 30)
    assert import_bills(store, best_config, path).created == 30
    changed = path.read_text(encoding="utf-8").replace("2026-12-05", "2026-12-07", 5)
    assert import_bills(store, best_config, _write(tmp_path, changed, name="changed.csv"),
                        replace=True).replaced == 5
    with store.connect() as conn:
        ids = {r.import_id for r in conn.execute(select(bills.c.import_id))}
        known = {r.id for r in conn.execute(select(imports.c.id))}
    assert len(ids) == 2 and ids <= known


def test_the_import_records_the_files_sha256_and_counts(store, best_config):
    import hashlib

    path = SAMPLES / "bills-best.csv"
    report = import_bills(store, best_config, path)
    with store.connect() as conn:
        row = conn.execute(select(imports).order_by(imports.c.id.desc())).first()
    assert row.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (row.file_name, row.rows, row.created) == (path.name, report.rows, report.created)



def _ledger(store, after=0):
    """The ledger entries with an id above ``after``, in id order (and the last id)."""
    with store.connect() as conn:
        rows = conn.execute(
            select(ledger.c.bill_no, ledger.c.kind, ledger.c.amount, ledger.c.note,
                   ledger.c.created_at, ledger.c.payment_id, ledger.c.receipt_no, ledger.c.id)
            .where(ledger.c.id > after).order_by(ledger.c.id)).all()
    return [tuple(r)[:-1] for r in rows], max((r.id for r in rows), default=after)


def _charged(store, numbers, import_no):
    """What charge_rows gives each bill, in this order, at the time of the import."""
    from qrpay.payments.ledger import charge_rows

    with store.connect() as conn:
        at = conn.execute(select(imports.c.imported_at).order_by(imports.c.id)
                          .offset(import_no).limit(1)).scalar_one()
        return [(no, *row, at, None, None) for no in numbers
                for row in charge_rows(get_bill(conn, no))]


def test_new_bills_are_charged_as_charge_rows_says_in_bill_order(store, best_config, tmp_path):
    """An import's ledger, written in bulk beside the bills: each new bill's charge and,
    with arrears, its carry, in file order, at the import's time; in a chunk that also
    replaces a bill, only the new ones are charged (the replaced one adjusted)."""
    rows = [f"10000{n:04d},Name {n},2026-11,{100 + n}.50,2026-12-05,{n % 3}.00"
            for n in range(1, 8)]
    numbers = [f"B261110000{n:04d}" for n in range(1, 8)]
    path = _write(tmp_path, f"{HEADER},arrears\n" + "\n".join(rows) + "\n")
    assert import_bills(store, best_config, path, batch_size=3).created == 7
    first, last_id = _ledger(store)  # (ids need not start at 1: a reused schema)
    assert first == _charged(store, numbers, 0)
    assert {e[1] for e in first} == {"charge", "carry"}
    again = [rows[0].replace("101.50", "111.50"), "100009999,New,2026-11,5.00,2026-12-05,1.00"]
    changed = _write(tmp_path, f"{HEADER},arrears\n" + "\n".join(again) + "\n", name="2.csv")
    report = import_bills(store, best_config, changed, replace=True)
    assert (report.created, report.replaced) == (1, 1)
    later, _ = _ledger(store, after=last_id)
    assert [e[:3] for e in later if e[0] == numbers[0]] == [(numbers[0], "adjustment", 1000)]
    assert [e for e in later if e[0] != numbers[0]] == _charged(store, ["B2611100009999"], 1)
