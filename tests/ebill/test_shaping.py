"""Text is shaped by HarfBuzz: the PDF carries the glyphs HarfBuzz chose (conjuncts,
reordered vowel signs), not one glyph per code point; missing fonts or glyphs are errors."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import pytest
import uharfbuzz as hb

from qrpay.ebill import fonts
from qrpay.ebill.render import render_bill
from qrpay.ebill.shaping import itemise, shape
from qrpay.errors import RenderError
from tests.ebill.conftest import by_language


def harfbuzz_glyphs(role: str, text: str) -> list[int]:
    """Glyph ids for ``text`` straight from uharfbuzz and the font file (no qrpay code)."""
    data = fonts.font_path(role).read_bytes()
    font = hb.Font(hb.Face(hb.Blob(data)))
    buf = hb.Buffer()
    buf.add_str(text)
    buf.guess_segment_properties()
    hb.shape(font, buf, {})
    return [info.codepoint for info in buf.glyph_infos]


def nominal_glyphs(role: str, text: str) -> list[int]:
    font = fonts.font(role).hb_font
    return [font.get_nominal_glyph(ord(ch)) or 0 for ch in text]


def content_streams(pdf: bytes) -> str:
    streams = re.findall(rb"stream\n(.*?)\nendstream", pdf, re.S)
    out = []
    for raw in streams:
        try:
            text = zlib.decompress(raw).decode("latin-1")
        except zlib.error:
            continue
        if " Tf" in text:
            out.append(text)
    return "\n".join(out)


def shown_glyphs(content: str) -> str:
    """Every glyph id the page shows, in order, as one hex string."""
    return "".join(re.findall(r"<([0-9A-F]{4})>", content))


def hexes(gids: list[int]) -> str:
    return "".join(f"{g:04X}" for g in gids)


def assert_shaped_on_page(pdf: bytes, role: str, text: str) -> None:
    shown = shown_glyphs(content_streams(pdf))
    shaped = harfbuzz_glyphs(role, text)
    assert shaped != nominal_glyphs(role, text)  # shaping changes this text
    assert hexes(shaped) in shown
    assert hexes(nominal_glyphs(role, text)) not in shown


def test_hindi_labels_are_drawn_with_the_glyphs_harfbuzz_shapes(best_bills: list,
                                                                best_config) -> None:
    bill = by_language(best_bills, "hi")
    pdf = render_bill(bill, best_config.biller(bill.biller), best_config).pdf
    assert_shaped_on_page(pdf, "deva-bold", "उपभोक्ता क्रमांक")  # conjuncts क्त, क्र
    assert_shaped_on_page(pdf, "deva-bold", "बिजली बिल")  # ि drawn before its consonant


def test_bengali_labels_are_drawn_with_the_glyphs_harfbuzz_shapes(breb_bills: list,
                                                                  breb_config) -> None:
    bill = by_language(breb_bills, "bn")
    pdf = render_bill(bill, breb_config.biller(bill.biller), breb_config).pdf
    assert_shaped_on_page(pdf, "beng-bold", "বিদ্যুৎ বিল")  # conjunct দ্য, ি reordered
    assert_shaped_on_page(pdf, "beng-bold", "গ্রাহকের নাম")  # গ্র conjunct, ে before ক


def test_consumer_name_with_conjuncts_is_shaped(best_bills: list, best_config) -> None:
    bill = next(b for b in best_bills if "ज्ञ" in b.name or "त्र्य" in b.name)
    pdf = render_bill(bill, best_config.biller(bill.biller), best_config).pdf
    word = next(w for w in bill.name.split() if "ज्ञ" in w or "त्र्य" in w)
    shaped = harfbuzz_glyphs("deva-bold", word)
    assert len(shaped) < len(word)  # conjuncts: fewer glyphs than code points
    assert hexes(shaped) in shown_glyphs(content_streams(pdf))


def test_mixed_script_text_is_cut_into_runs_per_script() -> None:
    runs = itemise("बिल B2611 · বিল ৳ ১২")
    assert [script for script, _ in runs] == ["deva", "latin", "beng"]
    assert shape("बिल B2611").runs[0].role == "deva"


@pytest.mark.parametrize("text", ["தமிழ்", "电费"])
def test_text_no_bill_font_can_draw_is_an_error(text: str) -> None:
    with pytest.raises(RenderError) as info:
        shape(text)
    assert info.value.code == "missing_glyph"


def test_glyph_missing_from_the_chosen_font_is_an_error() -> None:
    import unicodedata

    candidates = [(chr(cp), role) for role, block in
                  (("deva", range(0x1CD0, 0x1D00)), ("deva", range(0xA8E0, 0xA900)),
                   ("beng", range(0x0980, 0x0A00)))
                  for cp in block if unicodedata.name(chr(cp), "")]
    missing = next((ch for ch, role in candidates if not fonts.font(role).has(ch)), None)
    if missing is None:
        pytest.skip("the installed fonts cover every Devanagari/Bengali character")
    with pytest.raises(RenderError) as info:
        shape(f"x {missing}")
    assert info.value.code == "missing_glyph"


def test_missing_font_file_is_an_error(monkeypatch: pytest.MonkeyPatch,
                                       tmp_path: Path) -> None:
    monkeypatch.setattr(fonts, "SYSTEM_DIR", tmp_path / "none")
    monkeypatch.setattr(fonts, "PROJECT_DIR", tmp_path / "none")
    monkeypatch.delenv("QRPAY_FONTS", raising=False)
    with pytest.raises(RenderError) as info:
        fonts.font_path("deva")
    assert info.value.code == "font_missing"


def test_utility_font_folder_overrides_the_system_font(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    (tmp_path / "fonts.toml").write_text('[fonts]\nlatin = "Brand.ttf"\n')
    (tmp_path / "Brand.ttf").write_bytes(fonts.font_path("latin").read_bytes())
    monkeypatch.setenv("QRPAY_FONTS", str(tmp_path))
    assert fonts.font_path("latin") == tmp_path / "Brand.ttf"
