"""``qrpay report collections|arrears|consumers`` in-process, every format."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from qrpay.cli import main
from qrpay.importer import import_bills
from qrpay.payments.posting import PaymentIn, post_payment

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.fixture
def paid(best_config, store, monkeypatch):
    monkeypatch.setenv("QRPAY_DATABASE_URL", best_config.database_url)
    import_bills(store, best_config, SAMPLES / "bills-best.csv")
    when = dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC)
    with store.begin() as conn:
        for n, (bill, amount, ch, mode) in enumerate([
                ("B2611100000000", 190900, "razorpay", "card"),
                ("B2611100000003", 78600, "upi", "upi")]):
            post_payment(conn, best_config, PaymentIn(
                channel=ch, txn_id=f"t{n}", bill_no=bill, amount=amount, currency="INR",
                mode=mode), now=when)
    return ["--config", str(SAMPLES / "best.toml")]


def test_collections_table_csv_and_check(paid, capsys) -> None:
    assert main(paid + ["report", "collections", "--period", "2026-11", "--lang", "en",
                        "--check"]) == 0
    out = capsys.readouterr().out
    assert "Credit/debit card" in out and "1,909.00" in out and "2,695.00" in out
    assert main(paid + ["report", "collections", "--period", "2026-11", "--by", "category",
                        "--format", "csv"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0] == "category,count,amount,label" and rows[-1] == "total,2,2695.00,कुल"


@pytest.mark.parametrize("fmt", ["xlsx", "pdf", "png", "svg"])
def test_collections_files(paid, tmp_path, fmt) -> None:
    out = tmp_path / f"r.{fmt}"
    assert main(paid + ["report", "collections", "--period", "2026-11", "--format", fmt,
                        "-o", str(out)]) == 0
    assert out.stat().st_size > 1000


def test_output_file_required(paid, capsys) -> None:
    assert main(paid + ["report", "collections", "--period", "2026-11", "--format",
                        "pdf"]) == 2
    assert "error[missing_output]" in capsys.readouterr().err


def test_arrears_and_consumers(paid, capsys, tmp_path) -> None:
    assert main(paid + ["report", "arrears", "--as-of", "2026-12-20", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "Arrears best 2026-12-20" in out and "Total" in out
    assert main(paid + ["report", "arrears", "--as-of", "2026-12-20", "--format", "png",
                        "-o", str(tmp_path / "a.png")]) == 0
    assert main(paid + ["report", "consumers", "--lang", "hi"]) == 0
    out = capsys.readouterr().out
    assert "उपभोक्ता" in out and "कुल" in out


def test_worker_once_rolls_the_daily_totals_up(paid, capsys, store) -> None:
    from sqlalchemy import func, select

    from qrpay.store.schema import daily_totals

    assert main(paid + ["worker", "--once"]) == 0
    assert "rollup +" in capsys.readouterr().out
    with store.connect() as conn:
        assert conn.execute(select(func.sum(daily_totals.c.amount))).scalar() == 269500
