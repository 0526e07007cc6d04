"""``bench/qr_camera.py`` (issue 10 item 21) measures what it says: the warp stays within
8 % per axis, the random degradations are drawn ``--warps`` times per bill with the old
single draw first, damage rows stay out of the goal, and ``--level L`` really draws level
L symbols (so the design comparison in docs/benchmarks.md is of what it claims)."""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench import qr_camera  # noqa: E402


def test_the_warp_moves_each_corner_by_at_most_8_percent_per_axis() -> None:
    """A black frame warped: the image of its edges is the straight line between two
    moved corners, so if no corner moves more than 8 % inwards along an axis, everything
    9 % or more inside the frame stays black; and the corners do move."""
    w, h = 400, 300
    black = Image.new("L", (w, h), 0)
    inner = (round(0.09 * w), round(0.09 * h), round(0.91 * w), round(0.91 * h))
    moved = 0
    for k in range(30):
        warped = qr_camera._perspective(black, random.Random(f"s{k}"))
        assert warped.size == (w, h)
        assert warped.crop(inner).getextrema()[1] < 128, k
        moved += warped.getextrema()[1] > 128  # white fill where a corner moved inwards
    assert moved == 30


def test_random_degradations_are_drawn_warps_times_the_first_draw_as_before() -> None:
    img = Image.new("L", (120, 120), 255)
    trials = qr_camera.trials_of(img, "A4", 150, 3, warps=4, damage=False)
    names = [name for name, _ in trials]
    for name in qr_camera.DEGRADATIONS:
        assert names.count(name) == (4 if name in qr_camera.RANDOM else 1), name
    assert qr_camera.seed("A4", 150, "perspective", 3, 0) == "A4150perspective3"
    assert len({qr_camera.seed("A4", 150, "perspective", 3, k) for k in range(4)}) == 4


def test_damage_rows_are_extra_and_change_the_image() -> None:
    img = Image.new("L", (400, 400), 255)
    trials = qr_camera.trials_of(img, "A5", 100, 0, warps=2, damage=True)
    damaged = [(name, out) for name, out in trials if name in qr_camera.DAMAGE]
    assert [name for name, _ in damaged].count("crease_1mm") == 2
    assert [name for name, _ in damaged].count("stain_12mm") == 2
    assert all(out.getextrema()[0] < 100 for _, out in damaged)
    assert not set(qr_camera.DAMAGE) & set(qr_camera.DEGRADATIONS)


@pytest.mark.slow
def test_a_tiny_run_reads_every_cell_and_level_l_draws_level_l(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from qrpay.ebill import render

    assert qr_camera.main(["--bills", "2", "--warps", "1", "--size", "A4", "--dpi",
                           "150"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"A4 +150 v7 [0-9.]+px/v6 [0-9.]+px +perspective +2 ", out)
    assert "level M" in out
    (bill, config), _ = qr_camera.bills(2)
    at_m = render.render_bill(bill, config.default_biller, config)
    assert qr_camera.version_of(at_m) == 7
    monkeypatch.setattr(render, "_matrix", render._matrix)  # undone after the test
    qr_camera.draw_at_level("L")
    at_l = render.render_bill(bill, config.default_biller, config)
    assert qr_camera.version_of(at_l) == 6
    assert qr_camera.read_zxing(qr_camera.crop(at_l, 150)) == [at_l.payload]
