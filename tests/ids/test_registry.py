"""qrpay.ids: the registry, guessing by shape, explain() dispatch, module doctests."""

from __future__ import annotations

import doctest

import pytest

from qrpay import ids
from qrpay.config import Numbering
from qrpay.errors import ValidationError


def test_every_scheme_is_registered_under_its_name() -> None:
    assert ids.names() == ["bd_account", "bd_meter", "bd_bill", "bd_tracking", "in_consumer",
                           "in_bill"]
    assert ids.get("bd_meter").NAME == "bd_meter"


def test_get_unknown_scheme_raises_unknown_kind() -> None:
    with pytest.raises(ValidationError) as err:
        ids.get("iban")
    assert err.value.code == "unknown_kind"


@pytest.mark.parametrize(("typed", "expected"), [
    ("১০৪২৩১২৪৫", ["bd_account"]),
    ("050350143117", ["bd_meter"]),
    ("22 02 104231245", ["bd_bill"]),
    ("6305191204122348404|1|2", ["bd_tracking"]),
    ("6 305 191022 103212 909", ["bd_tracking"]),
    ("305191022103212909", ["bd_tracking"]),
    ("1234567890", ["in_consumer"]),
    ("12345678a", ["bd_account"]),  # shape only: validate says which character is wrong
    ("12345", []),
    (None, []),
])
def test_guess_goes_by_length_after_compacting(typed: object, expected: list[str]) -> None:
    assert ids.guess(typed) == expected


def test_guess_passes_options_to_in_consumer() -> None:
    assert ids.guess("123456789", length=9) == ["bd_account", "in_consumer"]
    assert ids.guess("123456789", length=9, prefix="9") == ["bd_account"]


def test_explain_guesses_the_kind() -> None:
    assert ids.explain("2202104231245")["scheme"] == "bd_bill"


def test_explain_with_kind_uses_that_scheme_and_its_options() -> None:
    result = ids.explain("123456789", kind="in_consumer", length=9)
    assert result["scheme"] == "in_consumer"
    assert ids.explain("123456789", kind="bd_account", length=9)["scheme"] == "bd_account"


def test_explain_of_an_ambiguous_shape_lists_the_candidates() -> None:
    with pytest.raises(ValidationError) as err:
        ids.explain("123456789", length=9)
    assert err.value.code == "ambiguous_kind"
    assert err.value.data["candidates"] == ["bd_account", "in_consumer"]


@pytest.mark.parametrize(("typed", "code"), [
    ("12345", "unknown_kind"),
    ("€", "invalid_character"),
    ("", "empty"),
    (None, "invalid_type"),
    ("2213104231245", "invalid_component"),
])
def test_explain_raises_the_most_precise_code(typed: object, code: str) -> None:
    with pytest.raises(ValidationError) as err:
        ids.explain(typed)
    assert err.value.code == code


def test_for_numbering_picks_the_bd_module_or_a_bound_in_scheme() -> None:
    assert ids.for_numbering(Numbering(scheme="bd")) is ids.bd_account
    bound = ids.for_numbering(Numbering(scheme="in", length=8, prefix=""))
    assert bound.validate("1234 5678") == "12345678"


@pytest.mark.parametrize("module", [ids, *ids.SCHEMES.values()], ids=lambda m: m.__name__)
def test_module_doctests_pass(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.attempted > 0
    assert result.failed == 0
