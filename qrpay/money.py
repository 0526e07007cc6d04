"""Money as integer minor units (paise, poisha), from input to storage to output.

Text amounts are parsed with :class:`decimal.Decimal` and never pass through a float.
Amounts are written with Indian grouping (lakh, crore): ``22,75,63,750.00``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from qrpay.digits import localise, to_ascii
from qrpay.errors import ValidationError

CURRENCIES = {"INR": ("₹", "Rs"), "BDT": ("৳", "Tk")}


def parse_amount(text: object, *, field: str = "amount", allow_negative: bool = True) -> int:
    """Parse a decimal string with at most two decimals into minor units.

    >>> parse_amount("1234.50")
    123450
    >>> parse_amount("১২৩৪")
    123400
    """
    if isinstance(text, bool) or not isinstance(text, (str, int, Decimal)):
        raise ValidationError(f"{field}: expected a decimal string, got {type(text).__name__}",
                              code="invalid_amount", field=field)
    raw = to_ascii(str(text)).strip().replace(",", "")
    if not raw:
        raise ValidationError(f"{field}: empty amount", code="missing_amount", field=field)
    if "e" in raw.lower() or raw.lower() in {"nan", "inf", "-inf", "infinity", "+inf"}:
        raise ValidationError(f"{field}: {text!r} is not a decimal amount",
                              code="invalid_amount", field=field)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValidationError(f"{field}: {text!r} is not a decimal amount",
                              code="invalid_amount", field=field) from None
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int) or exponent < -2:
        raise ValidationError(f"{field}: {text!r} has more than two decimals",
                              code="too_many_decimals", field=field)
    if value < 0 and not allow_negative:
        raise ValidationError(f"{field}: {text!r} is negative", code="negative_amount",
                              field=field)
    return int(value * 100)


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
