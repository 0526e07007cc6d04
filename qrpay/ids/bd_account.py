"""Bangladesh consumer account number (WZPDCL format), 9 digits.

Source: West Zone Power Distribution Co. (WZPDCL, ওজোপাডিকো) consumer guide, in Bengali
(``shared/seeds/003_*.txt``; English in ``shared/domain.md`` section 4)::

    1 04 2 3 12 45
    | |  | | |  +- page in the billing book (digits 8-9)
    | |  | | +---- billing book (digits 6-7)
    | |  | +------ feeder under the substation (3 = Nirala feeder)
    | |  +-------- substation under the office (2 = Gallamari 33/11 kV)
    | +----------- office under the circle (04 = Sales & Distribution Division-4, Khulna)
    +------------- circle office (1 = Khulna circle)

The source's text says "7th and 8th digits" for the book, but its own example (book 12,
page 45 in ``104231245``) and the 9-digit length give digits 6-7: we follow the example.

Only the names the source gives are known, and office, substation and feeder codes mean
something only under their parent (04 is Division-4 *under circle 1*).  Other codes are
accepted and decode to their digits with no name (``known: False``): the source lists
examples, not the full set, and rejecting a valid number is worse than accepting an
invalid one.  So any 9 digits are a valid account number.

The office names are WZPDCL's: other utilities (the Palli Bidyut Samities) use the same
9-digit layout with their own offices, so ``explain(text, offices=False)`` decodes the
positions without naming any code (a profile's ``numbering.offices = "wzpdcl"`` turns the
names on for a WZPDCL deployment; see :func:`qrpay.ids.explain_for`).

>>> validate('১০৪ ২৩১ ২৪৫')
'104231245'
>>> format('104231245')
'1 04 2 3 12 45'
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

from qrpay.ids._util import Shape, check_length, clean, coded_part, group, part, validates

NAME = "bd_account"
TITLE = "Bangladesh consumer account number (WZPDCL)"
TITLE_GENERIC = "Bangladesh consumer account number"
TITLE_BN = "গ্রাহক হিসাব নম্বর"
FIELD = "account_no"
LENGTH = 9
OPTIONS: tuple[str, ...] = ("offices",)

#: circle -> (English, Bengali) as the source names it.
CIRCLES: dict[str, tuple[str, str | None]] = {
    "1": ("Khulna circle", "খুলনা সার্কেল"),
}
#: (circle, office) -> names.
OFFICES: dict[tuple[str, str], tuple[str, str | None]] = {
    ("1", "04"): ("Sales & Distribution Division-4, Khulna",
                  "বিক্রয় ও বিতরণ বিভাগ-৪, খুলনা"),
}
#: (circle, office, substation) -> names.
SUBSTATIONS: dict[tuple[str, str, str], tuple[str, str | None]] = {
    ("1", "04", "2"): ("Gallamari 33/11 kV substation",
                       "গল্লামারী ৩৩/১১ কেভি বিতরণ উপকেন্দ্র"),
}
#: (circle, office, substation, feeder) -> names.
FEEDERS: dict[tuple[str, str, str, str], tuple[str, str | None]] = {
    ("1", "04", "2", "3"): ("Nirala feeder", "নিরালা ফিডার"),
}


def compact(text: object) -> str:
    """The digits of ``text`` (any digit script, spaces and dashes dropped)."""
    return clean(text, FIELD)


def validate(text: object) -> str:
    """The canonical 9-digit form, or raise :class:`ValidationError`."""
    digits = compact(text)
    check_length(digits, (LENGTH,), FIELD, "account number")
    return digits


def is_valid(text: object, **options: Any) -> bool:
    return validates(validate, text, **options)


def format(text: object) -> str:
    """Grouped by part: ``1 04 2 3 12 45``."""
    return group(validate(text), (1, 2, 1, 1, 2, 2))


def fits(shape: Shape, **options: Any) -> bool:
    return shape.bars == 0 and shape.length == LENGTH


def _office_part(key: str, label: str, label_bn: str, digits: str, start: int,
                 names: Mapping[Any, tuple[str, str | None]], lookup: Hashable,
                 offices: bool) -> dict[str, Any]:
    if not offices:  # another utility's code: position only, nothing to look up
        return part(key, label, label_bn, digits, start)
    return coded_part(key, label, label_bn, digits, start, names, lookup)


def explain(text: object, *, offices: bool = True) -> dict[str, Any]:
    """The parts of the account number; with ``offices`` the names WZPDCL's guide gives."""
    n = validate(text)
    circle, office, substation, feeder = n[0], n[1:3], n[3], n[4]
    parts = [
        _office_part("circle", "circle office", "সার্কেল অফিস", circle, 1, CIRCLES,
                     circle, offices),
        _office_part("office", "office under the circle", "সার্কেল অফিসের অধীনে অফিস",
                     office, 2, OFFICES, (circle, office), offices),
        _office_part("substation", "substation under the office", "অফিসের অধীনে সাবস্টেশন",
                     substation, 4, SUBSTATIONS, (circle, office, substation), offices),
        _office_part("feeder", "feeder under the substation", "সাবস্টেশনের অধীনে ফিডার",
                     feeder, 5, FEEDERS, (circle, office, substation, feeder), offices),
        part("book", "billing book", "বিলিং বুক নম্বর", n[5:7], 6),
        part("page", "page in the book", "বিলিং বইয়ের পৃষ্ঠা নম্বর", n[7:9], 8),
    ]
    return {"scheme": NAME, "title": TITLE if offices else TITLE_GENERIC,
            "title_bn": TITLE_BN, "number": n, "formatted": format(n), "parts": parts}
