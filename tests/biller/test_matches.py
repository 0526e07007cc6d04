"""``core.matches``: a payment's identifier names the bill's account; mobiles compared by
the project's mobile scheme (qrpay.ids.mobile), not by trailing digits."""

from __future__ import annotations

import pytest

from qrpay.biller.core import matches
from qrpay.biller.lookup import Identifier
from tests.biller.conftest import bd_bill, in_bill

BD = bd_bill("104231245", mobile="+8801717784483", meter="56781234")
IN = in_bill(mobile="+919177777868")


@pytest.mark.parametrize("typed", ["01717784483", "+880 1717-784483", "8801717784483",
                                   "1717784483", "০১৭১৭৭৮৪৪৮৩", "+৮৮০১৭১৭৭৮৪৪৮৩"])
def test_a_bangladeshi_mobile_matches_however_typed(typed: str) -> None:
    assert matches(BD, Identifier("mobile", typed))


@pytest.mark.parametrize("typed", ["9177777868", "+91 91777 77868", "०९१७७७७७८६८"])
def test_an_indian_mobile_matches_however_typed(typed: str) -> None:
    assert matches(IN, Identifier("mobile", typed))


@pytest.mark.parametrize("typed", [
    "+91 1717784483",  # the same last 10 digits, another country (and no mobile there)
    "+1 1717784483", "01717784484", "not a number"])
def test_other_numbers_do_not_match(typed: str) -> None:
    assert not matches(BD, Identifier("mobile", typed))


def test_the_same_ten_digits_in_india_do_not_match_an_indian_bill() -> None:
    assert not matches(IN, Identifier("mobile", "+880 9177777868"))


def test_a_bill_without_a_mobile_matches_no_mobile() -> None:
    assert not matches(bd_bill("104231246"), Identifier("mobile", "01717784483"))


def test_account_bill_and_meter_compare_compacted() -> None:
    assert matches(BD, Identifier("account", "১০৪ ২৩১ ২৪৫"))
    assert matches(BD, Identifier("bill", BD.bill_no))
    assert matches(BD, Identifier("meter", "5678 1234"))
    assert not matches(BD, Identifier("account", "104231246"))
