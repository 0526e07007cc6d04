"""Staff accounts: argon2 hashes, roles, lockout inside a time window, disable."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from qrpay.desk import staff
from qrpay.errors import Conflict, ValidationError
from qrpay.store import Store
from qrpay.store.schema import staff as staff_t

T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
PW = "correct-horse-1"


@pytest.fixture
def asha(store: Store) -> staff.Staff:
    with store.begin() as conn:
        return staff.add_staff(conn, "Asha", PW, role="cashier", biller="best", counter="C1")


def login(store: Store, password: str, at: dt.datetime, user: str = "asha") -> staff.LoginOutcome:
    with store.begin() as conn:
        return staff.attempt_login(conn, user, password, at)


def test_password_is_stored_as_argon2id_hash_not_plain(store: Store, asha: staff.Staff) -> None:
    with store.connect() as conn:
        stored = conn.execute(select(staff_t.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PW not in stored


def test_username_is_case_insensitive_and_unique(store: Store, asha: staff.Staff) -> None:
    assert asha.username == "asha"
    with store.begin() as conn, pytest.raises(Conflict) as err:
        staff.add_staff(conn, "ASHA", PW, role="cashier", biller="best", counter="C1")
    assert err.value.code == "staff_exists"


@pytest.mark.parametrize(("kw", "code"), [
    ({"role": "boss"}, "bad_role"),
    ({"password": "short"}, "weak_password"),
    ({"username": "a b"}, "bad_username"),
    ({"counter": ""}, "bad_counter"),
])
def test_bad_account_fields_are_refused_with_codes(store: Store, kw: dict[str, str],
                                                   code: str) -> None:
    args = {"username": "ravi", "password": PW, "role": "cashier", "counter": "C1", **kw}
    with store.begin() as conn, pytest.raises(ValidationError) as err:
        staff.add_staff(conn, args["username"], args["password"], role=args["role"],
                        biller="best", counter=args["counter"])
    assert err.value.code == code


def test_right_password_logs_in_and_wrong_one_does_not(store: Store, asha: staff.Staff) -> None:
    assert login(store, PW, T0).staff == asha
    bad = login(store, "nope-nope", T0)
    assert bad.staff is None and bad.code == "bad_credentials"
    unknown = login(store, PW, T0, user="nobody")
    assert unknown.code == "bad_credentials"  # same answer as a wrong password


def test_five_failures_in_the_window_lock_even_the_right_password(store: Store,
                                                                   asha: staff.Staff) -> None:
    codes = [login(store, "wrong-pass", T0 + dt.timedelta(minutes=i)).code for i in range(5)]
    assert codes == ["bad_credentials"] * 4 + ["locked"]
    assert login(store, PW, T0 + dt.timedelta(minutes=6)).code == "locked"
    later = T0 + dt.timedelta(minutes=4) + staff.LOCK_PERIOD + dt.timedelta(seconds=1)
    assert login(store, PW, later).ok


def test_failures_spread_beyond_the_window_do_not_lock(store: Store, asha: staff.Staff) -> None:
    step = staff.FAILURE_WINDOW + dt.timedelta(minutes=1)
    for i in range(staff.MAX_FAILURES + 2):
        assert login(store, "wrong-pass", T0 + i * step).code == "bad_credentials"
    assert login(store, PW, T0 + 10 * step).ok


def test_disabled_account_cannot_log_in(store: Store, asha: staff.Staff) -> None:
    with store.begin() as conn:
        staff.disable(conn, "asha")
    assert login(store, PW, T0).code == "disabled"


def test_new_password_unlocks_and_replaces_old(store: Store, asha: staff.Staff) -> None:
    for i in range(staff.MAX_FAILURES):
        login(store, "wrong-pass", T0 + dt.timedelta(seconds=i))
    with store.begin() as conn:
        staff.set_password(conn, "asha", "another-pass-2")
    assert login(store, "another-pass-2", T0 + dt.timedelta(minutes=1)).ok
    assert not login(store, PW, T0 + dt.timedelta(minutes=2)).ok


def test_roles_rank_cashier_below_supervisor_below_admin(asha: staff.Staff) -> None:
    assert asha.has_role("cashier") and not asha.has_role("supervisor")
    boss = staff.Staff(id=9, username="boss", role="admin", biller="best", counter="C1")
    assert boss.has_role("supervisor") and boss.has_role("cashier")
