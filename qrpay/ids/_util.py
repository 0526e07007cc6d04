"""Helpers shared by the identifier schemes: cleaning typed text and building parts.

Consumers type numbers in ASCII, Bengali (০-৯) or Devanagari (०-९) digits, with any
spacing and dashes.  :func:`clean` turns all of that into ASCII digits or raises a
:class:`~qrpay.errors.ValidationError` with a stable code:

- ``invalid_type``: not a ``str`` (``None``, ``int``, ``object()``...);
- ``invalid_character``: something that is neither a digit nor a separator, with the
  character and its 1-based position in the text as typed (``data["character"]``,
  ``data["position"]``);
- ``empty``: nothing but separators.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from qrpay.digits import to_ascii
from qrpay.errors import QrpayError, ValidationError

DIGITS = frozenset("0123456789")

# Characters people put between digit groups.  Anything of Unicode category Zs (space
# separators: no-break space, thin space, figure space...) or Pd (dash punctuation:
# hyphen, en dash, em dash...) counts too; these are the rest.
_EXTRA_SEPARATORS = frozenset(
    "\t\n\r\v\f"
    "\u2212"  # minus sign
    "\u200b\u200c\u200d\u2060\ufeff"  # zero-width space / (non-)joiner, word joiner, BOM
    "\u00ad"  # soft hyphen
)

#: Characters read as the bar of the tracking number (``|``): the fullwidth forms, and
#: the Bengali danda ``।`` that Bengali keyboards put where a bar goes.
_BARS = str.maketrans({"\uff5c": "|", "\u00a6": "|", "\u0964": "|"})


def is_separator(char: str) -> bool:
    """True for spaces and dashes of any kind, which :func:`clean` drops."""
    return char in _EXTRA_SEPARATORS or unicodedata.category(char) in {"Zs", "Pd"}


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"{char!r} ({name})" if name else repr(char)


def require_str(text: object, field: str) -> str:
    if not isinstance(text, str):
        raise ValidationError(f"{field} must be text, not {type(text).__name__}",
                              code="invalid_type", field=field)
    return text


def clean(text: object, field: str, *, keep: str = "") -> str:
    """ASCII digits of ``text`` (plus any characters in ``keep``), separators dropped."""
    typed = require_str(text, field)
    ascii_text = to_ascii(typed.translate(_BARS) if "|" in keep else typed)
    out: list[str] = []
    for position, char in enumerate(ascii_text, start=1):
        if char in DIGITS or char in keep:
            out.append(char)
        elif not is_separator(char):
            raise ValidationError(
                f"{field}: {_describe(typed[position - 1])} at position {position} "
                "is not a digit", code="invalid_character", field=field,
                character=typed[position - 1], position=position)
    if not out:
        raise ValidationError(f"{field} is empty", code="empty", field=field)
    return "".join(out)


@dataclass(frozen=True)
class Shape:
    """What :func:`shape` sees in typed text without judging it: the non-separator
    characters before the first bar, and how many bars follow."""

    main: str
    bars: int

    @property
    def length(self) -> int:
        return len(self.main)


def shape(text: object) -> Shape | None:
    """The shape of ``text`` for guessing its scheme; ``None`` when it is not text."""
    if not isinstance(text, str):
        return None
    flat = "".join(c for c in to_ascii(text.translate(_BARS)) if not is_separator(c))
    main = flat.partition("|")[0]
    return Shape(main=main, bars=flat.count("|"))


def check_length(digits: str, lengths: tuple[int, ...], field: str, what: str) -> None:
    if len(digits) not in lengths:
        expected = " or ".join(str(n) for n in lengths)
        raise ValidationError(f"{what} must have {expected} digits, got {len(digits)}",
                              code="invalid_length", field=field, length=len(digits))


def invalid_component(message: str, field: str, component: str) -> ValidationError:
    return ValidationError(message, code="invalid_component", field=field,
                           component=component)


def part(key: str, label: str, label_bn: str | None, digits: str, start: int, *,
         meaning: str | None = None, meaning_bn: str | None = None,
         known: bool | None = None, **extra: Any) -> dict[str, Any]:
    """One decoded part of a number, JSON-ready.

    ``start`` is the 1-based position of the part's first digit in the compact form;
    ``known`` is ``False`` for a code the source does not name (the number is still
    accepted) and ``None`` for parts that carry no code (book, page, serial).
    """
    end = start + len(digits) - 1
    out: dict[str, Any] = {
        "key": key, "label": label, "label_bn": label_bn, "digits": digits,
        "position": str(start) if end == start else f"{start}-{end}",
        "meaning": meaning, "meaning_bn": meaning_bn,
    }
    if known is not None:
        out["known"] = known
    out.update(extra)
    return out


def coded_part(key: str, label: str, label_bn: str | None, digits: str, start: int,
               names: Mapping[Any, tuple[str, str | None]], lookup: Hashable = None,
               ) -> dict[str, Any]:
    """A part whose digits are a code looked up in ``names`` (code -> (en, bn))."""
    found = names.get(digits if lookup is None else lookup)
    return part(key, label, label_bn, digits, start,
                meaning=found[0] if found else None,
                meaning_bn=found[1] if found else None, known=found is not None)


def group(digits: str, sizes: tuple[int, ...], sep: str = " ") -> str:
    """Split ``digits`` into groups of ``sizes`` (the rest goes in a last group)."""
    out, i = [], 0
    for size in sizes:
        if i >= len(digits):
            break
        out.append(digits[i:i + size])
        i += size
    if i < len(digits):
        out.append(digits[i:])
    return sep.join(out)


def validates(validate: Callable[..., object], text: object, **options: Any) -> bool:
    """``is_valid`` for every scheme: True when ``validate`` accepts ``text``; never raises,
    for bad input or bad options alike (a length of ``"x"``, a prefix of ``5``, an option
    the scheme does not have: the number is then not valid under them)."""
    try:
        validate(text, **options)
    except (QrpayError, TypeError, ValueError):
        return False
    return True
