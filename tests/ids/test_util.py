"""qrpay.ids._util.clean: digit scripts, separators, and its three error codes."""

from __future__ import annotations

import pytest

from qrpay.errors import ValidationError
from qrpay.ids._util import clean, group, shape


@pytest.mark.parametrize("typed", [
    "104231245",
    "১০৪২৩১২৪৫",  # Bengali, as the source writes it
    "१०४२३१२४५",  # Devanagari
    "1-04-2-3-12-45",
    "1\u201304\u20132 3 12 45",  # en dashes
    "1\u00a004\u20092\u202f3\t12\n45",  # no-break, thin and narrow no-break spaces
    " ১০৪ ২৩১-২৪৫ ",
])
def test_clean_returns_ascii_digits_for_any_script_and_spacing(typed: str) -> None:
    assert clean(typed, "account_no") == "104231245"


@pytest.mark.parametrize("junk", [None, 104231245, 1.5, b"104231245", object(), ["1"]])
def test_clean_rejects_non_text_as_invalid_type(junk: object) -> None:
    with pytest.raises(ValidationError) as err:
        clean(junk, "account_no")
    assert err.value.code == "invalid_type"
    assert err.value.field == "account_no"


@pytest.mark.parametrize("typed", ["", "   ", " - \u2013 \u00a0"])
def test_clean_rejects_only_separators_as_empty(typed: str) -> None:
    with pytest.raises(ValidationError) as err:
        clean(typed, "meter_no")
    assert err.value.code == "empty"


@pytest.mark.parametrize(("typed", "char", "position"), [
    ("12345678a", "a", 9),
    ("€", "€", 1),
    ("১২৩x৪", "x", 4),
    ("12.34", ".", 3),
    ("12|34", "|", 3),
    ("１２", "１", 1),  # fullwidth digits are not in the two scripts we read
])
def test_clean_names_the_invalid_character_and_its_position(
        typed: str, char: str, position: int) -> None:
    with pytest.raises(ValidationError) as err:
        clean(typed, "bill_no")
    assert err.value.code == "invalid_character"
    assert err.value.data == {"character": char, "position": position}


def test_clean_keeps_bars_only_when_asked_and_reads_fullwidth_bars() -> None:
    assert clean("6 305 | 1 ｜ 2", "tracking_no", keep="|") == "6305|1|2"


def test_shape_counts_characters_before_the_first_bar() -> None:
    seen = shape("৬ ৩০৫-x | 1 | 2")
    assert seen is not None and (seen.main, seen.bars) == ("6305x", 2)
    assert shape(None) is None


def test_group_puts_the_remainder_in_a_last_group() -> None:
    assert group("123456789", (1, 2)) == "1 23 456789"
    assert group("12", (1, 2, 3)) == "1 2"
