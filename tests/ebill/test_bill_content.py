"""What a utility prints (issue 10 items 8, 9, 21): credit and zero bills bilingual with
one sign convention, the profile's logo, meter readings, tariff, bill date, sanctioned load
and last payment when the bill file has them, and a QR as large as its panel allows."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest

from qrpay.bills import Bill, Readings
from qrpay.config import Config
from qrpay.ebill.render import render_bill
from qrpay.ebill.view import labels_for
from qrpay.errors import RenderError
from tests.ebill.conftest import by_language
from tests.ebill.test_render import page_text

MM = 72 / 25.4


def _credit(bills: list[Bill], lang: str) -> Bill:
    return next(b for b in bills if b.amount < 0 and (b.language or lang) == lang)


def test_credit_bill_has_no_minus_sign_and_every_line_in_both_languages(
        best_bills: list[Bill], best_config: Config) -> None:
    bill = _credit(best_bills, "hi")
    text = page_text(render_bill(bill, best_config.biller(bill.biller), best_config).pdf)
    assert not re.search(r"[-\u2212]\s*[\d₹]|₹\s*[-\u2212]", text), text
    for words in ("जमा शेष", "Credit balance", "कुल जमा", "Total credit",
                  "अगले बिल में समायोजित जमा राशि", "Credit carried to next bill"):
        assert words in text
    assert "Total payable" not in text and "Amount due" not in text


def test_zero_bill_says_nothing_to_pay_in_both_languages(best_bills: list[Bill],
                                                         best_config: Config) -> None:
    bill = next(b for b in best_bills if b.amount == 0 and (b.language or "hi") == "hi")
    text = page_text(render_bill(bill, best_config.biller(bill.biller), best_config).pdf)
    assert "इस माह कोई भुगतान देय नहीं" in text and "Nothing to pay this month" in text


def test_bengali_demand_charge_is_labelled_demand_charge(breb_bills: list[Bill],
                                                         breb_config: Config) -> None:
    lab = labels_for(breb_config.default_biller, "bn")
    assert lab.local["charges_heads"]["demand"] == "ডিমান্ড চার্জ"
    assert lab.english["charges_heads"]["demand"] == "Demand charge"
    assert lab.local["charges_heads"]["fixed"] != "ডিমান্ড চার্জ"
    bill = by_language(breb_bills, "bn")
    assert ("demand", 3000) in bill.charges  # the sample's BD bills carry a demand charge
    text = page_text(render_bill(bill, breb_config.biller(bill.biller), breb_config).pdf)
    assert "ডিমান্ড চার্জ" in text and "Demand charge" in text and "Fixed charge" not in text


def test_logo_from_the_profile_is_printed(best_bills: list[Bill], best_config: Config) -> None:
    bill = by_language(best_bills, "hi")
    biller = best_config.biller(bill.biller)
    assert biller.logo.endswith("samples/logos/best.png")
    pdf = render_bill(bill, biller, best_config).pdf
    assert b"/Subtype /Image" in pdf and b"/SMask" in pdf
    plain = dataclasses.replace(biller, code="nologo", logo="")
    assert b"/Subtype /Image" not in render_bill(bill, plain, best_config).pdf


def test_a_missing_logo_file_is_a_render_error(best_bills: list[Bill],
                                               best_config: Config) -> None:
    bill = by_language(best_bills, "hi")
    gone = dataclasses.replace(best_config.biller(bill.biller), code="gone",
                               logo="/nonexistent/logo.png")
    with pytest.raises(RenderError) as info:
        render_bill(bill, gone, best_config)
    assert info.value.code == "logo_missing"


def _with_details(bill: Bill) -> Bill:
    return dataclasses.replace(
        bill, language="hi", bill_date=dt.date(2026, 11, 20), tariff="LT I(B) Residential",
        sanctioned_load="3.5", last_payment=123_456, last_payment_date=dt.date(2026, 10, 9),
        readings=Readings(previous=12_000, present=12_286, previous_date=dt.date(2026, 10, 18),
                          present_date=dt.date(2026, 11, 18), multiplier=1), units=286)


def test_readings_tariff_load_bill_date_and_last_payment_are_printed(
        best_bills: list[Bill], best_config: Config) -> None:
    bill = _with_details(by_language(best_bills, "hi"))
    text = page_text(render_bill(bill, best_config.biller(bill.biller), best_config).pdf)
    for shown in ("12286", "12000", "18 नव 2026", "18 अक्टू 2026", "वर्तमान रीडिंग",
                  "Present reading", "Previous reading", "Multiplier", "LT I(B) Residential",
                  "3.5 kW", "Sanctioned load", "Bill date", "20 नव 2026", "Last payment",
                  "₹ 1,234.56", "09 अक्टू 2026"):
        assert shown in text, shown


def test_optional_print_fields_are_left_out_when_absent(best_bills: list[Bill],
                                                        best_config: Config) -> None:
    bill = dataclasses.replace(_with_details(by_language(best_bills, "hi")), bill_date=None,
                               tariff=None, sanctioned_load=None, readings=None,
                               last_payment=None, last_payment_date=None)
    text = page_text(render_bill(bill, best_config.biller(bill.biller), best_config).pdf)
    for absent in ("Present reading", "Tariff", "Sanctioned load", "Bill date",
                   "Last payment"):
        assert absent not in text


@pytest.mark.parametrize("paper", ["A4", "A5"])
def test_qr_is_as_large_as_the_panel_allows(best_bills: list[Bill], breb_bills: list[Bill],
                                            best_config: Config, breb_config: Config,
                                            paper: str) -> None:
    for bill, config in ((by_language(best_bills, "hi"), best_config),
                         (by_language(breb_bills, "bn"), breb_config)):
        r = render_bill(bill, config.biller(bill.biller), config, size=paper)
        assert r.qr_box is not None
        side_mm = r.qr_box[2] / MM  # with its quiet zone
        assert side_mm >= (48 if paper == "A4" else 38), side_mm


@pytest.mark.parametrize("paper, module_mm", [("A4", 1.12), ("A5", 1.10)])
def test_qr_modules_are_pinned_where_zbar_reads_blur_and_jpeg(
        best_bills: list[Bill], breb_bills: list[Bill], best_config: Config,
        breb_config: Config, paper: str, module_mm: float) -> None:
    """Not as large as the panel allows (issue 10 item 21): 1.12 / 1.10 mm modules are
    4.3-4.4 px at 100 dpi (a 1.5 px blur reads) and 6.5-6.6 px at 150 dpi (JPEG q=20
    reads; zbar misses finder patterns from about 7 px), for UPI's version 7 and Bangla
    QR's version 6 alike."""
    from qrpay.qr import make_symbol

    for bill, config, version in ((by_language(best_bills, "hi"), best_config, 7),
                                  (by_language(breb_bills, "bn"), breb_config, 6)):
        r = render_bill(bill, config.biller(bill.biller), config, size=paper)
        assert r.qr_box is not None and r.payload is not None
        n = len(make_symbol(r.payload).matrix)
        assert n == 17 + 4 * version
        assert r.qr_box[2] / MM / (n + 8) == pytest.approx(module_mm, abs=1e-6)


def _photo(pdf: bytes, box: tuple[float, float, float], dpi: int) -> object:
    """The QR with 12 mm of page around it, rasterised at ``dpi`` and blurred by 1.5 px."""
    import pypdfium2 as pdfium
    from PIL import ImageFilter

    x, y, side = box
    pad = 12 * MM
    doc = pdfium.PdfDocument(pdf)
    try:
        page = doc[0]
        width, height = page.get_size()
        crop = (x - pad, y - pad, width - x - side - pad, height - y - side - pad)
        image = page.render(scale=dpi / 72, crop=crop, grayscale=True).to_pil().convert("L")
    finally:
        doc.close()
    return image.filter(ImageFilter.GaussianBlur(1.5))


def test_qr_survives_a_blurred_150_dpi_photo_with_both_readers(
        best_bills: list[Bill], breb_bills: list[Bill], best_config: Config,
        breb_config: Config) -> None:
    """The issue's 0 %: 0.44 mm modules (2.6 px at 150 dpi) under a 1.5 px blur."""
    import zxingcpp
    from pyzbar import pyzbar

    for bill, config in ((by_language(best_bills, "hi"), best_config),
                         (by_language(breb_bills, "bn"), breb_config)):
        r = render_bill(bill, config.biller(bill.biller), config)
        assert r.qr_box is not None
        image = _photo(r.pdf, r.qr_box, 150)
        assert [s.data.decode() for s in pyzbar.decode(image)] == [r.payload]
        assert [z.text for z in zxingcpp.read_barcodes(image)] == [r.payload]
