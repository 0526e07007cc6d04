"""Bill numbers: YY MM + account; the guide's example 2202104231245."""

from __future__ import annotations

import pytest

from qrpay.errors import ValidationError
from qrpay.ids import bd_bill

EXAMPLE = "2202104231245"


@pytest.mark.parametrize("typed", [EXAMPLE, "২২০২১০৪২৩১২৪৫", "२२०२१०४२३१२४५", "22 02 104231245"])
def test_source_example_validates_in_every_script(typed: str) -> None:
    assert bd_bill.validate(typed) == EXAMPLE


def test_explain_gives_the_period_and_the_nested_account() -> None:
    result = bd_bill.explain(EXAMPLE)
    assert result["period"] == "2022-02"
    assert result["parts"][1]["meaning"] == "February"
    assert result["account"]["number"] == "104231245"
    assert result["account"]["parts"][0]["meaning"] == "Khulna circle"


@pytest.mark.parametrize("month", ["00", "13", "99"])
def test_month_outside_the_year_is_invalid_component(month: str) -> None:
    with pytest.raises(ValidationError) as err:
        bd_bill.validate(f"22{month}104231245")
    assert err.value.code == "invalid_component"
    assert err.value.data["component"] == "month"


def test_make_builds_the_source_example_from_period_and_account() -> None:
    assert bd_bill.make("2022-02", "104231245") == EXAMPLE
    assert bd_bill.make("২০২২-০২", "১০৪ ২৩১ ২৪৫") == EXAMPLE
    assert bd_bill.period(EXAMPLE) == "2022-02"


@pytest.mark.parametrize(("period", "code"), [
    ("2022-13", "invalid_component"),
    ("1999-02", "invalid_component"),
    ("2022/02", "invalid_format"),
    ("22-02", "invalid_format"),
    (None, "invalid_type"),
])
def test_make_rejects_a_bad_period(period: object, code: str) -> None:
    with pytest.raises(ValidationError) as err:
        bd_bill.make(period, "104231245")
    assert err.value.code == code


def test_make_rejects_a_bad_account() -> None:
    with pytest.raises(ValidationError) as err:
        bd_bill.make("2022-02", "1042312")
    assert err.value.code == "invalid_length"


def test_format_separates_period_from_account() -> None:
    assert bd_bill.format(EXAMPLE) == "22 02 104231245"
