"""Prepaid meter numbers: the guide's example 050350143117 and what is checked."""

from __future__ import annotations

import pytest

from qrpay.errors import ValidationError
from qrpay.ids import bd_meter

EXAMPLE = "050350143117"


@pytest.mark.parametrize("typed", [EXAMPLE, "০৫০৩৫০১৪৩১১৭", "०५०३५०१४३११७", "05 03 5 0143117"])
def test_source_example_validates_in_every_script(typed: str) -> None:
    assert bd_meter.validate(typed) == EXAMPLE


def test_explain_decodes_wzpdcl_bsec_single_phase_smart_keypad() -> None:
    parts = {p["key"]: p for p in bd_meter.explain(EXAMPLE)["parts"]}
    assert parts["utility"]["meaning"] == "WZPDCL"
    assert parts["utility"]["meaning_bn"] == "ওজোপাডিকো"
    assert parts["manufacturer"]["meaning"] == "Bangladesh Smart Electrical Co. (BSEC)"
    assert parts["meter_type"]["meaning"] == "single-phase smart (online) keypad meter"
    assert (parts["serial"]["digits"], parts["serial"]["position"]) == ("0143117", "6-12")


@pytest.mark.parametrize(("code", "name"), [("03", "DESCO"), ("06", "DESCO"), ("11", "NESCO"),
                                            ("04", "BREB (Palli Bidyut)")])
def test_every_listed_utility_code_is_named(code: str, name: str) -> None:
    assert bd_meter.explain(code + "0150143117")["parts"][0]["meaning"] == name


def test_unlisted_utility_and_manufacturer_codes_are_accepted_unnamed() -> None:
    parts = bd_meter.explain("099950143117")["parts"]
    assert [(p["digits"], p["known"]) for p in parts[:2]] == [("09", False), ("99", False)]


@pytest.mark.parametrize("meter_type", "0789")
def test_meter_type_outside_one_to_six_is_invalid_component(meter_type: str) -> None:
    with pytest.raises(ValidationError) as err:
        bd_meter.validate(f"0503{meter_type}0143117")
    assert err.value.code == "invalid_component"
    assert err.value.data["component"] == "meter_type"


def test_format_groups_by_part() -> None:
    assert bd_meter.format(EXAMPLE) == "05 03 5 0143117"


def test_eleven_digits_is_invalid_length() -> None:
    with pytest.raises(ValidationError) as err:
        bd_meter.validate("05035014311")
    assert err.value.code == "invalid_length"
