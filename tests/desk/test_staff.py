"""Staff accounts: argon2 hashes, roles, lockout inside a time window (also under
parallel guesses), disable."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

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


# ------------------------------------------------------------------------------ races

PARALLEL = staff.MAX_FAILURES + 2


def _all_check_at_once(monkeypatch: pytest.MonkeyPatch, store: Store) -> threading.Barrier:
    """Make every password check wait until all PARALLEL logins are checking, so all of
    them have read the account before any records its failure (the barrier breaks, and
    the logins go on, when the checks cannot all be under way together)."""
    barrier = threading.Barrier(PARALLEL, timeout=5 if store.is_sqlite else 30)
    real = staff._verify

    def verify(password_hash: str, password: str) -> bool:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        return real(password_hash, password)

    monkeypatch.setattr(staff, "_verify", verify)
    return barrier


def _in_parallel(fn: Callable[[], str]) -> list[str]:
    with ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(lambda _: fn(), range(PARALLEL)))


def _locked_after(store: Store, codes: list[str]) -> None:
    assert codes.count("locked") == PARALLEL - staff.MAX_FAILURES + 1, codes
    with store.connect() as conn:
        assert staff.require_staff(conn, "asha").locked_until is not None
    assert login(store, PW, dt.datetime.now(dt.UTC)).code == "locked"


def test_parallel_wrong_passwords_each_count_towards_the_lock(
        store: Store, asha: staff.Staff, monkeypatch: pytest.MonkeyPatch) -> None:
    if not store.is_sqlite:  # SQLite's write lock runs these one at a time anyway
        _all_check_at_once(monkeypatch, store)
    codes = _in_parallel(lambda: login(store, "wrong-pass", dt.datetime.now(dt.UTC)).code or "")
    _locked_after(store, codes)


def test_server_login_checks_passwords_in_parallel_and_still_locks(
        store: Store, asha: staff.Staff, monkeypatch: pytest.MonkeyPatch) -> None:
    barrier = _all_check_at_once(monkeypatch, store)

    def server_login() -> str:
        check = staff.verify_login(store, "asha", "wrong-pass")
        with store.begin() as conn:
            return staff.record_login(conn, check).code or ""

    codes = _in_parallel(server_login)
    assert not barrier.broken  # no check waited for another's write transaction
    _locked_after(store, codes)


def test_password_changed_during_the_check_does_not_log_in_with_the_old_one(
        store: Store, asha: staff.Staff) -> None:
    check = staff.verify_login(store, "asha", PW)
    with store.begin() as conn:
        staff.set_password(conn, "asha", "another-pass-2")
    with store.begin() as conn:
        assert staff.record_login(conn, check).code == "bad_credentials"
