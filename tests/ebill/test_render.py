"""A bill page: amounts in its text match the bill, the QR decodes to the bill's payload,
charges add up, nothing-due bills carry no QR, output is reproducible."""

from __future__ import annotations

import dataclasses

import pypdfium2 as pdfium
import pytest

from qrpay.bills import Bill
from qrpay.config import Config
from qrpay.ebill.render import render_bill, render_book
from qrpay.ebill.verify import check, decode_qr
from qrpay.ebill.view import charge_rows, labels_for
from qrpay.money import format_amount
from qrpay.payload import bill_payload
from tests.ebill.conftest import by_language


def page_text(pdf: bytes, page: int = 0) -> str:
    doc = pdfium.PdfDocument(pdf)
    try:
        return doc[page].get_textpage().get_text_range()
    finally:
        doc.close()


def money(bill: Bill, config: Config, minor: int) -> str:
    biller = config.biller(bill.biller)
    return format_amount(minor, currency=biller.currency, numerals=biller.numerals)


@pytest.mark.parametrize("lang", ["hi", "mr"])
def test_indian_bill_text_shows_the_bill_amounts(best_bills: list[Bill], best_config: Config,
                                                 lang: str) -> None:
    bill = by_language(best_bills, lang)
    text = page_text(render_bill(bill, best_config.biller(bill.biller), best_config).pdf)
    assert money(bill, best_config, bill.amount) in text
    for _head, minor in bill.charges:
        assert money(bill, best_config, minor) in text
    assert bill.bill_no in text and bill.account_no in text


def test_bengali_bill_shows_amounts_in_bengali_digits(breb_bills: list[Bill],
                                                      breb_config: Config) -> None:
    bill = by_language(breb_bills, "bn")
    text = page_text(render_bill(bill, breb_config.biller(bill.biller), breb_config).pdf)
    amount = money(bill, breb_config, bill.amount)
    assert amount.startswith("৳ ") and any(d in amount for d in "০১২৩৪৫৬৭৮৯")
    assert amount in text
    assert format_amount(bill.amount) not in text  # not in ASCII digits


@pytest.mark.parametrize("size", ["A4", "A5"])
def test_qr_decodes_to_the_bill_payload(best_bills: list[Bill], breb_bills: list[Bill],
                                        best_config: Config, breb_config: Config,
                                        size: str) -> None:
    for bill, config in ((by_language(best_bills, "hi"), best_config),
                         (by_language(breb_bills, "bn"), breb_config)):
        r = render_bill(bill, config.biller(bill.biller), config, size=size)
        expected = bill_payload(bill, config.biller(bill.biller), config)
        assert r.payload == expected
        assert r.qr_box is not None
        assert decode_qr(r.pdf, r.qr_box, r.page_size) == [expected]
        assert check(r) is None


def test_qr_modules_are_at_least_0_4_mm_on_a5(best_bills: list[Bill],
                                              best_config: Config) -> None:
    bill = by_language(best_bills, "hi")
    r = render_bill(bill, best_config.biller(bill.biller), best_config, size="A5")
    from qrpay.qr import make_symbol

    assert r.payload is not None
    modules = len(make_symbol(r.payload).matrix) + 8
    assert r.qr_box is not None
    assert r.qr_box[2] / modules >= 0.4 * 72 / 25.4 - 1e-6


def test_bill_with_nothing_due_has_no_qr(best_bills: list[Bill],
                                         best_config: Config) -> None:
    bill = next(b for b in best_bills if b.amount == 0)
    r = render_bill(bill, best_config.biller(bill.biller), best_config)
    assert r.payload is None and r.qr_box is None and r.qr_amount is None
    from tests.ebill.test_shaping import content_streams, harfbuzz_glyphs, hexes, shown_glyphs

    said = harfbuzz_glyphs("deva-bold", "इस माह कोई भुगतान देय नहीं")
    assert hexes(said) in shown_glyphs(content_streams(r.pdf))
    assert "upi://" not in page_text(r.pdf)


def test_charges_always_add_up_to_the_amount(best_bills: list[Bill],
                                             best_config: Config) -> None:
    biller = best_config.biller("best")
    lab = labels_for(biller, "en")
    bill = dataclasses.replace(best_bills[0], arrears=12_345, amount=best_bills[0].amount + 99)
    rows = charge_rows(bill, lab, biller)
    heads = [h for h, _, _, _ in rows]
    assert "Arrears" in heads and "Adjustment" in heads
    from qrpay.money import parse_amount

    def signed(text: str) -> int:  # a credit is "Credit ₹ 1.00", never a minus sign
        credit = text.startswith("Credit ")
        return (-1 if credit else 1) * parse_amount(text.removeprefix("Credit ")
                                                    .removeprefix("₹ "))

    assert sum(signed(v) for _, _, v, _ in rows) == bill.amount


def test_same_bill_renders_to_the_same_bytes(breb_bills: list[Bill],
                                             breb_config: Config) -> None:
    bill = breb_bills[0]
    biller = breb_config.biller(bill.biller)
    assert render_bill(bill, biller, breb_config).pdf == render_bill(bill, biller,
                                                                     breb_config).pdf


def test_print_book_has_a_cover_then_one_page_per_bill(breb_bills: list[Bill],
                                                       breb_config: Config) -> None:
    bills = [b for b in breb_bills if b.biller == "dhaka-pbs-1"][:3]
    pdf = render_book("1042312", bills, breb_config.biller("dhaka-pbs-1"), breb_config)
    doc = pdfium.PdfDocument(pdf)
    try:
        assert len(doc) == 1 + len(bills)
    finally:
        doc.close()
    assert bills[0].bill_no in page_text(pdf, 1)
    assert bills[2].bill_no in page_text(pdf, 3)


def test_credit_bill_shows_the_credit_and_no_pay_by_date(best_bills: list[Bill],
                                                         best_config: Config) -> None:
    bill = next(b for b in best_bills if b.amount < 0 and (b.language or "hi") == "hi")
    lab = labels_for(best_config.biller(bill.biller), "hi")
    text = page_text(render_bill(bill, best_config.biller(bill.biller), best_config).pdf)
    credit = money(bill, best_config, -bill.amount)
    assert f"Credit {credit}" in text and f"{lab.local['amount_credit']} {credit}" in text
    for gone in ("Pay by", "After due date", lab.local["due_date"], "05 दिस 2026"):
        assert gone not in text


def test_zero_bill_says_nothing_to_pay_and_has_no_pay_by_date(best_bills: list[Bill],
                                                               best_config: Config) -> None:
    bill = next(b for b in best_bills if b.amount == 0 and (b.language or "hi") == "hi")
    text = page_text(render_bill(bill, best_config.biller(bill.biller), best_config).pdf)
    assert "Nothing to pay" in text and "कोई भुगतान नहीं" in text
    assert "Pay by" not in text and "After due date" not in text


def test_payable_bill_still_shows_pay_by_and_late_amount(best_bills: list[Bill],
                                                         best_config: Config) -> None:
    bill = by_language(best_bills, "hi")
    text = page_text(render_bill(bill, best_config.biller(bill.biller), best_config).pdf)
    assert "Pay by" in text and "After due date" in text and "Credit" not in text


@pytest.mark.parametrize("lang", ["en", "hi", "mr", "bn"])
def test_every_language_words_credit_nothing_to_pay_and_every_charge_head(lang: str) -> None:
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates" / "bill"
    own = tomllib.loads((root / f"{lang}.toml").read_text(encoding="utf-8"))
    english = tomllib.loads((root / "en.toml").read_text(encoding="utf-8"))
    assert own["amount_credit"] and own["amount_zero"]
    assert set(english["charges_heads"]) <= set(own["charges_heads"])


def test_arrears_and_current_rows_carry_an_english_sub_label(best_bills: list[Bill],
                                                             best_config: Config) -> None:
    biller = best_config.biller("best")
    bill = dataclasses.replace(by_language(best_bills, "hi"), language="hi", charges=(),
                               arrears=5_000)
    text = page_text(render_bill(bill, biller, best_config).pdf)
    assert "बकाया" in text and "Arrears" in text
    assert "चालू शुल्क" in text and "Current charges" in text
    rows = charge_rows(bill, labels_for(biller, "hi"), biller)
    assert all(english for _, english, _, _ in rows)


def test_bill_url_is_never_cut_inside_its_token(best_bills: list[Bill],
                                                best_config: Config) -> None:
    from qrpay.ebill.layout import URL_MIN_SIZE, url_lines
    from qrpay.ebill.shaping import shape
    from qrpay.payload import bill_url

    url = "https://pay.bestundertaking.example/b/B2611100000000?t=k1.0CKnP7tI3uEIabcdef"
    for width in (60.0, 120.0, 181.0, 400.0):
        lines, size = url_lines(url, 5.5, width)
        assert "".join(lines) == url
        assert len(lines) == 1 or lines[1].startswith("?t=")
        assert size == URL_MIN_SIZE or all(shape(ln).width_at(size) <= width + 1e-6
                                           for ln in lines)
    bill = by_language(best_bills, "hi")
    biller = best_config.biller(bill.biller)
    query = bill_url(bill, biller, best_config, bill.amount).split("?")[1]
    for paper in ("A4", "A5"):
        assert query in page_text(render_bill(bill, biller, best_config, size=paper).pdf)


@pytest.mark.parametrize(("history", "shown"), [((3610,) + (0,) * 11, 301),
                                                ((300,) * 11 + (306,), 301),
                                                ((300,) * 11 + (305,), 300),
                                                ((), 0)])
def test_twelve_month_average_rounds_half_up(history: tuple[int, ...], shown: int) -> None:
    from qrpay.ebill.view import average

    assert average(history) == shown
