"""The segno internals behind the fast encoder: pinned, in one module, and a fallback to
segno.make (same error level, logged once) when a segno release lacks them."""

from __future__ import annotations

import io
import logging
import sys
import tomllib
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
import segno
from PIL import Image

from qrpay import qr, segno_internals

ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = ["upi://pay?pa=best@sbi&pn=BEST%20Undertaking&am=1909.00&tn=B2611100000000",
            "upi://pay?pa=x@y&pn=" + "রহিমা মিয়া" * 3]


@pytest.fixture
def fresh() -> Iterator[None]:
    """Internals looked up again in the test, and again after it (restored)."""
    segno_internals.internals.cache_clear()
    yield
    segno_internals.internals.cache_clear()


def _same(a: segno.QRCode, b: segno.QRCode) -> bool:
    return (a.matrix == b.matrix and a.version == b.version and a.error == b.error
            and a.mask == b.mask)


@pytest.mark.parametrize("missing", ["function", "module"])
def test_missing_internals_fall_back_to_segno_make_logged_once(
        fresh: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        missing: str) -> None:
    fast = [qr.encode(p) for p in PAYLOADS]
    segno_internals.internals.cache_clear()
    if missing == "function":  # a release that renamed one (segno.make keeps its own)
        real = sys.modules["segno.encoder"]
        renamed = types.ModuleType(real.__name__)
        renamed.__dict__.update({k: v for k, v in vars(real).items()
                                 if k != "add_format_info"})
        monkeypatch.setitem(sys.modules, "segno.encoder", renamed)
    else:
        monkeypatch.setitem(sys.modules, "segno.consts", None)  # import fails
    with caplog.at_level(logging.WARNING, logger="qrpay.qr"):
        slow = [qr.encode(p) for p in PAYLOADS for _ in range(3)][::3]
    assert segno_internals.internals() is None
    warnings = [r for r in caplog.records if "falling back to segno.make" in r.getMessage()]
    assert len(warnings) == 1
    for payload, a, b in zip(PAYLOADS, fast, slow, strict=True):
        assert a.error == b.error and a.version == b.version
        assert _same(b, segno.make(payload, error="m", micro=False, eci=True))
        png = io.BytesIO()
        b.save(png, kind="png", scale=4)
        assert qr.decode_image(Image.open(png)) == [payload]


def test_with_internals_there_is_no_warning(fresh: None,
                                            caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="qrpay.qr"):
        assert segno_internals.internals() is not None
        qr.encode(PAYLOADS[0])
    assert not caplog.records


def test_segno_is_pinned_to_the_release_line_the_internals_were_read_from() -> None:
    """Moving the pin is done by upgrading segno, running tests/qr/test_qr.py (the same
    symbols as segno) and then changing RELEASE_LINE and pyproject.toml together."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (spec,) = [d for d in deps if d.startswith("segno")]
    line = segno_internals.RELEASE_LINE.rstrip(".")
    major, minor = (int(n) for n in line.split("."))
    assert spec == f"segno>={major}.{minor},<{major}.{minor + 1}"
    assert segno.__version__.startswith(segno_internals.RELEASE_LINE)


def test_only_the_internals_module_reaches_into_segno_internals() -> None:
    for path in (ROOT / "qrpay").rglob("*.py"):
        if path.name == "segno_internals.py":
            continue
        text = path.read_text()
        for private in ("segno.encoder", "segno.consts", "from segno import consts",
                        "from segno import encoder", "segno.QRCode("):
            assert private not in text, f"{path.relative_to(ROOT)} uses {private}"
