"""Logins tell nothing about which usernames exist, cost the same whatever the name, are
throttled per client address (in the database, so every worker sees it), and store what
was typed only when it names an account."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from qrpay.config import Config
from qrpay.desk import actions, staff, throttle
from qrpay.desk.audit import Where
from qrpay.store import Store
from qrpay.store.schema import audit
from qrpay.web.app import create_app

from .conftest import PASSWORD, add_user

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def verifies(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The argon2 checks made, by the hash checked against (dummy or real)."""
    seen: list[str] = []
    real = staff._verify

    def counted(password_hash: str, password: str) -> bool:
        seen.append("dummy" if password_hash == staff._DUMMY_HASH else "real")
        return real(password_hash, password)

    monkeypatch.setattr(staff, "_verify", counted)
    return seen


def _lock(store: Store, name: str) -> None:
    for i in range(staff.MAX_FAILURES):
        with store.begin() as conn:
            staff.attempt_login(conn, name, "wrong-password", NOW + dt.timedelta(seconds=i))


def test_a_locked_name_answers_and_costs_as_an_unknown_one(make_desk, store: Store,
                                                           verifies: list[str]) -> None:
    add_user(store, "asha")
    with store.begin() as conn:
        conn.execute(staff.staff.update().values(
            locked_until=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)))
    desk = make_desk()
    answers = []
    for name in ("asha", "nobody-here"):
        verifies.clear()
        status = desk.login(name, PASSWORD)
        answers.append((status, _code(desk.last_login_page), len(verifies)))
    assert answers[0] == answers[1] == (401, "bad_credentials", 1)


def _code(page: str) -> str:
    import re

    found = re.search(r'data-code="([a-z_]+)"', page)
    assert found, page
    return found.group(1)


def test_a_locked_account_still_costs_one_password_check(store: Store,
                                                         verifies: list[str]) -> None:
    add_user(store, "asha")
    _lock(store, "asha")
    verifies.clear()
    with store.connect() as conn:
        check = staff.check_login(staff.read_account(conn, "asha"), "asha", PASSWORD,
                                  NOW + dt.timedelta(minutes=1))
    assert check.result == "locked" and verifies == ["real"]


def _fail(store: Store, config: Config, remote: str, name: str = "nobody",
          now: dt.datetime = NOW) -> actions.LoggedIn:
    check = staff.verify_login(store, name, "wrong-password", now)
    with store.begin() as conn:
        return actions.login(conn, config, Where(remote=remote), check, now)


def test_an_address_with_too_many_failures_is_throttled_for_every_name(
        store: Store, best_config: Config) -> None:
    for i in range(throttle.MAX_FAILURES):
        _fail(store, best_config, "10.0.0.7", f"user{i}")
    with store.connect() as conn:
        assert actions.login_blocked(conn, Where(remote="10.0.0.7"), NOW)
        assert not actions.login_blocked(conn, Where(remote="10.0.0.8"), NOW)
        later = NOW + throttle.BLOCK + dt.timedelta(seconds=1)
        assert not actions.login_blocked(conn, Where(remote="10.0.0.7"), later)


def test_the_throttle_is_shared_by_every_worker_on_the_database(
        store: Store, best_config: Config, verifies: list[str]) -> None:
    """Failures counted through one app (worker) block the address in another."""
    from starlette.testclient import TestClient

    from .conftest import Desk

    add_user(store, "asha")
    worker_a = TestClient(create_app(best_config, store, start_sender=False))
    worker_b = TestClient(create_app(best_config, store, start_sender=False))
    with worker_a as a, worker_b as b:
        for _ in range(throttle.MAX_FAILURES):
            assert Desk(a).login("nobody", "wrong-password") == 401
        verifies.clear()
        desk_b = Desk(b)
        assert desk_b.login("asha", PASSWORD) == 429  # even the right password
        assert _code(desk_b.last_login_page) == "too_many_attempts"
        assert verifies == []  # refused before any password check


def test_failed_logins_store_what_was_typed_only_for_a_known_user(
        store: Store, best_config: Config) -> None:
    add_user(store, "asha")
    typed_password = "hunter2-my-secret"  # typed into the username box
    _fail(store, best_config, "10.0.0.9", typed_password)
    _fail(store, best_config, "10.0.0.9", "asha")
    with store.connect() as conn:
        rows = conn.execute(select(audit.c.actor, audit.c.detail)).all()
    assert all(typed_password not in f"{r.actor} {r.detail}" for r in rows)
    assert [(r.actor, json.loads(r.detail)["code"]) for r in rows] == [
        ("?", "bad_credentials"), ("asha", "bad_credentials")]


def _right(store: Store, config: Config, remote: str,
           now: dt.datetime = NOW) -> actions.LoggedIn:
    check = staff.verify_login(store, "asha", PASSWORD, now)
    with store.begin() as conn:
        return actions.login(conn, config, Where(remote=remote), check, now)


def test_wrong_passwords_from_one_address_do_not_lock_the_cashier_out_elsewhere(
        store: Store, best_config: Config) -> None:
    """Five wrong passwords for asha from 10.0.0.66 lock asha for that address only: the
    cashier's own desk (10.0.0.5) still logs in, the guessing address does not, even with
    the right password, and the answer there is the one an unknown name gets."""
    add_user(store, "asha")
    for i in range(throttle.ACCOUNT_MAX_FAILURES):
        _fail(store, best_config, "10.0.0.66", "asha", NOW + dt.timedelta(seconds=i))
    soon = NOW + dt.timedelta(minutes=1)
    guesser = _right(store, best_config, "10.0.0.66", soon)
    assert guesser.token is None and guesser.code == "bad_credentials"
    assert _right(store, best_config, "10.0.0.5", soon).token is not None
    later = NOW + throttle.BLOCK + dt.timedelta(minutes=1)
    assert _right(store, best_config, "10.0.0.66", later).token is not None
    with store.connect() as conn:
        codes = [json.loads(r.detail)["code"] for r in conn.execute(
            select(audit.c.detail).where(audit.c.action == "login_failed")).all()]
    assert codes == ["bad_credentials"] * 4 + ["locked", "locked"]
