"""Mobile numbers of India and Bangladesh: one scheme for import, SMS and chat.

Sources: ITU-T E.164 (a number is ``+``, the country code, then the national significant
number; an MSISDN is the same digits without the ``+``) and the national numbering
plans: India (TRAI National Numbering Plan 2003: mobile numbers are 10 digits starting
6, 7, 8 or 9; country code 91; ``0`` is the trunk prefix dialled before them at home)
and Bangladesh (BTRC: mobile numbers are ``01`` + operator digit 3-9 + 8 digits, written
``01712-345678`` at home; country code 880, with the trunk ``0`` dropped after it, so
``+880 1712-345678``; many write ``+88 01712-345678``, which is the same digits).

People type these in ASCII, Bengali or Devanagari digits, with spaces, dashes, dots and
brackets, with or without ``+``, ``00``, the country code or the trunk ``0``; all of that
is accepted.  Only the mobile ranges of the plans are checked, nothing narrower (a new
operator range must not be refused).  ``country`` is the biller's (``"IN"``, ``"BD"``);
without it the number must carry its country code.

>>> validate('०९८१२३ ४५६७८', country='IN')
'+919812345678'
>>> format('০১৭১২-৩৪৫৬৭৮', country='BD', style='msisdn')
'8801712345678'
>>> format('+880 1712 345678')
'+880 1712-345678'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from qrpay.errors import ValidationError
from qrpay.ids._util import Shape, clean, invalid_component, part, require_str, validates

NAME = "mobile"
TITLE = "Mobile number (India, Bangladesh)"
TITLE_BN = "মোবাইল নম্বর"
FIELD = "mobile"
OPTIONS: tuple[str, ...] = ("country",)
STYLES = ("display", "e164", "msisdn")
_BRACKETS = str.maketrans("().", "   ")


@dataclass(frozen=True)
class Plan:
    """A country's mobile numbering: its country code and national mobile numbers."""

    country: str
    code: str  # E.164 country code
    national: re.Pattern[str]  # the national significant number of a mobile
    groups: tuple[int, ...]  # how people group the national number
    sep: str


PLANS: dict[str, Plan] = {
    "IN": Plan("IN", "91", re.compile(r"[6-9][0-9]{9}"), (5, 5), " "),
    "BD": Plan("BD", "880", re.compile(r"1[3-9][0-9]{8}"), (4, 6), "-"),
}
NATIONAL_LENGTH = 10  # both plans
TRUNK = "0"

#: Bangladesh operator prefixes (BTRC allocations); a ported number keeps its prefix.
BD_OPERATORS: dict[str, tuple[str, str]] = {
    "13": ("Grameenphone", "গ্রামীণফোন"), "17": ("Grameenphone", "গ্রামীণফোন"),
    "14": ("Banglalink", "বাংলালিংক"), "19": ("Banglalink", "বাংলালিংক"),
    "15": ("Teletalk", "টেলিটক"), "16": ("Airtel (Robi)", "এয়ারটেল (রবি)"),
    "18": ("Robi", "রবি"),
}


def _plan(country: str | None) -> Plan | None:
    if country is None:
        return None
    try:
        return PLANS[str(country).upper()]
    except KeyError:
        raise ValidationError(f"no mobile numbering for country {country!r}; known: "
                              f"{', '.join(PLANS)}", code="unsupported_country",
                              field="country") from None


def compact(text: object) -> str:
    """The digits of ``text`` (any digit script; spaces, dashes, dots and brackets
    dropped), with a leading ``+`` kept when typed: ``+919812345678``."""
    typed = require_str(text, FIELD)
    digits = clean(typed.translate(_BRACKETS).replace("\uff0b", "+"), FIELD, keep="+")
    if "+" in digits[1:]:
        raise ValidationError(f"{FIELD}: '+' may only come first", code="invalid_character",
                              field=FIELD, character="+")
    if digits == "+":
        raise ValidationError(f"{FIELD} is empty", code="empty", field=FIELD)
    return digits


def _international(digits: str) -> str | None:
    """The digits after an international prefix (``+`` or ``00``), else None."""
    if digits.startswith("+"):
        return digits[1:]
    if digits.startswith("00"):
        return digits[2:]
    return None


def _split(digits: str, plan: Plan | None) -> tuple[Plan, str]:
    """(plan, national significant number) of compact ``digits``; raises when no reading
    of them is a number of ``plan``.  Without a plan the number must start with its
    country code (``+``, ``00`` or the bare code, as an MSISDN)."""
    intl = _international(digits)
    if plan is None and intl is None:
        intl = digits
    plans = [plan] if plan is not None else list(PLANS.values())
    for candidate in plans:
        number = _national(digits, intl, candidate)
        if number is not None:
            return candidate, number
    if intl is not None:
        return _refuse_international(intl, plans)
    assert plan is not None
    raise ValidationError(f"mobile number must have {NATIONAL_LENGTH} digits (after any "
                          f"+{plan.code} or 0), got {len(digits)}", code="invalid_length",
                          field=FIELD, length=len(digits))


def _national(digits: str, intl: str | None, plan: Plan) -> str | None:
    """The national number if ``digits`` has one of the written forms of ``plan``:
    ``+CC N``, ``00CC N``, ``CC N``, ``0N``, ``N`` (``N`` possibly after a stray ``0``)."""
    if intl is not None:
        rest = intl[len(plan.code):] if intl.startswith(plan.code) else None
    elif digits.startswith(plan.code) and len(digits) > NATIONAL_LENGTH + 1:
        rest = digits[len(plan.code):]
    else:
        rest = digits
    if rest is None:
        return None
    if len(rest) == NATIONAL_LENGTH + 1 and rest.startswith(TRUNK):
        rest = rest[1:]
    return rest if len(rest) == NATIONAL_LENGTH else None


def _refuse_international(digits: str, plans: list[Plan]) -> tuple[Plan, str]:
    for plan in plans:
        if digits.startswith(plan.code):
            raise ValidationError(
                f"mobile number must have {NATIONAL_LENGTH} digits after +{plan.code}",
                code="invalid_length", field=FIELD, length=len(digits) - len(plan.code))
    codes = " or ".join(f"+{p.code}" for p in plans)
    raise invalid_component(f"mobile number must be of {codes}", FIELD, "country_code")


def _number(text: object, country: str | None) -> tuple[Plan, str]:
    plan, number = _split(compact(text), _plan(country))
    if not plan.national.fullmatch(number):
        raise invalid_component(f"{number} is not a mobile number of {plan.country} "
                                f"(+{plan.code})", FIELD, "national_number")
    return plan, number


def validate(text: object, country: str | None = None) -> str:
    """The number in E.164 (``+919812345678``, ``+8801712345678``), or raise
    :class:`ValidationError` (``invalid_type``, ``empty``, ``invalid_character``,
    ``invalid_length``, ``invalid_component``, ``unsupported_country``)."""
    plan, number = _number(text, country)
    return f"+{plan.code}{number}"


def is_valid(text: object, country: str | None = None, **options: Any) -> bool:
    return validates(validate, text, country=country, **options)


def format(text: object, country: str | None = None, style: str = "display") -> str:
    """``display``: grouped for people (``+91 98123 45678``, ``+880 1712-345678``);
    ``e164``: ``+919812345678``; ``msisdn`` (what SMS gateways take): ``919812345678``."""
    plan, number = _number(text, country)
    if style == "e164":
        return f"+{plan.code}{number}"
    if style == "msisdn":
        return f"{plan.code}{number}"
    if style != "display":
        raise ValidationError(f"unknown mobile number style {style!r}; known: "
                              f"{', '.join(STYLES)}", code="unknown_style", field="style")
    split = plan.groups[0]
    return f"+{plan.code} {number[:split]}{plan.sep}{number[split:]}"


def msisdn(text: object, country: str | None = None) -> str | None:
    """The MSISDN (E.164 digits without ``+``), or None when ``text`` is not a mobile
    number of ``country`` (an SMS is then not sent)."""
    try:
        return format(text, country, style="msisdn")
    except ValidationError:
        return None


def fits(shape: Shape, **options: Any) -> bool:
    """Never guessed as a bill identifier: a mobile number is asked for by name."""
    return False


def explain(text: object, country: str | None = None) -> dict[str, Any]:
    """Country code and national number; for Bangladesh the operator that the prefix
    was allocated to (a ported number keeps its prefix)."""
    plan, number = _number(text, country)
    offset = len(plan.code) + 1
    parts = [part("country_code", "country code", "দেশের কোড", plan.code, 1,
                  meaning=plan.country)]
    if plan.country == "BD":
        found = BD_OPERATORS.get(number[:2])
        parts.append(part("operator", "operator prefix", "অপারেটর", number[:2], offset,
                          meaning=found[0] if found else None,
                          meaning_bn=found[1] if found else None, known=found is not None))
        parts.append(part("subscriber", "subscriber number", "গ্রাহক নম্বর", number[2:],
                          offset + 2))
    else:
        parts.append(part("subscriber", "subscriber number", "গ্রাহক নম্বর", number, offset))
    e164 = f"+{plan.code}{number}"
    return {"scheme": NAME, "title": TITLE, "title_bn": TITLE_BN, "number": e164,
            "formatted": format(e164), "msisdn": e164[1:], "country": plan.country,
            "parts": parts}
