"""Money as integer minor units (paise, poisha), from input to storage to output.

Text amounts are parsed with :class:`decimal.Decimal` and never pass through a float.
Amounts are written with Indian grouping (lakh, crore): ``22,75,63,750.00``.
"""

from __future__ import annotations

import re
from decimal import Decimal

from qrpay.digits import localise, to_ascii
from qrpay.errors import ValidationError

CURRENCIES = {"INR": ("₹", "Rs"), "BDT": ("৳", "Tk")}


MAX_AMOUNT = 10**13  # minor units (1e11 rupees/taka): far above any bill, far below BIGINT
MAX_AMOUNT_TEXT = 40  # characters: longer text is refused before any parsing
# ASCII digits (Bengali and Devanagari ones are mapped to them first), grouped the Indian
# way (1,23,45,678) or not at all, with at most two decimals.
_DIGITS = r"(?:[0-9]+|[0-9]{1,2}(?:,[0-9]{2})*,[0-9]{3})(?:\.[0-9]{1,2})?"
_AMOUNT = re.compile("-?" + _DIGITS)
#: A positive amount in ASCII digits, as a JSON Schema pattern (``/openapi.json``).
AMOUNT_PATTERN = f"^{_DIGITS}$"
_DECIMALS = re.compile(r"-?[0-9,]+\.[0-9]{3,}")


def _invalid(field: str, text: object, why: str, code: str = "invalid_amount"
             ) -> ValidationError:
    return ValidationError(f"{field}: {text!r} {why}", code=code, field=field)


def parse_amount(text: object, *, field: str = "amount", allow_negative: bool = True) -> int:
    """Parse a decimal string with at most two decimals into minor units.

    Digits may be ASCII, Bengali or Devanagari; commas only in Indian grouping
    (``1,23,456.50``); no other Unicode digits, underscores, signs or exponents.  The
    result is bounded by :data:`MAX_AMOUNT` (``amount_too_large``).

    >>> parse_amount("1234.50")
    123450
    >>> parse_amount("১২৩৪")
    123400
    >>> parse_amount("1,23,456")
    12345600
    """
    if isinstance(text, bool) or not isinstance(text, (str, int, Decimal)):
        raise ValidationError(f"{field}: expected a decimal string, got {type(text).__name__}",
                              code="invalid_amount", field=field)
    raw = to_ascii(str(text)).strip()
    if not raw:
        raise ValidationError(f"{field}: empty amount", code="missing_amount", field=field)
    if len(raw) > MAX_AMOUNT_TEXT:
        raise _invalid(field, text, "is too long to be an amount", "amount_too_large")
    if not _AMOUNT.fullmatch(raw):
        if _DECIMALS.fullmatch(raw):
            raise _invalid(field, text, "has more than two decimals", "too_many_decimals")
        raise _invalid(field, text, "is not a decimal amount (digits, Indian grouping "
                       "1,23,456 and two decimals at most)")
    value = Decimal(raw.replace(",", ""))
    if value < 0 and not allow_negative:
        raise _invalid(field, text, "is negative", "negative_amount")
    minor = int(value * 100)
    if abs(minor) > MAX_AMOUNT:
        raise _invalid(field, text, f"is larger than any amount qrpay takes "
                       f"({group_indian(MAX_AMOUNT // 100)})", "amount_too_large")
    return minor


def to_decimal_str(minor: int) -> str:
    """Minor units to a plain two-decimal string: ``123450 -> '1234.50'``."""
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 100)
    return f"{sign}{whole}.{frac:02d}"


def group_indian(whole: int) -> str:
    """Group an integer the Indian way: 2275637 50 -> '22,75,63,750'."""
    digits = str(whole)
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    parts: list[str] = []
    while len(head) > 2:
        parts.insert(0, head[-2:])
        head = head[:-2]
    if head:
        parts.insert(0, head)
    return ",".join(parts + [tail])


def format_amount(minor: int, *, currency: str | None = None, numerals: str = "latn",
                  symbol: bool = True, decimals: bool = True) -> str:
    """Format minor units with lakh/crore grouping, e.g. ``₹ 22,75,63,750.00``."""
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 100)
    text = group_indian(whole)
    if decimals:
        text += f".{frac:02d}"
    text = localise(sign + text, numerals)
    if currency and symbol:
        return f"{CURRENCIES.get(currency, (currency,))[0]} {text}"
    if currency:
        return f"{text} {currency}"
    return text
