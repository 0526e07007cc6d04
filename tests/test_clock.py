"""One clock: utcnow/aware, and a biller's local time and day (Biller.local/Biller.today)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import doctest

import pytest

from qrpay import clock
from qrpay.config import load_config
from tests.conftest import SAMPLES


def test_the_doctests_hold() -> None:
    assert doctest.testmod(clock).failed == 0


def test_utcnow_is_aware_utc() -> None:
    now = clock.utcnow()
    assert now.tzinfo is not None and now.utcoffset() == dt.timedelta(0)


def test_aware_takes_naive_as_utc_and_converts_the_rest() -> None:
    naive = dt.datetime(2026, 12, 1, 10, 15)
    assert clock.aware(naive) == naive.replace(tzinfo=dt.UTC)
    ist = dt.datetime(2026, 12, 1, 10, 15, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))
    assert clock.aware(ist) == ist and clock.aware(ist).utcoffset() == dt.timedelta(0)
    assert clock.aware(None) is None


@pytest.fixture(params=["best", "breb"])
def biller(request: pytest.FixtureRequest):
    return load_config(SAMPLES / f"{request.param}.toml").default_biller


@pytest.mark.parametrize("utc, kolkata, dhaka", [
    ("2026-12-01T18:29:00+00:00", "2026-12-01", "2026-12-02"),  # 23:59 IST, 00:29 BST
    ("2026-12-01T18:30:00+00:00", "2026-12-02", "2026-12-02"),  # midnight in Kolkata
    ("2026-12-01T17:59:00+00:00", "2026-12-01", "2026-12-01"),  # 23:59 in Dhaka
    ("2026-12-01T18:30:00", "2026-12-02", "2026-12-02"),  # naive: UTC
])
def test_the_billers_day_turns_at_its_own_midnight(biller, utc: str, kolkata: str,
                                                   dhaka: str) -> None:
    when = dt.datetime.fromisoformat(utc)
    expected = kolkata if biller.timezone == "Asia/Kolkata" else dhaka
    assert biller.today(when) == dt.date.fromisoformat(expected)
    assert biller.local(when).date() == biller.today(when)
    assert biller.local(when) == clock.aware(when)  # the same instant


def test_a_biller_elsewhere_has_its_own_day(biller) -> None:
    far = dataclasses.replace(biller, timezone="Pacific/Kiritimati")  # UTC+14
    when = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
    assert far.today(when) == dt.date(2026, 12, 2)
    assert far.local(when).utcoffset() == dt.timedelta(hours=14)


def test_today_without_an_instant_is_the_day_of_the_current_instant(biller) -> None:
    before = biller.today(clock.utcnow())
    today = biller.today()
    after = biller.today(clock.utcnow())
    assert today in (before, after)
