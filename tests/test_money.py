from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qrpay.errors import ValidationError
from qrpay.money import (
    MAX_AMOUNT,
    format_amount,
    group_indian,
    parse_amount,
    to_decimal_str,
)


@pytest.mark.parametrize("text, minor", [
    ("1234.50", 123450), ("1234.5", 123450), ("0", 0), ("-125.50", -12550),
    ("22,75,63,750", 22756375000), ("১২৩৪.৫০", 123450), ("१२३४", 123400), (" 7 ", 700),
    (Decimal("1.10"), 110), (5, 500),
])
def test_parse_amount_gives_minor_units(text, minor):
    assert parse_amount(text) == minor


@pytest.mark.parametrize("text, code", [
    ("1.005", "too_many_decimals"), ("abc", "invalid_amount"), ("", "missing_amount"),
    ("1e3", "invalid_amount"), ("NaN", "invalid_amount"), (1.5, "invalid_amount"),
    (None, "invalid_amount"), (True, "invalid_amount"),
])
def test_parse_amount_rejects_with_code(text, code):
    with pytest.raises(ValidationError) as exc:
        parse_amount(text)
    assert exc.value.code == code


def test_parse_amount_can_refuse_negative():
    with pytest.raises(ValidationError) as exc:
        parse_amount("-1", allow_negative=False)
    assert exc.value.code == "negative_amount"


def test_kesco_december_total_groups_in_lakh_and_crore():
    # KESCO December 2019: card + net banking + e-wallet = the published total.
    card, netbanking, wallet = 8_23_97_211_00, 67_79_176_00, 13_83_87_363_00
    assert format_amount(card + netbanking + wallet, currency="INR") == "₹ 22,75,63,750.00"


def test_format_amount_in_bengali_numerals():
    assert format_amount(1234550, currency="BDT", numerals="beng") == "৳ ১২,৩৪৫.৫০"
    assert format_amount(-5) == "-0.05"


@given(st.integers(min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT))
def test_decimal_string_round_trips(minor):
    assert parse_amount(to_decimal_str(minor)) == minor


@given(st.integers(min_value=0, max_value=10**15))
def test_indian_grouping_keeps_the_digits(n):
    grouped = group_indian(n)
    assert grouped.replace(",", "") == str(n)
    parts = grouped.split(",")
    assert len(parts[-1]) == 3 or len(parts) == 1
    assert all(len(p) == 2 for p in parts[1:-1])


@given(st.integers(min_value=0, max_value=MAX_AMOUNT))
def test_amounts_in_indian_grouping_and_native_digits_parse(minor):
    whole, frac = divmod(minor, 100)
    grouped = f"{group_indian(whole)}.{frac:02d}"
    assert parse_amount(grouped) == minor
    assert parse_amount(format_amount(minor, numerals="beng")) == minor
    assert parse_amount(format_amount(minor, numerals="deva")) == minor


@pytest.mark.parametrize("text", [
    "١٢٣",          # Arabic-Indic digits
    "１２３",        # full-width digits
    "๑๒๓",          # Thai digits
    "1_000",        # an underscore (Decimal takes it)
    "1,,000", ",100", "100,", "1,0,0", "12,34", "123,456", "1,234,567",  # stray or
    "+100", "--1", "1.", ".5", "1 000", "१२३4x", "0x10",                   # Western commas
])
def test_amounts_take_only_ascii_bengali_devanagari_digits_and_indian_grouping(text):
    with pytest.raises(ValidationError) as exc:
        parse_amount(text)
    assert exc.value.code == "invalid_amount"


@pytest.mark.parametrize("text", [
    "9" * 19, "99999999999999999999999999.99", "-" + "9" * 30, str(2**64), "1" + "0" * 11 + ".01",
])
def test_amounts_beyond_the_bound_are_refused_not_overflowed(text):
    with pytest.raises(ValidationError) as exc:
        parse_amount(text)
    assert exc.value.code == "amount_too_large"


def test_the_bound_is_stated_in_lakh_crore_grouping():
    with pytest.raises(ValidationError) as exc:
        parse_amount(str(2**64))
    assert "(1,00,00,00,00,000)" in exc.value.message


def test_the_largest_amount_is_taken():
    assert parse_amount(to_decimal_str(MAX_AMOUNT)) == MAX_AMOUNT
