"""SMS encoding and segment count: GSM-7 (160 / 153 per part) or UCS-2 (70 / 67).

GSM-7 is the 3GPP TS 23.038 default alphabet; the characters of its extension table
(``^ { } [ ] ~ | € \\`` and form feed) take two septets (escape + char).  Any character
outside both tables switches the whole message to UCS-2, counted in UTF-16 code units
(a character outside the BMP takes two).  When a message is split, an escape pair or a
surrogate pair is never cut across two parts, as handsets require, so the count can be
one higher than a plain division.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "\f^{}\\[~]|€"
_BASIC = frozenset(GSM7_BASIC) - {"\x1b"}
_EXT = frozenset(GSM7_EXTENSION)

LIMITS = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


@dataclass(frozen=True)
class SmsInfo:
    encoding: str  # GSM-7 or UCS-2
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def is_gsm7(text: str) -> bool:
    return all(ch in _BASIC or ch in _EXT for ch in text)


def _unit_sizes(text: str, encoding: str) -> list[int]:
    if encoding == "GSM-7":
        return [2 if ch in _EXT else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _count_segments(sizes: list[int], per_part: int) -> int:
    parts, used = 1, 0
    for size in sizes:
        if used + size > per_part:
            parts += 1
            used = 0
        used += size
    return parts


def sms_info(text: str) -> SmsInfo:
    """Encoding, length in units and the number of SMS parts ``text`` is sent as."""
    encoding = "GSM-7" if is_gsm7(text) else "UCS-2"
    sizes = _unit_sizes(text, encoding)
    units = sum(sizes)
    single, per_part = LIMITS[encoding]
    segments = 1 if units <= single else _count_segments(sizes, per_part)
    return SmsInfo(encoding=encoding, units=units, segments=segments)
