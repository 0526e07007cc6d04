"""New-connection tracking numbers: the guide's two examples and each checked part."""

from __future__ import annotations

import pytest

from qrpay.errors import ValidationError
from qrpay.ids import bd_tracking

EXAMPLE = "6305191204122348404|1|2"
SPACED = "6 305 191204 122348 404 | 1 | 2"


@pytest.mark.parametrize("typed", [EXAMPLE, SPACED, "৬ ৩০৫ ১৯১২০৪ ১২২৩৪৮ ৪০৪ | ১ | ২",
                                   "६३०५१९१२०४१२२३४८४०४|१|२", "6305191204122348404 ｜ 1 ｜ 2"])
def test_source_example_validates_in_every_script_and_spacing(typed: str) -> None:
    assert bd_tracking.validate(typed) == EXAMPLE


def test_explain_decodes_every_part_of_the_source_example() -> None:
    result = bd_tracking.explain(SPACED)
    parts = {p["key"]: p for p in result["parts"]}
    assert parts["payment_type"]["meaning"] == "Rocket mobile banking"
    assert parts["office"]["digits"] == "305"
    assert parts["date"]["meaning"] == "2019-12-04"
    assert parts["time"]["meaning"] == "12:23:48"
    assert parts["serial"]["digits"] == "404"
    assert parts["meter"]["digits"] == "1"
    assert parts["cost_head"]["meaning"] == "demand charge"
    assert parts["cost_head"]["meaning_bn"] == "চাহিদা খরচ"
    assert result["submitted_at"] == "2019-12-04T12:23:48"


def test_bar_parts_are_optional_as_in_the_sources_second_example() -> None:
    assert bd_tracking.validate("6 305 191022 103212 909") == "6305191022103212909"
    assert bd_tracking.validate("6305191022103212909 | 3") == "6305191022103212909|3"


def test_eighteen_digits_without_the_payment_type_are_accepted() -> None:
    result = bd_tracking.explain("305191204122348404|1|2")
    assert [p["key"] for p in result["parts"]][:2] == ["office", "date"]
    assert result["parts"][0]["position"] == "1-3"


def test_format_writes_it_as_the_source_does() -> None:
    assert bd_tracking.format(EXAMPLE) == SPACED
    assert bd_tracking.format("305191204122348404") == "305 191204 122348 404"


@pytest.mark.parametrize(("typed", "component"), [
    ("8305191204122348404", "payment_type"),
    ("0305191204122348404", "payment_type"),
    ("6305190230122348404", "date"),  # 30 February
    ("6305191304122348404", "date"),  # month 13
    ("6305191204242348404", "time"),  # 24 h
    ("6305191204126048404", "time"),  # 60 minutes
    ("6305191204122348404|6", "meter"),
    ("6305191204122348404|0|2", "meter"),
    ("6305191204122348404|1|4", "cost_head"),
])
def test_undefined_component_is_invalid_component(typed: str, component: str) -> None:
    with pytest.raises(ValidationError) as err:
        bd_tracking.validate(typed)
    assert err.value.code == "invalid_component"
    assert err.value.data["component"] == component


def test_leap_day_is_a_real_date() -> None:
    assert bd_tracking.is_valid("6305200229122348404")


@pytest.mark.parametrize(("typed", "code"), [
    ("630519120412234840", "invalid_component"),  # 18 digits read without payment type
    ("63051912041223484", "invalid_length"),
    ("6305191204122348404|12", "invalid_length"),
    ("6305191204122348404|", "invalid_length"),
    ("|1|2", "invalid_length"),
    ("6305191204122348404|1|2|3", "invalid_format"),
    ("|", "empty"),
    (" | | ", "empty"),
    ("6305191204122348404/1/2", "invalid_character"),
])
def test_malformed_tracking_numbers_raise_precise_codes(typed: str, code: str) -> None:
    with pytest.raises(ValidationError) as err:
        bd_tracking.validate(typed)
    assert err.value.code == code
