"""Input as people type it: digits in any script, greetings, labels, stray spaces.

Every text a consumer sends goes through :func:`normalise` once; the engine then asks
:func:`option_number` (is this exactly an option number?), :func:`is_greeting`, and so on.

- NFKC first, so full-width ``２`` becomes ``2`` (and compatibility forms fold), then
  Bengali and Devanagari digits to ASCII (:func:`qrpay.digits.to_ascii`).  A superscript
  ``²`` is NFKC-folded to ``2`` too, so it is refused *before* folding: only characters
  whose Unicode decimal value is defined (category Nd) count as digits.
- Zero-width characters are dropped, runs of spaces become one, case is folded.
- ``"12"`` is option 12, never option 1: an option number is the whole input.
"""

from __future__ import annotations

import re
import unicodedata

from qrpay.digits import to_ascii

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_SPACES = re.compile(r"\s+")
_OPTION = re.compile(r"[0-9]{1,3}", re.ASCII)
_OPTION_DECOR = re.compile(r"^[\s(\[]*|[\s.)\]:]*$")

#: What reaches the main menu from anywhere (after normalising).  Wording a utility
#: wants to add goes in the flow files (``main.greetings`` per language).
GREETINGS = frozenset({
    "hi", "hii", "hello", "hey", "helo", "menu", "main menu", "start", "bill", "namaste",
    "namaskar", "हाय", "हेलो", "हैलो", "नमस्ते", "नमस्कार", "मेनू", "बिल", "बिजली बिल",
    "হাই", "হ্যালো", "হেলো", "নমস্কার", "আসসালামু আলাইকুম", "সালাম", "মেনু", "বিল",
    "বিদ্যুৎ বিল", "salam", "assalamualaikum",
})


# C0 controls but tab and newlines, and DEL: no gateway or person sends them on purpose,
# and PostgreSQL cannot store NUL in text.
_CONTROLS = {c: None for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)}


def clean(text: str) -> str:
    """``text`` as it arrived, less control characters (NUL first of all)."""
    return text.translate(_CONTROLS)


def _fold_digits(text: str) -> str:
    """Every character of category Nd (any script, full-width too) to its ASCII digit;
    other digit-like characters (superscripts, circled numbers) stay as they are."""
    out = []
    for ch in text:
        if ch.isascii():
            out.append(ch)
        elif unicodedata.category(ch) == "Nd":
            out.append(str(unicodedata.decimal(ch)))
        else:
            out.append(ch)
    return "".join(out)


def normalise(text: str) -> str:
    """The text with digits in ASCII, zero-width characters gone, spaces collapsed,
    case folded.  ``" ２ "`` -> ``"2"``; ``"১০৪ ২৩১"`` -> ``"104 231"``."""
    text = to_ascii(_fold_digits(text)).translate(_ZERO_WIDTH)
    text = "".join(ch if unicodedata.category(ch) != "No" else "\ufffd" for ch in text)
    text = unicodedata.normalize("NFKC", text)
    return _SPACES.sub(" ", text).strip().casefold()


def option_number(text: str) -> int | None:
    """The option number when the whole normalised input is one (``"2"``, ``"2."``,
    ``"(2)"``), else None.  ``"12"`` is 12; ``"1 2"`` is not a number."""
    core = _OPTION_DECOR.sub("", text)
    if _OPTION.fullmatch(core):
        return int(core)
    return None


def is_greeting(text: str, extra: frozenset[str] = frozenset()) -> bool:
    bare = text.strip(" !.?,।")
    return bare in GREETINGS or bare in extra


def label_key(text: str) -> str:
    """How a label is compared with typed text: normalised, punctuation at the ends
    dropped."""
    return normalise(text).strip(" !.?,।")
