"""Smaller CLI defects (issue 10 item 22): a folder given as --config, ``render -o x.png``,
``qr decode`` of a PDF, and the resume summary's QR verification claim."""

from __future__ import annotations

from pathlib import Path

import pytest

from qrpay.bills import Bill
from qrpay.cli import main
from tests.ebill.conftest import profile_file


def test_config_pointing_at_a_folder_is_a_clear_error(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(tmp_path), "bills", "show", "X"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error[config_not_a_file]: ") and "Traceback" not in err
    assert err.count("\n") == 1


def test_render_to_png_writes_a_png_not_a_pdf(tmp_path: Path, db_url: str,
                                              best_bills: list[Bill]) -> None:
    cfg = profile_file(tmp_path, "best", db_url)
    target = tmp_path / "x.png"
    assert main(["--config", str(cfg), "render", "--bill", best_bills[0].bill_no,
                 "-o", str(target)]) == 0
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert not (tmp_path / "x.pdf").exists()


def test_render_to_another_suffix_is_refused(tmp_path: Path, db_url: str,
                                             best_bills: list[Bill],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    cfg = profile_file(tmp_path, "best", db_url)
    assert main(["--config", str(cfg), "render", "--bill", best_bills[0].bill_no,
                 "-o", str(tmp_path / "x.jpg")]) == 2
    assert "error[bad_output]" in capsys.readouterr().err
    assert not (tmp_path / "x.jpg").exists()


def test_qr_decode_reads_every_page_of_a_pdf(tmp_path: Path, db_url: str,
                                             best_bills: list[Bill],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from qrpay.payload import bill_payload

    cfg = profile_file(tmp_path, "best", db_url)
    bill = next(b for b in best_bills if b.amount > 0)
    target = tmp_path / "bill.pdf"
    assert main(["--config", str(cfg), "render", "--bill", bill.bill_no, "-o", str(target)]) == 0
    capsys.readouterr()
    assert main(["qr", "decode", str(target)]) == 0
    from qrpay.config import load_config

    config = load_config(cfg)
    expected = bill_payload(bill, config.biller(bill.biller), config)
    assert capsys.readouterr().out.splitlines() == [expected]


def test_resume_summary_claims_no_verification_for_bills_it_did_not_render(
        tmp_path: Path, db_url: str, best_bills: list[Bill],
        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = profile_file(tmp_path, "best", db_url)
    args = ["--config", str(cfg), "render", "--period", "2026-11", "--out",
            str(tmp_path / "out"), "--workers", "1", "--verify", "all"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "QR verified: 0" not in first
    assert main(args + ["--resume"]) == 0
    again = capsys.readouterr().out
    assert "(0 rendered," in again
    assert "QR verified: 0, failed: 0 (and " in again and "by the interrupted run)" in again
