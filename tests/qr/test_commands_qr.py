"""``qrpay qr payload|image|decode|check`` in-process, on bills imported into the test DB."""

from __future__ import annotations

import json

import pytest

from qrpay.bills import iter_bills
from qrpay.cli import main
from qrpay.importer import import_bills
from qrpay.payload import upi
from tests.conftest import SAMPLES


@pytest.fixture
def cli(store, best_config, db_url, monkeypatch):
    """Run ``qrpay --config best.toml ...`` on a database holding the sample BEST bills;
    yields (run, a bill with something to pay, a bill with nothing to pay)."""
    import_bills(store, best_config, SAMPLES / "bills-best.csv")
    monkeypatch.setenv("QRPAY_DATABASE_URL", db_url)
    with store.connect() as conn:
        bills = list(iter_bills(conn))
    due = next(b for b in bills if b.amount > 0)
    zero = next(b for b in bills if b.amount <= 0)

    def run(*args: str) -> int:
        return main(["--config", str(SAMPLES / "best.toml"), "qr", *args])

    return run, due, zero


def test_payload_prints_the_bills_upi_uri(cli, capsys):
    run, bill, _ = cli
    assert run("payload", bill.bill_no) == 0
    p = upi.parse(capsys.readouterr().out.strip())
    assert p.reference == bill.bill_no and p.amount == bill.amount


def test_payload_in_emv_format_is_a_bharat_qr(cli, capsys):
    run, bill, _ = cli
    assert run("payload", bill.bill_no, "--format", "emv") == 0
    assert capsys.readouterr().out.startswith("00020101021226370010A000000524")


def test_unknown_bill_and_nothing_due_are_errors_with_codes(cli, capsys):
    run, _, zero = cli
    assert run("payload", "B0000000000000") == 2
    assert capsys.readouterr().err.startswith("error[unknown_bill]")
    assert run("payload", zero.bill_no) == 2
    assert capsys.readouterr().err.startswith("error[nothing_due]")


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_image_writes_the_symbol(cli, capsys, tmp_path, suffix):
    run, bill, _ = cli
    out = tmp_path / f"bill{suffix}"
    assert run("image", bill.bill_no, "-o", str(out)) == 0
    assert out.stat().st_size > 500
    if suffix == ".png":
        capsys.readouterr()
        assert run("decode", str(out)) == 0
        assert upi.parse(capsys.readouterr().out.strip()).reference == bill.bill_no
    else:
        assert out.read_text().startswith("<?xml")


def test_image_refuses_other_extensions(cli, capsys, tmp_path):
    run, bill, _ = cli
    assert run("image", bill.bill_no, "-o", str(tmp_path / "x.jpg")) == 2
    assert capsys.readouterr().err.startswith("error[bad_output]")


def test_check_explains_a_genuine_image_and_flags_an_altered_text(cli, capsys, tmp_path):
    run, bill, _ = cli
    out = tmp_path / "bill.png"
    run("image", bill.bill_no, "-o", str(out))
    capsys.readouterr()
    assert run("check", str(out)) == 0
    text = capsys.readouterr().out
    assert "verdict: genuine" in text and "Payee VPA" in text
    run("payload", bill.bill_no)
    payload = capsys.readouterr().out.strip()
    forged = payload.replace("bestelectricity@sbi", "someone@ybl")
    assert run("check", forged, "--json") == 3
    data = json.loads(capsys.readouterr().out)
    assert data["verdict"] == "altered" and data["bill_no"] == bill.bill_no
    from qrpay.money import to_decimal_str
    assert data["amount"] == to_decimal_str(bill.amount)  # a decimal string, as the API gives


def test_check_of_junk_is_invalid_and_decode_of_a_blank_image_finds_nothing(cli, capsys,
                                                                           tmp_path):
    from PIL import Image

    run, _, _ = cli
    assert run("check", "hello", "--json") == 3
    assert json.loads(capsys.readouterr().out)["code"] == "not_payment_qr"
    blank = tmp_path / "blank.png"
    Image.new("L", (50, 50), 255).save(blank)
    assert run("decode", str(blank)) == 1
    assert "no QR code" in capsys.readouterr().err


@pytest.mark.parametrize("text", [
    "00020101021226370010A000000524" + "0" * 280,   # EMV-shaped, 310 bytes
    "X" * 300,                                      # no known shape, one 300-byte "name"
    "hello/" + "y" * 256,                           # a path part longer than NAME_MAX
])
def test_check_of_text_over_255_bytes_is_resolved_as_text_not_opened(cli, capsys, text):
    run, _, _ = cli
    assert run("check", text, "--json") == 3
    assert json.loads(capsys.readouterr().out)["verdict"] in {"invalid", "altered", "unknown"}


def test_check_still_reads_an_image_whose_path_is_longer_than_255_bytes(cli, capsys,
                                                                       tmp_path):
    run, bill, _ = cli
    deep = tmp_path
    for n in range(6):
        deep = deep / (f"d{n}" + "x" * 60)
    deep.mkdir(parents=True)
    out = deep / "bill.png"
    run("image", bill.bill_no, "-o", str(out))
    capsys.readouterr()
    assert len(str(out).encode()) > 255
    assert run("check", str(out)) == 0
    assert "verdict: genuine" in capsys.readouterr().out


def test_decode_reads_a_tilted_photo_that_zbar_misses_as_the_desk_does(cli, capsys):
    """``qr decode`` uses the desk's reader (zxing-cpp first, pyzbar after): a bill's QR
    photographed at a tilt, which zbar alone cannot read (issue 10 item 21)."""
    from pathlib import Path

    from PIL import Image
    from pyzbar import pyzbar

    run, _due, _zero = cli
    photo = Path(__file__).resolve().parents[1] / "data" / "tilted-bill-qr.png"
    with Image.open(photo) as img:
        assert pyzbar.decode(img) == []
    capsys.readouterr()
    assert run("decode", str(photo)) == 0
    assert capsys.readouterr().out.startswith("upi://pay?pa=bestelectricity@sbi&")
