"""WZPDCL new-connection tracking number: ``6 305 191204 122348 404 | 1 | 2``.

Source: WZPDCL consumer guide (``shared/seeds/003_*.txt``; ``shared/domain.md`` §4)::

    6 305 191204 122348 404 | 1 | 2
    | |   |      |      |     |   +- cost head: 1 application fee, 2 demand charge,
    | |   |      |      |     |      3 estimate cost
    | |   |      |      |     +----- meter within the application: 1-5
    | |   |      |      +----------- application serial (3 digits)
    | |   |      +------------------ time HHMMSS
    | |   +------------------------- date YYMMDD (read as 20YY)
    | +----------------------------- WZPDCL office code (3 digits; any)
    +------------------------------- payment type: 1 DBBL Nexus debit ... 7 bKash

Decisions, each from the source:

- The source calls the number "18 digits" and the payment-type digit "an extra digit",
  so both forms are accepted: 19 digits with the payment type, or the 18 digits without
  it (then ``payment_type`` is absent from :func:`explain`).
- The bar parts are optional: the source's own second example, ``6 305 191022 103212
  909``, has none.  When present there is one (meter) or two (meter, cost head), each a
  single digit.  ``|`` and the fullwidth ``｜`` both count as bars.
- Checked, because the source defines them completely: payment type 1-7, a real date and
  time, meter 1-5 ("at most 5 meters under one application"), cost head 1-3
  (``invalid_component``).  Office codes are not checked (the source links to a list we
  do not have).

The compact form keeps the bars:

>>> validate('৬ ৩০৫ ১৯১২০৪ ১২২৩৪৮ ৪০৪ | ১ | ২')
'6305191204122348404|1|2'
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from qrpay.errors import ValidationError
from qrpay.ids._util import (
    Shape,
    check_length,
    clean,
    coded_part,
    group,
    invalid_component,
    part,
    validates,
)

NAME = "bd_tracking"
TITLE = "WZPDCL new-connection tracking number"
TITLE_BN = "নতুন সংযোগ ট্র্যাকিং নম্বর"
FIELD = "tracking_no"
LENGTHS = (18, 19)
OPTIONS: tuple[str, ...] = ()

PAYMENT_TYPES: dict[str, tuple[str, str | None]] = {
    "1": ("DBBL Nexus debit card", "DBBL নেক্সাস ডেবিট কার্ড"),
    "2": ("DBBL Master debit card", "DBBL মাস্টার ডেবিট কার্ড"),
    "3": ("DBBL Visa debit card", "DBBL ভিসা ডেবিট কার্ড"),
    "4": ("Visa credit card (any bank)", "যেকোনো ব্যাঙ্কের ভিসা ক্রেডিট কার্ড"),
    "5": ("Master credit card (any bank)", "যেকোন ব্যাঙ্কের মাস্টার ক্রেডিট কার্ড"),
    "6": ("Rocket mobile banking", "রকেট মোবাইল ব্যাংকিং"),
    "7": ("bKash mobile banking", "বিকাশ মোবাইল ব্যাংকিং"),
}
MAX_METERS = 5
COST_HEADS: dict[str, tuple[str, str | None]] = {
    "1": ("application fee", "আবেদন ফি"),
    "2": ("demand charge", "চাহিদা খরচ"),
    "3": ("estimate cost", "প্রাক্কলন খরচ"),
}


def compact(text: object) -> str:
    """Digits and bars only: ``6305191204122348404|1|2``."""
    return clean(text, FIELD, keep="|")


def _split(compacted: str) -> tuple[str, list[str]]:
    main, *extras = compacted.split("|")
    if not main and not any(extras):
        raise ValidationError(f"{FIELD} is empty", code="empty", field=FIELD)
    if len(extras) > 2:
        raise ValidationError(
            f"tracking number has {len(extras)} parts after bars; at most 2 (meter, cost head)",
            code="invalid_format", field=FIELD)
    return main, extras


def _date(yymmdd: str) -> dt.date:
    try:
        return dt.date(2000 + int(yymmdd[0:2]), int(yymmdd[2:4]), int(yymmdd[4:6]))
    except ValueError:
        raise invalid_component(f"date {yymmdd} (YYMMDD) is not a real date",
                                FIELD, "date") from None


def _time(hhmmss: str) -> dt.time:
    try:
        return dt.time(int(hhmmss[0:2]), int(hhmmss[2:4]), int(hhmmss[4:6]))
    except ValueError:
        raise invalid_component(f"time {hhmmss} (HHMMSS) is not a real time",
                                FIELD, "time") from None


def _check_single(digit: str, what: str, allowed: range, component: str) -> None:
    if len(digit) != 1:
        raise ValidationError(f"{what} after the bar must be one digit, got {len(digit)}",
                              code="invalid_length", field=FIELD, length=len(digit))
    if int(digit) not in allowed:
        raise invalid_component(
            f"{what} must be {allowed.start} to {allowed.stop - 1}, got {digit}",
            FIELD, component)


def validate(text: object) -> str:
    """The canonical compact form, or raise :class:`ValidationError`."""
    main, extras = _split(compact(text))
    check_length(main, LENGTHS, FIELD, "tracking number")
    body = main[-18:]
    if len(main) == 19 and main[0] not in PAYMENT_TYPES:
        raise invalid_component(f"payment type (digit 1) must be 1 to 7, got {main[0]}",
                                FIELD, "payment_type")
    _date(body[3:9])
    _time(body[9:15])
    if extras:
        _check_single(extras[0], "meter number", range(1, MAX_METERS + 1), "meter")
    if len(extras) > 1:
        _check_single(extras[1], "cost head", range(1, len(COST_HEADS) + 1), "cost_head")
    return "|".join([main, *extras])


def is_valid(text: object, **options: Any) -> bool:
    return validates(validate, text, **options)


def format(text: object) -> str:
    """As the source writes it: ``6 305 191204 122348 404 | 1 | 2``."""
    main, *extras = validate(text).split("|")
    sizes = (1, 3, 6, 6, 3) if len(main) == 19 else (3, 6, 6, 3)
    return " | ".join([group(main, sizes), *extras])


def fits(shape: Shape, **options: Any) -> bool:
    return shape.bars > 0 or shape.length in LENGTHS


def explain(text: object) -> dict[str, Any]:
    n = validate(text)
    main, *extras = n.split("|")
    at = len(main) - 18  # 1 when the payment-type digit is there
    body = main[at:]
    date, time = _date(body[3:9]), _time(body[9:15])
    parts = []
    if at:
        parts.append(coded_part("payment_type", "payment type", "কার্ডের ধরন", main[0], 1,
                                PAYMENT_TYPES))
    parts += [
        part("office", "WZPDCL office code", "ওজোপাডিকোর অফিস কোড", body[0:3], at + 1),
        part("date", "date (YYMMDD)", "তারিখ", body[3:9], at + 4, meaning=date.isoformat()),
        part("time", "time (HHMMSS)", "সময়", body[9:15], at + 10, meaning=time.isoformat()),
        part("serial", "application serial", "অ্যাপ্লিকেশন সিরিয়াল নম্বর", body[15:18],
             at + 16),
    ]
    if extras:
        parts.append(part("meter", "meter within the application", "মিটার সিরিয়াল নম্বর",
                          extras[0], len(main) + 2,
                          meaning=f"meter {extras[0]} of at most {MAX_METERS}"))
    if len(extras) > 1:
        parts.append(coded_part("cost_head", "cost head", "খরচের খাত", extras[1],
                                len(main) + 4, COST_HEADS))
    out: dict[str, Any] = {
        "scheme": NAME, "title": TITLE, "title_bn": TITLE_BN, "number": n,
        "formatted": format(n), "parts": parts,
        "submitted_at": dt.datetime.combine(date, time).isoformat(),
    }
    return out
