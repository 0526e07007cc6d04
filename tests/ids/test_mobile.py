"""Mobile numbers (qrpay.ids.mobile): India and Bangladesh as people type them, in every
digit script, and the one scheme behind the importer and the SMS outbox."""

from __future__ import annotations

import doctest

import pytest

from qrpay.errors import ValidationError
from qrpay.ids import mobile
from qrpay.importer import normalise_mobile
from qrpay.notify.outbox import normalise_msisdn

from .test_robustness import JUNK

IN_E164, BD_E164 = "+919812345678", "+8801712345678"


def test_the_doctests_hold() -> None:
    assert doctest.testmod(mobile).failed == 0


@pytest.mark.parametrize("typed", [
    "9812345678", "98123 45678", "098123-45678", "+91 98123 45678", "+91-9812345678",
    "919812345678", "0091 98123 45678", "+91 0 98123 45678", "(+91) 98123.45678",
    "९८१२३४५६७८", "०९८१२३ ४५६७८", "+९१ ९८१२३ ४५६७८", "৯৮১২৩৪৫৬৭৮", "＋91 9812345678",
    "98123\u00a045678", "98123\u200b45678",
])
def test_indian_mobile_numbers_as_typed(typed: str) -> None:
    assert mobile.validate(typed, country="IN") == IN_E164
    assert mobile.is_valid(typed, country="IN")


@pytest.mark.parametrize("typed", [
    "01712345678", "01712-345678", "1712345678", "+880 1712-345678", "+8801712345678",
    "+88 01712 345678", "8801712345678", "008801712345678", "০১৭১২-৩৪৫৬৭৮",
    "+৮৮০ ১৭১২ ৩৪৫৬৭৮", "০১৭১২৩৪৫৬৭৮", "०१७१२३४५६७८",
])
def test_bangladeshi_mobile_numbers_as_typed(typed: str) -> None:
    assert mobile.validate(typed, country="BD") == BD_E164


@pytest.mark.parametrize("typed, country", [(IN_E164, "IN"), (BD_E164, "BD")])
def test_styles(typed: str, country: str) -> None:
    e164 = mobile.format(typed, country, style="e164")
    assert e164 == typed
    assert mobile.format(typed, country, style="msisdn") == typed[1:]
    assert mobile.msisdn(typed, country) == typed[1:]
    display = mobile.format(typed, country)
    assert display in ("+91 98123 45678", "+880 1712-345678")
    assert mobile.validate(display, country) == e164  # what we print reads back


@pytest.mark.parametrize("typed", [IN_E164, BD_E164, IN_E164[1:], BD_E164[1:],
                                   "0091 98123 45678"])
def test_without_a_country_the_country_code_decides(typed: str) -> None:
    assert mobile.validate(typed) in (IN_E164, BD_E164)


@pytest.mark.parametrize("typed, country, code", [
    ("12345", "IN", "invalid_length"),
    ("981234567890", "IN", "invalid_length"),
    ("+91 981234567", "IN", "invalid_length"),
    ("5812345678", "IN", "invalid_component"),  # Indian mobiles start 6-9
    ("02-9123456", "BD", "invalid_length"),  # a Dhaka landline
    ("01212345678", "BD", "invalid_component"),  # no operator 2
    (BD_E164, "IN", "invalid_component"),  # another country's number
    (IN_E164, "BD", "invalid_component"),
    ("01712345678", None, "invalid_component"),  # no country code, no country
    ("9+812345678", "IN", "invalid_character"),
    ("+", "IN", "empty"),
    ("98123 45678", "XX", "unsupported_country"),
])
def test_refusals_have_codes(typed: str, country: str | None, code: str) -> None:
    with pytest.raises(ValidationError) as exc:
        mobile.validate(typed, country)
    assert exc.value.code == code
    assert mobile.is_valid(typed, country) is False
    assert mobile.msisdn(typed, country) is None


@pytest.mark.parametrize("country", ["IN", "BD", None])
@pytest.mark.parametrize("junk", JUNK, ids=lambda j: repr(j)[:20])
def test_junk_is_invalid_and_raises_only_validation_error(junk: object,
                                                          country: str | None) -> None:
    assert mobile.is_valid(junk, country) is False
    assert mobile.msisdn(junk, country) is None
    for function in (mobile.validate, mobile.format, mobile.explain):
        with pytest.raises(ValidationError):
            function(junk, country)


@pytest.mark.parametrize("junk", [None, "", object(), "€", "\x00", "\ud800", b"9812345678",
                                  9812345678])
def test_named_junk_is_refused_even_by_compact(junk: object) -> None:
    with pytest.raises(ValidationError):
        mobile.compact(junk)


def test_an_unknown_style_is_refused() -> None:
    with pytest.raises(ValidationError) as exc:
        mobile.format(IN_E164, style="national")
    assert exc.value.code == "unknown_style"


def test_explain_names_the_bangladeshi_operator_prefix() -> None:
    parts = {p["key"]: p for p in mobile.explain("০১৭১২-৩৪৫৬৭৮", "BD")["parts"]}
    assert parts["country_code"]["digits"] == "880"
    assert (parts["operator"]["digits"], parts["operator"]["meaning"]) == ("17", "Grameenphone")
    assert parts["subscriber"]["digits"] == "12345678"
    info = mobile.explain("+91 98123 45678")
    assert (info["country"], info["msisdn"]) == ("IN", "919812345678")


@pytest.mark.parametrize("typed, country", [
    ("98123 45678", "IN"), ("०९८१२३४५६७८", "IN"), ("+91-9812345678", "IN"),
    ("01712-345678", "BD"), ("০১৭১২৩৪৫৬৭৮", "BD"), ("+88 01712 345678", "BD"),
    ("12345", "IN"), ("02-9123456", "BD"), ("119812345678", "IN"), ("", "IN"),
])
def test_import_and_sms_read_a_number_the_same_way(typed: str, country: str) -> None:
    try:
        stored: str | None = normalise_mobile(typed, country)
    except ValidationError as exc:
        assert exc.code == "invalid_mobile"
        stored = None
    sent = normalise_msisdn(typed, country)
    assert sent == (stored[1:] if stored else None)
