"""Account numbers: the WZPDCL guide's example 104231245 and its decoding."""

from __future__ import annotations

import pytest

from qrpay.errors import ValidationError
from qrpay.ids import bd_account

EXAMPLE = "104231245"


@pytest.mark.parametrize("typed", [EXAMPLE, "১০৪২৩১২৪৫", "१०४२३१२४५", "1 04 2 3 12 45",
                                   "104-231-245"])
def test_source_example_validates_in_every_script(typed: str) -> None:
    assert bd_account.validate(typed) == EXAMPLE
    assert bd_account.is_valid(typed)


def test_explain_decodes_the_source_example_with_english_and_bengali_names() -> None:
    parts = {p["key"]: p for p in bd_account.explain("১০৪২৩১২৪৫")["parts"]}
    assert parts["circle"]["meaning"] == "Khulna circle"
    assert parts["office"]["digits"] == "04"
    assert parts["office"]["meaning"] == "Sales & Distribution Division-4, Khulna"
    assert parts["office"]["meaning_bn"] == "বিক্রয় ও বিতরণ বিভাগ-৪, খুলনা"
    assert parts["substation"]["meaning"] == "Gallamari 33/11 kV substation"
    assert parts["feeder"]["meaning_bn"] == "নিরালা ফিডার"
    assert (parts["book"]["digits"], parts["book"]["position"]) == ("12", "6-7")
    assert (parts["page"]["digits"], parts["page"]["position"]) == ("45", "8-9")


def test_unknown_codes_decode_to_digits_without_a_name_and_are_accepted() -> None:
    result = bd_account.explain("905871122")
    circle = result["parts"][0]
    assert (circle["digits"], circle["meaning"], circle["known"]) == ("9", None, False)


def test_office_name_applies_only_under_its_own_circle() -> None:
    office = bd_account.explain("204231245")["parts"][1]
    assert office["digits"] == "04"
    assert office["known"] is False


def test_format_groups_by_part() -> None:
    assert bd_account.format("১০৪২৩১২৪৫") == "1 04 2 3 12 45"


@pytest.mark.parametrize("typed", ["10423124", "1042312456", "1"])
def test_wrong_length_is_invalid_length(typed: str) -> None:
    with pytest.raises(ValidationError) as err:
        bd_account.validate(typed)
    assert err.value.code == "invalid_length"
    assert err.value.data["length"] == len(typed)
