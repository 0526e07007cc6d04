"""Bangladesh prepaid meter number, 12 digits.

Source: WZPDCL consumer guide (``shared/seeds/003_*.txt``; ``shared/domain.md`` §4)::

    05 03 5 0143117
    |  |  | +- serial (digits 6-12)
    |  |  +--- meter type (digit 5): 1..6
    |  +------ manufacturer (digits 3-4): 01 Hexing, 02 Inhemeter (Ideal), 03 BSEC
    +--------- utility (digits 1-2): 01 BPDB, 02 DPDC, 03/06 DESCO, 04 BREB, 05 WZPDCL, 11 NESCO

What is checked (python-stdnum's policy: reject only what a source defines):

- the meter type is a closed set of six kinds, one for each combination the source
  describes: any other digit is rejected (``invalid_component``);
- utility and manufacturer codes are *not* checked.  The source introduces both lists
  with "যেমন" (for example), its utility codes already have gaps (07-10), and meters from
  other manufacturers are sold in Bangladesh; an unlisted code decodes with no name
  (``known: False``) rather than rejecting a meter that exists.

>>> explain('০৫০৩৫০১৪৩১১৭')['parts'][2]['meaning']
'single-phase smart (online) keypad meter'
"""

from __future__ import annotations

from typing import Any

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

NAME = "bd_meter"
TITLE = "Bangladesh prepaid meter number"
TITLE_BN = "প্রি-পেইড মিটার নম্বর"
FIELD = "meter_no"
LENGTH = 12
OPTIONS: tuple[str, ...] = ()

UTILITIES: dict[str, tuple[str, str | None]] = {
    "01": ("BPDB", "বিপিডিবি"),
    "02": ("DPDC", "ডিপিডিসি"),
    "03": ("DESCO", "ডেস্কো"),
    "04": ("BREB (Palli Bidyut)", "বিআরইবি/পল্লী বিদ্যুৎ"),
    "05": ("WZPDCL", "ওজোপাডিকো"),
    "06": ("DESCO", "ডেস্কো"),
    "11": ("NESCO", "নেস্কো"),
}
MANUFACTURERS: dict[str, tuple[str, str | None]] = {
    "01": ("Hexing Electrical", "হেক্সিং ইলেকট্রিক্যাল কোম্পানি"),
    "02": ("Shenzhen Inhemeter (Ideal)", "সেনজেন ইনহেমিটার কোম্পানি (আইডিয়াল)"),
    "03": ("Bangladesh Smart Electrical Co. (BSEC)",
           "বাংলাদেশ স্মার্ট ইলেকট্রিক্যাল কোম্পানি (বিসেকো)"),
}
#: The source writes type 6 as "থ্রি ফেজ ফেজ ..." (the word "phase" twice); fixed here.
METER_TYPES: dict[str, tuple[str, str | None]] = {
    "1": ("single-phase offline keypad meter", "সিঙ্গেল ফেজ অফলাইন কিপ্যাড মিটার"),
    "2": ("single-phase offline card meter", "সিঙ্গেল ফেজ অফলাইন কার্ড মিটার"),
    "3": ("three-phase offline keypad meter", "থ্রি ফেজ অফলাইন কিপ্যাড মিটার"),
    "4": ("three-phase offline card meter", "থ্রি ফেজ অফলাইন কার্ড মিটার"),
    "5": ("single-phase smart (online) keypad meter",
          "সিঙ্গেল ফেজ স্মার্ট (অনলাইন) কিপ্যাড মিটার"),
    "6": ("three-phase smart (online) keypad meter",
          "থ্রি ফেজ স্মার্ট (অনলাইন) কিপ্যাড মিটার"),
}


def compact(text: object) -> str:
    return clean(text, FIELD)


def validate(text: object) -> str:
    """The canonical 12-digit form, or raise :class:`ValidationError`."""
    digits = compact(text)
    check_length(digits, (LENGTH,), FIELD, "meter number")
    if digits[4] not in METER_TYPES:
        raise invalid_component(
            f"meter type (digit 5) must be 1 to 6, got {digits[4]}", FIELD, "meter_type")
    return digits


def is_valid(text: object, **options: Any) -> bool:
    return validates(validate, text, **options)


def format(text: object) -> str:
    """Grouped by part: ``05 03 5 0143117``."""
    return group(validate(text), (2, 2, 1, 7))


def fits(shape: Shape, **options: Any) -> bool:
    return shape.bars == 0 and shape.length == LENGTH


def explain(text: object) -> dict[str, Any]:
    n = validate(text)
    parts = [
        coded_part("utility", "utility", "বিদ্যুৎ বিতরণ সংস্থা", n[0:2], 1, UTILITIES),
        coded_part("manufacturer", "manufacturer", "মিটার ম্যানুফ্যাকচারার কোম্পানি",
                   n[2:4], 3, MANUFACTURERS),
        coded_part("meter_type", "meter type", "মিটারের ধরণ", n[4], 5, METER_TYPES),
        part("serial", "serial", "মিটারের ক্রমিক নম্বর", n[5:12], 6),
    ]
    return {"scheme": NAME, "title": TITLE, "title_bn": TITLE_BN, "number": n,
            "formatted": format(n), "parts": parts}
