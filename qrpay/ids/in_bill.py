"""Indian bill numbers as qrpay derives them: ``bill_prefix`` + YYMM + consumer number.

Indian utilities publish no bill-number structure, so qrpay's own rule for the bills it
numbers (:func:`qrpay.importer.make_bill_no`) is the one decoded here, with the biller's
``[billers.numbering]``: ``bill_prefix`` (letters or digits, e.g. BEST's ``B``), then the
period, then the consumer number of ``length`` digits starting with ``prefix``
(:mod:`qrpay.ids.in_consumer`).  The month must be 01-12; YY is read as 20YY.

>>> validate('b 2611 100000000', length=9, bill_prefix='B')
'B2611100000000'
>>> explain('B2611100000000', length=9, bill_prefix='B')['period']
'2026-11'
"""

from __future__ import annotations

from typing import Any

from qrpay.digits import to_ascii
from qrpay.errors import ConfigError
from qrpay.ids import in_consumer
from qrpay.ids._util import (
    Shape,
    check_length,
    clean,
    invalid_component,
    is_separator,
    part,
    require_str,
    validates,
)
from qrpay.ids.bd_bill import MONTHS

NAME = "in_bill"
TITLE = "Indian bill number (bill prefix + YYMM + consumer number)"
TITLE_BN = None
FIELD = "bill_no"
MAX_PREFIX = 10
OPTIONS: tuple[str, ...] = ("length", "prefix", "bill_prefix")
_DEFAULTS = {"length": in_consumer.DEFAULT_LENGTH, "prefix": in_consumer.DEFAULT_PREFIX}


def _bill_prefix(bill_prefix: object) -> str:
    if not isinstance(bill_prefix, str) or not bill_prefix.isascii() \
            or not (bill_prefix.isalnum() or bill_prefix == "") \
            or len(bill_prefix) > MAX_PREFIX:
        raise ConfigError(f"bill prefix must be at most {MAX_PREFIX} letters or digits, "
                          f"got {bill_prefix!r}", code="bad_value",
                          field="numbering.bill_prefix")
    return bill_prefix.upper()


def compact(text: object, *, bill_prefix: str = "", **options: Any) -> str:
    """The prefix (upper case) and the digits; other separators dropped."""
    bp = _bill_prefix(bill_prefix)
    typed = require_str(text, FIELD)
    flat = "".join(c for c in to_ascii(typed) if not is_separator(c))
    if bp and flat[:len(bp)].upper() == bp:
        return bp + clean(flat[len(bp):], FIELD)
    return clean(typed, FIELD)


def validate(text: object, *, length: int = in_consumer.DEFAULT_LENGTH,
             prefix: str = in_consumer.DEFAULT_PREFIX, bill_prefix: str = "") -> str:
    """The canonical form (prefix upper case, ASCII digits), or raise ValidationError."""
    bp = _bill_prefix(bill_prefix)
    n = compact(text, bill_prefix=bp)
    if not n.startswith(bp):
        raise invalid_component(f"bill number must start with {bp}", FIELD, "bill_prefix")
    digits = n[len(bp):]
    check_length(digits, (4 + length,), FIELD, f"bill number after {bp or 'its prefix'}")
    if not 1 <= int(digits[2:4]) <= 12:
        raise invalid_component(f"month must be 01 to 12, got {digits[2:4]}", FIELD, "month")
    in_consumer.validate(digits[4:], length=length, prefix=prefix)
    return n


def is_valid(text: object, **options: Any) -> bool:
    return validates(validate, text, **options)


def format(text: object, **options: Any) -> str:
    """Prefix, period, consumer number: ``B 2611 100000000``."""
    n = validate(text, **options)
    bp = _bill_prefix(options.get("bill_prefix", ""))
    return " ".join(p for p in (bp, n[len(bp):len(bp) + 4], n[len(bp) + 4:]) if p)


def fits(shape: Shape, *, length: int = in_consumer.DEFAULT_LENGTH,
         prefix: str = in_consumer.DEFAULT_PREFIX, bill_prefix: str = "",
         **options: Any) -> bool:
    bp = _bill_prefix(bill_prefix)
    main = shape.main
    return (shape.bars == 0 and main[:len(bp)].upper() == bp
            and main[len(bp):].isdigit() and main[len(bp):].isascii()
            and len(main) == len(bp) + 4 + length
            and main[len(bp) + 4:].startswith(to_ascii(prefix)))


def explain(text: object, **options: Any) -> dict[str, Any]:
    n = validate(text, **options)
    bp = _bill_prefix(options.get("bill_prefix", ""))
    consumer = {**_DEFAULTS, **{k: v for k, v in options.items() if k != "bill_prefix"}}
    yy, mm, number = n[len(bp):len(bp) + 2], n[len(bp) + 2:len(bp) + 4], n[len(bp) + 4:]
    parts = []
    if bp:
        parts.append(part("bill_prefix", "bill prefix", None, bp, 1))
    parts += [
        part("year", "year", None, yy, len(bp) + 1, meaning="20" + yy),
        part("month", "month", None, mm, len(bp) + 3, meaning=MONTHS[int(mm) - 1]),
        part("consumer", "consumer number", None, number, len(bp) + 5),
    ]
    return {"scheme": NAME, "title": TITLE, "title_bn": TITLE_BN, "number": n,
            "formatted": format(n, **options), "period": f"20{yy}-{mm}", "parts": parts,
            "account": in_consumer.explain(number, **consumer)}
