"""The monthly PDF report: tables, notes and charts on one A4 page, in each language;
a PNG of each page kept under test-artifacts/ to look at."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pytest

from qrpay.config import Config
from qrpay.reports import rollup
from qrpay.reports.collections import collections
from qrpay.reports.pdf import MonthData, monthly_pdf
from qrpay.store import Store

from .conftest import synthetic_ledger

ART = Path(__file__).resolve().parents[2] / "test-artifacts" / "reports"


@pytest.mark.parametrize("lang", ["en", "hi", "bn"])
def test_monthly_pdf(store: Store, kesco_config: Config, lang: str) -> None:
    nxt = synthetic_ledger(store, modes=(("card", 187, 8_23_97_211), ("netbanking", 24,
                                                                       67_79_176)))
    synthetic_ledger(store, modes=(("cash", 50, 12_34_567),), first_id=nxt,
                     channel="counter")
    rollup.catch_up(store, kesco_config)
    with store.connect() as conn:
        report = collections(conn, kesco_config, "2019-12", biller="kesco")
        data = MonthData.load(conn, kesco_config, report)
    pdf = monthly_pdf(data, lang)
    assert pdf.startswith(b"%PDF")
    doc = pdfium.PdfDocument(pdf)
    assert len(doc) == 1
    text = doc[0].get_textpage().get_text_range()
    # 8,23,97,211 + 67,79,176 + 12,34,567, in the report's digits
    total = "৯,০৪,১০,৯৫৪.০০" if lang == "bn" else "9,04,10,954.00"
    assert total in text
    ART.mkdir(parents=True, exist_ok=True)
    doc[0].render(scale=1.6).to_pil().save(ART / f"monthly-{lang}.png")
    doc.close()


def test_pdf_text_is_shaped_by_harfbuzz() -> None:
    from reportlab.pdfbase.ttfonts import ShapedStr, shapeStr

    from qrpay.reports.pdf import _fonts

    shaped = shapeStr("क्षेत्र", _fonts()["deva"], 10)
    assert isinstance(shaped, ShapedStr)
    assert len(shaped.__shapeData__) < len("क्षेत्र")  # conjuncts: fewer glyphs than letters
