"""Charts in English, Hindi and Bengali: the right text, shaped (widths as HarfBuzz lays
them out, not one glyph per code point), kept as PNGs under test-artifacts/ to look at."""

from __future__ import annotations

from pathlib import Path

import pytest

from qrpay.config import Config
from qrpay.ebill.shaping import shape
from qrpay.reports import charts, rollup
from qrpay.reports.accounts import Group
from qrpay.reports.collections import collections
from qrpay.reports.labels import word
from qrpay.store import Store

from .conftest import synthetic_ledger

ART = Path(__file__).resolve().parents[2] / "test-artifacts" / "charts"
TITLES = {"per_day": "per_day", "share": "share", "digital_vs_target": "digital_vs_target"}


def ledger(store: Store) -> None:
    nxt = synthetic_ledger(store, modes=(("card", 40, 90_000), ("upi", 90, 120_000)))
    nxt = synthetic_ledger(store, modes=(("wallet", 30, 40_000),), first_id=nxt,
                           channel="phonepe")
    synthetic_ledger(store, modes=(("cash", 60, 70_000),), first_id=nxt, channel="counter")


def texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(lambda o: hasattr(o, "get_text"))
            if t.get_text()]


def naive_width(text: str, size: float) -> float:
    """The width if every code point were drawn as its own glyph (no shaping)."""
    from qrpay.ebill.fonts import font, role_for
    from qrpay.ebill.shaping import itemise

    total = 0.0
    for script, chunk in itemise(text):
        f = font(role_for(script, False))
        scale = size / f.sfnt.upem
        for ch in chunk:
            gid = f.hb_font.get_nominal_glyph(ord(ch)) or 0
            total += f.hb_font.get_glyph_h_advance(gid) * scale
    return total


@pytest.mark.parametrize("lang", ["en", "hi", "bn"])
def test_collection_charts_in_each_language(store: Store, kesco_config: Config,
                                            lang: str) -> None:
    ledger(store)
    rollup.catch_up(store, kesco_config)
    with store.connect() as conn:
        report = collections(conn, kesco_config, "2019-12", biller="kesco")
    ART.mkdir(parents=True, exist_ok=True)
    names = charts.channel_names(kesco_config, lang)
    for kind in TITLES:
        fig = charts.collections_chart(report, kind, lang, names)
        title = fig.axes[0].get_title()
        assert title.startswith(word(lang, TITLES[kind]))
        if kind == "digital_vs_target":
            assert any(t.startswith(word(lang, "target")) for t in texts(fig))
        if kind == "per_day" and lang != "en":
            assert names["counter"] in [t.get_text() for t in fig.axes[0].get_legend().texts]
        if lang == "bn":
            assert "২০১৯-১২" in title  # Bengali digits in Bengali charts
        _assert_shaped(fig, fig.axes[0].title, lang)
        charts.save(fig, ART / f"{kind}-{lang}.png")
        assert (ART / f"{kind}-{lang}.png").stat().st_size > 5000
    svg = charts.to_svg(charts.collections_chart(report, "share", lang, names))
    assert svg.startswith("<svg") and "<path" in svg


def _assert_shaped(fig, text_artist, lang: str) -> None:
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    drawn = text_artist.get_window_extent(renderer).width
    size = text_artist.get_fontsize() * fig.dpi / 72
    text = text_artist.get_text()
    shaped = shape(text).width_at(size)
    assert abs(drawn - shaped) / shaped < 0.03, (text, drawn, shaped)
    if lang != "en":  # shaping changes the width of these titles noticeably
        naive = naive_width(text, size)
        assert abs(drawn - shaped) < abs(drawn - naive), (text, drawn, shaped, naive)


@pytest.mark.parametrize("lang", ["en", "hi", "bn"])
def test_arrears_chart(lang: str) -> None:
    groups = [Group(("urban", "1000000"), 12, 4_56_789_00), Group(("rural", "1000001"), 30,
                                                                  12_34_567_00),
              Group(("agriculture", "1000002"), 5, 98_765_00)]
    fig = charts.arrears_chart(groups, lang, "INR")
    assert fig.axes[0].get_title() == word(lang, "arrears_by_area")
    ART.mkdir(parents=True, exist_ok=True)
    charts.save(fig, ART / f"arrears-{lang}.png")


def test_shaping_is_required() -> None:
    charts.check_shaping()  # fails on a matplotlib without libraqm


def test_chart_formats(tmp_path: Path) -> None:
    fig = charts.arrears_chart([Group(("urban", "1"), 1, 100)], "hi", "INR")
    charts.save(fig, tmp_path / "a.pdf")
    assert (tmp_path / "a.pdf").read_bytes().startswith(b"%PDF")
    from qrpay.errors import RenderError

    with pytest.raises(RenderError):
        charts.save(charts.arrears_chart([], "en", "INR"), tmp_path / "a.gif")
