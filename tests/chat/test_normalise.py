"""Input as people type it (channels.md §5 items 11-13)."""

from __future__ import annotations

import pytest

from qrpay.chat.normalise import is_greeting, normalise, option_number


@pytest.mark.parametrize("typed", ["2", "२", "২", "２", " 2 ", "2.", "(2)", "\u200b2"])
def test_every_digit_script_is_option_two(typed: str) -> None:
    assert option_number(normalise(typed)) == 2


def test_twelve_is_never_one() -> None:
    assert option_number(normalise("12")) == 12
    assert option_number(normalise("१२")) == 12
    assert option_number(normalise("1 2")) is None


@pytest.mark.parametrize("typed", ["²", "½", "2a", "", "two", "-1"])
def test_not_option_numbers(typed: str) -> None:
    assert option_number(normalise(typed)) is None


def test_mixed_scripts_fold_to_ascii() -> None:
    assert normalise("२৩4 ５") == "234 5"


@pytest.mark.parametrize("typed", ["Hi", "hello!", "MENU", "बिल", "বিল", "नमस्ते", "হাই"])
def test_greetings(typed: str) -> None:
    assert is_greeting(normalise(typed))


def test_a_number_is_not_a_greeting() -> None:
    assert not is_greeting(normalise("1"))
