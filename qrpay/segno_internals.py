"""The parts of segno that are not its public API, in one place: what the fast encoder in
:mod:`qrpay.qr` builds on.

segno's ``consts`` and ``encoder`` modules and the ``QRCode(code)`` constructor are
internals (segno's own header says so) and may change in any release, so
``pyproject.toml`` pins segno to the release line they were read from (1.6.x) and
``tests/qr/test_qr.py`` ("the same symbols as segno") is the gate for moving the pin:
upgrade segno, run it, and only then widen the pin.

:func:`internals` returns them, or ``None`` when this segno lacks any of them; the
encoder then falls back to ``segno.make`` (the same error level, a slower symbol), and
says so once in the log.
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import segno

log = logging.getLogger("qrpay.qr")

#: The segno release line whose internals are used (keep in step with pyproject.toml).
RELEASE_LINE = "1.6."

_ENCODER_FUNCTIONS = ("calc_matrix_size", "make_matrix", "add_finder_patterns",
                      "add_alignment_patterns", "get_data_mask_functions",
                      "add_format_info", "add_version_info")


@dataclass(frozen=True, eq=False)  # hashed by identity: a cache key of the encoder
class Internals:
    """segno's constants and encoder steps, as the fast encoder uses them."""

    error_m: int
    error_q: int
    error_h: int
    mode_byte: int
    capacity: Mapping[int, Mapping[int, int]]  # version -> error level -> data bits
    ecc: Mapping[int, Mapping[int, Any]]  # version -> error level -> block structure
    calc_matrix_size: Callable[[int], int]
    make_matrix: Callable[[int, int], Any]
    add_finder_patterns: Callable[[Any, int, int], None]
    add_alignment_patterns: Callable[[Any, int, int], None]
    get_data_mask_functions: Callable[[bool], Any]
    add_format_info: Callable[[Any, int, int, int], None]
    add_version_info: Callable[[Any, int], None]

    def qrcode(self, code: Any) -> segno.QRCode:
        """A :class:`segno.QRCode` of ``code`` (``matrix``, ``version``, ``error``,
        ``mask``, ``segments``): segno's constructor, not public API either."""
        return segno.QRCode(code)  # type: ignore[call-arg]


def _load() -> Internals:
    consts = importlib.import_module("segno.consts")
    encoder = importlib.import_module("segno.encoder")
    return Internals(
        error_m=consts.ERROR_LEVEL_M, error_q=consts.ERROR_LEVEL_Q,
        error_h=consts.ERROR_LEVEL_H, mode_byte=consts.MODE_BYTE,
        capacity=consts.SYMBOL_CAPACITY, ecc=consts.ECC,
        **{name: getattr(encoder, name) for name in _ENCODER_FUNCTIONS})


@functools.cache
def internals() -> Internals | None:
    """segno's internals, or None (logged once) when this segno does not have them."""
    try:
        found = _load()
    except (ImportError, AttributeError) as exc:
        log.warning("segno %s lacks the internals the fast QR encoder uses (%s); "
                    "falling back to segno.make, which is slower (pin segno %sx)",
                    getattr(segno, "__version__", "?"), exc, RELEASE_LINE)
        return None
    version = getattr(segno, "__version__", "")
    if not version.startswith(RELEASE_LINE):
        log.warning("segno %s is not the %sx line the fast QR encoder was checked "
                    "against; run tests/qr/test_qr.py before trusting it", version,
                    RELEASE_LINE)
    return found
