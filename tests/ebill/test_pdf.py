"""Text extracted from bill PDFs (pdfium, and poppler's pdftotext when installed) is the
text that was drawn: conjuncts and reordered vowel signs come out in logical order, once."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from qrpay.bills import Bill
from qrpay.config import Config
from qrpay.ebill.render import render_bill
from qrpay.ebill.shaping import shape
from qrpay.templating import texts

LABEL_KEYS = ("name", "address", "account_no", "bill_no", "category", "meter_no",
              "amount_due", "due_date", "after_due", "charges", "total", "units", "average",
              "generated")


def pdfium_text(pdf: bytes) -> str:
    doc = pdfium.PdfDocument(pdf)
    try:
        return str(doc[0].get_textpage().get_text_range())
    finally:
        doc.close()


def poppler_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "bill.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def words_of(bill: Bill, lang: str) -> list[str]:
    """The bill's own words in its language: name, address, labels."""
    wording = texts("bill", lang)
    return [bill.name, bill.address or "", *(str(wording[k]) for k in LABEL_KEYS)]


def extractors(tmp_path: Path) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = [("pdfium", pdfium_text)]
    if shutil.which("pdftotext"):
        out.append(("pdftotext", lambda pdf: poppler_text(pdf, tmp_path)))
    return out


def assert_extracts(pdf: bytes, words: list[str], tmp_path: Path) -> None:
    for name, extract in extractors(tmp_path):
        text = extract(pdf)  # type: ignore[operator]
        missing = [w for w in words if w and w not in text]
        assert not missing, (name, missing)


def test_hindi_bill_text_extracts_exactly(best_bills: list[Bill], best_config: Config,
                                          tmp_path: Path) -> None:
    bill = next(b for b in best_bills if "पश्चिम" in (b.address or "")
                and (b.language or "hi") == "hi" and b.amount > 0)
    pdf = render_bill(bill, best_config.biller(bill.biller), best_config).pdf
    assert_extracts(pdf, [*words_of(bill, "hi"), "स्थिर शुल्क", "पश्चिम"], tmp_path)


def test_bengali_bill_text_extracts_exactly(breb_bills: list[Bill], breb_config: Config,
                                            tmp_path: Path) -> None:
    bill = next(b for b in breb_bills if (b.language or "bn") == "bn" and b.amount > 0)
    pdf = render_bill(bill, breb_config.biller(bill.biller), breb_config).pdf
    assert_extracts(pdf, [*words_of(bill, "bn"), "শেষ", "কম্পিউটারে"], tmp_path)


@pytest.mark.parametrize("word", ["पश्चिम", "स्थिर", "শেষ", "কম্পিউটারে"])
def test_glyph_texts_give_each_character_once(word: str) -> None:
    """Readers that ignore ActualText see each character once, not a cluster per glyph."""
    for run in shape(word).runs:
        assert sorted("".join(run.texts)) == sorted(run.source)
        assert run.needs_actual_text
