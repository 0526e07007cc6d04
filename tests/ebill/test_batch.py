"""The cycle batch through the CLI: files, manifest, books, verify, resume after kill -9,
and the same render on a Dask cluster."""

from __future__ import annotations

import csv
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from qrpay.bills import Bill
from qrpay.cli import main
from tests.ebill.conftest import ROOT, profile_file


def manifest(out: Path) -> list[dict[str, str]]:
    with (out / "manifest.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def assert_complete(out: Path, bills: list[Bill]) -> list[dict[str, str]]:
    """Every bill once in the manifest, every file whole and matching its sha256."""
    rows = manifest(out)
    assert sorted(r["bill_no"] for r in rows) == sorted(b.bill_no for b in bills)
    for row in rows:
        data = (out / row["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row["sha256"]
        assert data.rstrip().endswith(b"%%EOF")
        pdfium.PdfDocument(data).close()
    assert sorted(p.name for p in (out / "bills").iterdir()) == sorted(
        f"{b.bill_no}.pdf" for b in bills)
    assert not list(out.rglob("*.tmp"))
    return rows


def test_cycle_writes_bills_books_and_manifest(tmp_path: Path, db_url: str,
                                               breb_bills: list[Bill],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    cfg = profile_file(tmp_path, "breb", db_url)
    out = tmp_path / "out"
    rc = main(["--config", str(cfg), "render", "--period", "2026-11", "--out", str(out),
               "--books", "--verify", "sample", "--workers", "1"])
    assert rc == 0
    rows = assert_complete(out, breb_bills)
    payable = {b.bill_no for b in breb_bills if b.amount > 0}
    assert {r["bill_no"] for r in rows if r["payload"]} == payable
    assert any(r["verified"] == "ok" for r in rows)
    with (out / "books" / "index.csv").open(encoding="utf-8") as fh:
        books = list(csv.DictReader(fh))
    assert sum(int(b["bills"]) for b in books) == len(breb_bills)
    first = books[0]
    doc = pdfium.PdfDocument(str(out / first["file"]))
    try:
        assert len(doc) == int(first["bills"]) + 1  # cover sheet
    finally:
        doc.close()
    assert f"bills: {len(breb_bills)}" in capsys.readouterr().out


def test_unreadable_qr_fails_verify_and_names_the_bill(
        tmp_path: Path, db_url: str, best_bills: list[Bill],
        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = profile_file(tmp_path, "best", db_url)
    victim = next(b for b in best_bills if b.amount > 0 and b.bill_no != best_bills[0].bill_no)
    rc = main(["--config", str(cfg), "render", "--period", "2026-11", "--out",
               str(tmp_path / "out"), "--verify", "all", "--workers", "1",
               "--test-break-qr", victim.bill_no])
    err = capsys.readouterr().err
    assert rc == 2
    assert "error[verify_failed]" in err
    assert f"verify failed: {victim.bill_no}" in err
    assert err.count("verify failed:") == 1


def test_second_run_into_the_same_folder_needs_resume(
        tmp_path: Path, db_url: str, best_bills: list[Bill],
        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = profile_file(tmp_path, "best", db_url)
    args = ["--config", str(cfg), "render", "--period", "2026-11", "--out",
            str(tmp_path / "out"), "--workers", "1"]
    assert main(args) == 0
    assert main(args) == 2
    assert "error[out_not_empty]" in capsys.readouterr().err
    assert main(args + ["--resume"]) == 0
    assert "already done" in capsys.readouterr().out
    assert_complete(tmp_path / "out", best_bills)


def test_resume_after_kill_9_finishes_without_gaps_or_duplicates(
        tmp_path: Path, db_url: str, breb_bills: list[Bill]) -> None:
    # BREB's sample accounts fall in many billing books, so there are many chunks to kill
    # the run between.
    cfg = profile_file(tmp_path, "breb", db_url)
    out = tmp_path / "out"
    args = ["--config", str(cfg), "render", "--period", "2026-11", "--out", str(out),
            "--workers", "1", "--chunk-size", "4", "--verify", "all"]
    proc = subprocess.Popen([sys.executable, "-m", "qrpay", *args], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    parts = out / ".parts"
    while time.monotonic() < deadline and proc.poll() is None:
        if parts.is_dir() and len(list(parts.glob("*.jsonl"))) >= 3:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL  # killed mid-run, not finished
    assert not (out / "manifest.csv").exists()
    assert main(args + ["--resume"]) == 0
    rows = assert_complete(out, breb_bills)
    assert len({r["bill_no"] for r in rows}) == len(rows)


def test_single_bill_with_png_preview(tmp_path: Path, db_url: str, best_bills: list[Bill],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image

    cfg = profile_file(tmp_path, "best", db_url)
    target = tmp_path / "preview-hi.pdf"
    rc = main(["--config", str(cfg), "render", "--bill", best_bills[0].bill_no, "-o",
               str(target), "--png"])
    assert rc == 0
    assert target.read_bytes().startswith(b"%PDF")
    with Image.open(target.with_suffix(".png")) as image:
        assert image.width > 1000 and image.height > image.width


def test_unknown_bill_is_reported(tmp_path: Path, db_url: str, best_bills: list[Bill],
                                  capsys: pytest.CaptureFixture[str]) -> None:
    cfg = profile_file(tmp_path, "best", db_url)
    rc = main(["--config", str(cfg), "render", "--bill", "B0000000000000", "-o",
               str(tmp_path / "x.pdf")])
    assert rc == 2
    assert "error[unknown_bill]" in capsys.readouterr().err


def test_render_runs_as_tasks_on_a_dask_cluster(tmp_path: Path, db_url: str,
                                                breb_bills: list[Bill]) -> None:
    from distributed import LocalCluster

    cfg = profile_file(tmp_path, "breb", db_url)
    out = tmp_path / "out"
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp",
                      dashboard_address=None) as cluster:
        rc = main(["--config", str(cfg), "render", "--period", "2026-11", "--out", str(out),
                   "--scheduler", cluster.scheduler_address, "--chunk-size", "10"])
    assert rc == 0
    assert_complete(out, breb_bills)
