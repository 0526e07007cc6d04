"""Bangladesh bill number, 13 digits: YY + MM + the 9-digit account number.

Source: WZPDCL consumer guide (``shared/seeds/003_*.txt``; ``shared/domain.md`` §4):
``2202104231245`` is the February 2022 bill of account ``104231245``.  The month must be
01-12 (``invalid_component`` otherwise); YY is read as 20YY.  The account part follows
:mod:`qrpay.ids.bd_account` (any 9 digits).

>>> make('2022-02', '104231245')
'2202104231245'
>>> explain('2202104231245')['period']
'2022-02'
"""

from __future__ import annotations

import re
from typing import Any

from qrpay.digits import to_ascii, to_bengali
from qrpay.errors import ValidationError
from qrpay.ids import bd_account
from qrpay.ids._util import (
    Shape,
    check_length,
    clean,
    group,
    invalid_component,
    part,
    require_str,
    validates,
)

NAME = "bd_bill"
TITLE = "Bangladesh bill number"
TITLE_BN = "বিল নম্বর"
FIELD = "bill_no"
LENGTH = 13
OPTIONS: tuple[str, ...] = ("offices",)

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
MONTHS_BN = ("জানুয়ারি", "ফেব্রুয়ারি", "মার্চ", "এপ্রিল", "মে", "জুন", "জুলাই", "আগস্ট",
             "সেপ্টেম্বর", "অক্টোবর", "নভেম্বর", "ডিসেম্বর")
_PERIOD = re.compile(r"\s*(\d{4})\s*-\s*(\d{2})\s*", re.ASCII)


def compact(text: object) -> str:
    return clean(text, FIELD)


def _check_month(mm: str, field: str, component: str) -> None:
    if not 1 <= int(mm) <= 12:
        raise invalid_component(f"month must be 01 to 12, got {mm}", field, component)


def validate(text: object) -> str:
    """The canonical 13-digit form, or raise :class:`ValidationError`."""
    digits = compact(text)
    check_length(digits, (LENGTH,), FIELD, "bill number")
    _check_month(digits[2:4], FIELD, "month")
    return digits


def is_valid(text: object, **options: Any) -> bool:
    return validates(validate, text, **options)


def format(text: object) -> str:
    """Period then account: ``22 02 104231245``."""
    return group(validate(text), (2, 2, 9))


def fits(shape: Shape, **options: Any) -> bool:
    return shape.bars == 0 and shape.length == LENGTH


def period(text: object) -> str:
    """The billing period ``YYYY-MM`` of a bill number."""
    n = validate(text)
    return f"20{n[0:2]}-{n[2:4]}"


def make(period: object, account: object) -> str:
    """The bill number of ``account`` for ``period`` (``'YYYY-MM'``, years 2000-2099)."""
    match = _PERIOD.fullmatch(to_ascii(require_str(period, "period")))
    if not match:
        raise ValidationError(f"period must look like YYYY-MM, got {period!r}",
                              code="invalid_format", field="period")
    year, month = match.groups()
    if not year.startswith("20"):
        raise invalid_component(f"bill numbers cover the years 2000-2099, got {year}",
                                "period", "year")
    _check_month(month, "period", "month")
    return year[2:] + month + bd_account.validate(account)


def explain(text: object, *, offices: bool = True) -> dict[str, Any]:
    """The period and the account's parts (``offices``: see :func:`bd_account.explain`)."""
    n = validate(text)
    year, month = "20" + n[0:2], n[2:4]
    parts = [
        part("year", "year", "সাল", n[0:2], 1, meaning=year, meaning_bn=to_bengali(year)),
        part("month", "month", "মাস", month, 3, meaning=MONTHS[int(month) - 1],
             meaning_bn=MONTHS_BN[int(month) - 1]),
        part("account", "account number", "গ্রাহক হিসাব নম্বর", n[4:], 5),
    ]
    return {"scheme": NAME, "title": TITLE, "title_bn": TITLE_BN, "number": n,
            "formatted": format(n), "period": f"{year}-{month}", "parts": parts,
            "account": bd_account.explain(n[4:], offices=offices)}
