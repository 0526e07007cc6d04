"""Issue 9 item 7: receipts in every script.  The counter and online receipt PDFs are set
by reportlab with HarfBuzz shaping in the bills' Noto fonts; pdftotext gives back the
consumer's name exactly; amounts in lakh/crore grouping and the biller's digits; an online
payment says "online (UPI)"-style with its UTR/RRN.  PNG renders go to
test-artifacts/desk/receipt-*.png (pdftoppm)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from qrpay.config import Config
from qrpay.desk.counter import receipt_view
from qrpay.desk.receipt import receipt_pdf
from qrpay.payments.model import PaymentIn
from qrpay.payments.posting import post_payment
from qrpay.store import Store
from tests.desk.conftest import ARTIFACTS, Desk, add_user, insert_bill, make_bill

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                reason="poppler-utils (pdftotext) not installed")
HINDI = "ज्ञानेश्वर देशपांडे"
BENGALI = "রহিমা মিয়া"
MARATHI = "श्रीकृष्ण ऱ्हाळकर"  # eyelash ra (ऱ्ह) and ळ


def pdftotext(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "receipt.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def pages(pdf: bytes) -> int:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        return len(doc)
    finally:
        doc.close()


def to_png(pdf: bytes, name: str) -> None:
    """Render page 1 to test-artifacts/desk/<name>.png to look at; a receipt is one page."""
    assert pages(pdf) == 1
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    src = ARTIFACTS / f"{name}.pdf"
    src.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(src),
                    str(ARTIFACTS / name)], check=True)


def test_counter_receipt_extracts_the_hindi_name_exactly(
        store: Store, make_desk: Callable[[], Desk], tmp_path: Path) -> None:
    insert_bill(store, make_bill(name=HINDI, amount=1234567850, late_amount=None))
    add_user(store, "asha")
    desk = make_desk()
    assert desk.login("asha") == 303
    r = desk.collect(desk.scan("B2611100000001").text, "1,23,45,678.50", mode="card",
                     reference="APPR-77")
    pdf = desk.client.get(r.headers["location"] + "/pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    text = pdftotext(pdf.content, tmp_path)
    assert HINDI in text
    assert "₹ 1,23,45,678.50" in text  # lakh/crore grouping
    assert "काउंटर (कार्ड)" in text and "APPR-77" in text and "BEST-000000001" in text
    assert "बेस्ट उपक्रम" in text and "asha" in text
    to_png(pdf.content, "receipt-counter-hi")


def _online(store: Store, config: Config, biller: str, bill_no: str, name: str,
            channel: str, mode: str | None, utr: str) -> bytes:
    bill = make_bill(bill_no, biller=biller, name=name, amount=123450, late_amount=None)
    insert_bill(store, dataclasses.replace(bill, mobile="+8801717784483"))
    b = config.biller(biller)
    with store.begin() as conn:
        done = post_payment(conn, config, PaymentIn(
            channel=channel, txn_id="T-" + bill_no, bill_no=bill_no, amount=123450,
            currency=b.currency, paid_at=dt.datetime.now(dt.UTC), utr=utr, mode=mode))
        assert done.receipt_no
        view = receipt_view(conn, config, done.receipt_no)
    return receipt_pdf(view, "2026-11-20 10:15")


def test_online_receipt_in_bengali_digits_with_the_channels_reference(
        store: Store, breb_config: Config, tmp_path: Path) -> None:
    pdf = _online(store, breb_config, "dhaka-pbs-1", "2611104231245", BENGALI, "bkash",
                  None, "8AB12CD34E")
    text = pdftotext(pdf, tmp_path)
    assert BENGALI in text
    assert "৳ ১,২৩৪.৫০" in text  # the biller prints Bengali digits
    assert "অনলাইন (বিকাশ)" in text and "8AB12CD34E" in text
    assert "কাউন্টার" not in text
    to_png(pdf, "receipt-online-bn")


def test_online_upi_receipt_says_online_upi_and_its_utr(
        store: Store, best_config: Config, tmp_path: Path) -> None:
    pdf = _online(store, best_config, "best", "B2611100000009", HINDI, "upi", "upi",
                  "412345678901")
    text = pdftotext(pdf, tmp_path)
    assert HINDI in text and "ऑनलाइन (यूपीआई)" in text and "412345678901" in text
    to_png(pdf, "receipt-online-hi")


def test_cancelled_receipt_is_stamped_with_its_reason(
        store: Store, make_desk: Callable[[], Desk], tmp_path: Path) -> None:
    insert_bill(store, make_bill(name=HINDI))
    add_user(store, "meera", "supervisor")
    desk = make_desk()
    assert desk.login("meera") == 303
    r = desk.collect(desk.scan("B2611100000001").text, "1234.50")
    receipt = r.headers["location"]
    desk.post(receipt + "/cancel", {"reason": "गलत बिल"})
    pdf = desk.client.get(receipt + "/pdf").content
    assert "रद्द / CANCELLED: गलत बिल (by meera)" in pdftotext(pdf, tmp_path)
    to_png(pdf, "receipt-cancelled-hi")


def test_marathi_name_extracts_exactly(store: Store, best_config: Config,
                                       tmp_path: Path) -> None:
    pdf = _online(store, best_config, "best", "B2611100000010", MARATHI, "upi", "upi",
                  "412345678902")
    assert MARATHI in pdftotext(pdf, tmp_path)
    to_png(pdf, "receipt-online-mr")


def test_consumer_downloads_the_online_receipt_from_the_bill_page(
        store: Store, best_config: Config, app_client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import re

    from qrpay.payload import bill_url

    _online(store, best_config, "best", "B2611100000011", HINDI, "upi", "upi", "412345678903")
    bill = make_bill("B2611100000011", name=HINDI, amount=123450, late_amount=None)
    url = bill_url(bill, best_config.biller("best"), best_config, bill.amount)
    page = app_client.get(url[url.index("/b/"):]).text
    link = re.search(r'href="([^"]+\.pdf\?t=[^"]+)" class="receipt-pdf"', page)
    assert link, "no receipt link on the bill page"
    pdf = app_client.get(link.group(1).replace("&amp;", "&"))
    assert pdf.status_code == 200
    text = pdftotext(pdf.content, tmp_path)
    assert HINDI in text and "ऑनलाइन (यूपीआई)" in text and "412345678903" in text
    forged = link.group(1).split("?t=")[0] + "?t=x.y"
    assert app_client.get(forged).status_code == 404
