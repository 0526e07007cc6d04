"""Indian consumer numbers: opaque digits of a biller-defined length and prefix."""

from __future__ import annotations

import pytest

from qrpay.config import Numbering
from qrpay.errors import ConfigError, ValidationError
from qrpay.ids import in_consumer


def test_default_is_ten_digits_without_prefix() -> None:
    assert in_consumer.validate("१२३४ ५६७८ ९०") == "1234567890"
    assert not in_consumer.is_valid("123456789")


def test_length_and_prefix_options_are_checked() -> None:
    assert in_consumer.validate("৯০১২৩৪৫৬৭", length=9, prefix="90") == "901234567"
    with pytest.raises(ValidationError) as err:
        in_consumer.validate("801234567", length=9, prefix="90")
    assert (err.value.code, err.value.data["component"]) == ("invalid_component", "prefix")
    with pytest.raises(ValidationError) as err:
        in_consumer.validate("9012345678", length=9, prefix="90")
    assert err.value.code == "invalid_length"


def test_explain_splits_prefix_from_the_opaque_rest() -> None:
    result = in_consumer.explain("901234567", length=9, prefix="90")
    assert [(p["key"], p["digits"]) for p in result["parts"]] == [
        ("prefix", "90"), ("number", "1234567")]
    assert (result["length"], result["prefix"]) == (9, "90")


def test_format_sets_the_prefix_apart_and_groups_by_four() -> None:
    assert in_consumer.format("901234567", length=9, prefix="90") == "90 1234 567"
    assert in_consumer.format("1234567890") == "1234 5678 90"


def test_for_biller_binds_the_profiles_numbering() -> None:
    scheme = in_consumer.for_biller(Numbering(scheme="in", length=9, prefix="1"))
    assert scheme.validate("1 2345 6789") == "123456789"
    assert not scheme.is_valid("223456789")
    assert scheme.format("123456789") == "1 2345 6789"
    assert scheme.explain("123456789")["prefix"] == "1"


@pytest.mark.parametrize(("length", "prefix"), [(0, ""), (31, ""), ("9", ""), (True, ""),
                                                (9, "AB"), (3, "1234"), (9, None)])
def test_bad_options_are_a_config_error(length: object, prefix: object) -> None:
    with pytest.raises(ConfigError) as err:
        in_consumer.validate("123", length=length, prefix=prefix)  # type: ignore[arg-type]
    assert err.value.code == "bad_value"
