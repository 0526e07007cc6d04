"""Symbols: same modules as segno's best mask, decodable from PNG, SVG-free PDF vectors."""

from __future__ import annotations

import io
import re

import pypdfium2
import pytest
import segno
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from qrpay import qr
from qrpay.errors import RenderError
from qrpay.payload import bill_payload
from tests.payload.helpers import make_bill


@pytest.fixture(params=["upi", "bharatqr", "banglaqr"])
def payload(request, best, breb):
    config, biller, bill = breb if request.param == "banglaqr" else best
    return bill_payload(bill, biller, config, qr_format=request.param)


def _same(a: segno.QRCode, b: segno.QRCode) -> bool:
    return (a.matrix == b.matrix and a.version == b.version and a.error == b.error
            and a.mask == b.mask)


def _segnos(text: str) -> segno.QRCode:
    """segno's symbol for the segments we chose, at our version and error level (segno
    raises the level only for one-segment symbols; we raise it for any), after checking
    that segno picks the same version for those segments at level M."""
    segments = qr.segments_for(text)
    ours = qr.encode(text)
    assert segno.make(segments, error="m", micro=False, eci=True).version == ours.version
    return segno.make(segments, error=ours.error, version=ours.version, micro=False,
                      eci=True, boost_error=False)


def test_bill_symbols_are_segnos_best_mask_symbols(payload):
    ours = qr.make_symbol(payload)
    assert _same(ours, _segnos(payload))
    assert ours.error in ("M", "Q", "H") and not ours.is_micro


def test_segments_put_digit_runs_in_numeric_and_the_upper_case_url_in_alphanumeric():
    """The fewest bits: ISO/IEC 18004 7.4 mode costs (numeric 10 bits per 3 digits,
    alphanumeric 11 per 2 characters, byte 8 per character, plus each segment's header)."""
    text = "upi://pay?pa=a@b&tr=12345678901234&url=HTTPS://PAY.EXAMPLE/B/B123/K1.ABCDEFGH"
    modes = [(m, chunk.decode()) for m, chunk in qr.segment(text.encode(), 1)]
    assert modes[-1] == ("a", "HTTPS://PAY.EXAMPLE/B/B123/K1.ABCDEFGH")
    assert ("n", "12345678901234") in modes
    assert "".join(chunk for _, chunk in modes) == text
    assert qr.segment(b"abc", 1) == [("b", b"abc")]
    # a short digit run inside text stays in the byte segment: its header would cost more
    assert qr.segment(b"ab12cd", 1) == [("b", b"ab12cd")]


def test_a_mixed_segment_symbol_decodes_back_with_both_readers(payload):
    import zxingcpp
    from pyzbar import pyzbar

    img = Image.open(io.BytesIO(qr.png_bytes(payload, scale=4)))
    assert [r.text for r in zxingcpp.read_barcodes(img)] == [payload]
    assert [s.data.decode() for s in pyzbar.decode(img)] == [payload]


_chars = st.characters(codec="utf-8", exclude_categories=("Cs",))


@settings(max_examples=25, deadline=None)
@given(st.text(_chars, min_size=1, max_size=400).map(lambda s: "upi://pay?" + s))
def test_any_byte_payload_gives_the_same_symbol_as_segno(text):
    try:
        text.encode("iso-8859-1")
    except UnicodeError:
        try:
            text.encode("shift_jis")
            return  # segno would pick Shift_JIS; we always use UTF-8 then
        except UnicodeError:
            pass
    assert _same(qr.encode(text), _segnos(text))


@pytest.mark.parametrize("size", [1, 17, 50, 120, 271, 700])
def test_every_version_range_matches_segno(size):
    text = ("upi://pay?pa=x@y&pn=" + "abcdefghij" * 80)[:size + 10]
    assert _same(qr.encode(text), _segnos(text))
    mixed = ("upi://pay?pa=x@y&tr=" + "0123456789ABCDEFGHIJ/.:" * 60)[:size + 10]
    assert _same(qr.encode(mixed), _segnos(mixed))


def test_alphanumeric_only_payloads_fall_back_to_segno():
    assert _same(qr.encode("HTTPS://X.EXAMPLE/1"), segno.make("HTTPS://X.EXAMPLE/1",
                                                              error="m", micro=False))


def test_png_decodes_back_to_the_payload(payload, tmp_path):
    path = tmp_path / "qr.png"
    qr.save_png(payload, path, scale=4)
    assert qr.decode_image(path) == [payload]


def test_tiny_png_at_two_pixels_per_module_still_decodes(payload):
    png = io.BytesIO(qr.png_bytes(payload, scale=2))
    assert qr.decode_image(png) == [payload]


def test_svg_is_vector_with_a_quiet_zone(payload, tmp_path):
    path = tmp_path / "qr.svg"
    qr.save_svg(payload, path, scale=0.4, unit="mm")
    svg = path.read_text()
    side = (qr.make_symbol(payload).symbol_size(border=4)[0]) * 0.4
    width = re.search(r'width="([0-9.]+)mm"', svg)
    assert "<path" in svg and float(width.group(1)) == pytest.approx(side)


def _pdf_page(payload: str, module_mm: float = 0.4) -> tuple[bytes, float]:
    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=A4)
    side = qr.draw(canvas, payload, 100, 400, module_mm=module_mm)
    canvas.showPage()
    canvas.save()
    return buf.getvalue(), side


def test_pdf_vector_symbol_decodes_after_rasterising(payload):
    pdf, side = _pdf_page(payload)
    modules = qr.make_symbol(payload).symbol_size(border=4)[0]
    assert side == pytest.approx(modules * 0.4 * 72 / 25.4)
    assert b"/Subtype /Image" not in pdf  # vectors, not a raster
    page = pypdfium2.PdfDocument(pdf)[0]
    image: Image.Image = page.render(scale=200 / 72).to_pil()
    assert qr.decode_image(image) == [payload]


def test_pdf_symbol_modules_match_the_matrix(best):
    config, biller, bill = best
    payload = bill_payload(bill, biller, config)
    sym = qr.make_symbol(payload)
    pdf, _ = _pdf_page(payload, module_mm=1.0)
    px_per_mm = 10
    page = pypdfium2.PdfDocument(pdf)[0]
    img = page.render(scale=px_per_mm * 25.4 / 72).to_pil().convert("L")
    x0 = 100 / 72 * 25.4 * px_per_mm + 4 * px_per_mm
    top = (A4[1] - 400) / 72 * 25.4 * px_per_mm - (len(sym.matrix) + 4) * px_per_mm
    wrong = sum(
        (img.getpixel((int(x0 + (j + .5) * px_per_mm), int(top + (i + .5) * px_per_mm))) < 128)
        != bool(v) for i, row in enumerate(sym.matrix) for j, v in enumerate(row))
    assert wrong == 0


def test_modules_smaller_than_four_tenths_of_a_millimetre_are_refused(best):
    config, biller, bill = best
    with pytest.raises(RenderError) as err:
        qr.draw(Canvas(io.BytesIO()), bill_payload(bill, biller, config), 0, 0,
                module_mm=0.3)
    assert err.value.code == "module_too_small"


def test_empty_payload_is_refused():
    with pytest.raises(RenderError) as err:
        qr.make_symbol("")
    assert err.value.code == "empty_payload"


def test_late_amount_symbol_differs_from_the_printed_one(best):
    config, biller, _ = best
    bill = make_bill("B2611100000003", "best")
    printed = bill_payload(bill, biller, config)
    late = bill_payload(bill, biller, config, on=bill.due_date.replace(day=6))
    assert qr.make_symbol(printed).matrix != qr.make_symbol(late).matrix
