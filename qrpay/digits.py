"""Digits as people type them: ASCII, Bengali (০-৯) and Devanagari (०-९)."""

from __future__ import annotations

_NATIVE = "০১২৩৪৫৬৭৮৯०१२३४५६७८९"
_TO_ASCII = str.maketrans(_NATIVE, "0123456789" * 2)
_BENGALI = str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")
_DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")


def to_ascii(text: str) -> str:
    """Replace Bengali and Devanagari digits with ASCII digits; leave the rest."""
    return text.translate(_TO_ASCII)


def to_bengali(text: str) -> str:
    return text.translate(_BENGALI)


def to_devanagari(text: str) -> str:
    return text.translate(_DEVANAGARI)


def localise(text: str, numerals: str) -> str:
    """Write the ASCII digits of ``text`` in ``numerals`` (``latn``, ``beng``, ``deva``)."""
    if numerals == "beng":
        return to_bengali(text)
    if numerals == "deva":
        return to_devanagari(text)
    return text
