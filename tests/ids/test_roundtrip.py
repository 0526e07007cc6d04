"""Properties over generated valid numbers: format() is undone by compact(), and every
digit script gives the same number."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from qrpay.digits import to_bengali, to_devanagari
from qrpay.ids import bd_account, bd_bill, bd_meter, bd_tracking, in_consumer


def digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=n, max_size=n)


accounts = digits(9)
meters = st.builds(lambda a, t, s: a + t + s, digits(4), st.sampled_from("123456"), digits(7))
bills = st.builds(lambda y, m, a: y + f"{m:02d}" + a, digits(2), st.integers(1, 12), accounts)
trackings = st.builds(
    lambda pay, office, when, serial, extras: (
        pay + office + when.strftime("%y%m%d%H%M%S") + serial + "".join("|" + e for e in extras)),
    st.sampled_from(["", *"1234567"]), digits(3),
    st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2099, 12, 31, 23, 59, 59)), digits(3),
    st.one_of(st.just(()), st.tuples(st.sampled_from("12345")),
              st.tuples(st.sampled_from("12345"), st.sampled_from("123"))))

SETTINGS = settings(max_examples=60, deadline=None)


@SETTINGS
@given(st.one_of(
    st.tuples(st.just(bd_account), accounts), st.tuples(st.just(bd_meter), meters),
    st.tuples(st.just(bd_bill), bills), st.tuples(st.just(bd_tracking), trackings)))
def test_compact_undoes_format_for_valid_numbers(case: tuple[object, str]) -> None:
    module, number = case
    assert module.validate(number) == number  # type: ignore[attr-defined]
    formatted = module.format(number)  # type: ignore[attr-defined]
    assert module.compact(formatted) == number  # type: ignore[attr-defined]
    assert module.validate(formatted) == number  # type: ignore[attr-defined]


@SETTINGS
@given(st.one_of(accounts, meters, bills, trackings))
def test_bengali_and_devanagari_digits_give_the_same_number(number: str) -> None:
    module = {9: bd_account, 12: bd_meter, 13: bd_bill}.get(len(number), bd_tracking)
    assert module.validate(to_bengali(number)) == number
    assert module.validate(to_devanagari(module.format(number))) == number


@SETTINGS
@given(st.integers(1, 30).flatmap(lambda n: st.tuples(st.just(n), digits(n))),
       st.integers(0, 3))
def test_in_consumer_format_round_trips_for_any_length_and_prefix(
        case: tuple[int, str], prefix_len: int) -> None:
    length, number = case
    prefix = number[:min(prefix_len, length)]
    formatted = in_consumer.format(number, length=length, prefix=prefix)
    assert in_consumer.validate(formatted, length=length, prefix=prefix) == number


@SETTINGS
@given(st.integers(2000, 2099), st.integers(1, 12), accounts)
def test_make_then_period_gives_back_the_period(year: int, month: int, account: str) -> None:
    bill_no = bd_bill.make(f"{year}-{month:02d}", account)
    assert bd_bill.period(bill_no) == f"{year}-{month:02d}"
    assert bd_bill.explain(bill_no)["account"]["number"] == account
