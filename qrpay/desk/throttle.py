"""The per-address login throttle, kept in the database (several workers and nodes serve
the desk, so process memory would count each one's share only).

Every failed login from an address counts inside a window of :data:`WINDOW`; at
:data:`MAX_FAILURES` the address is blocked for :data:`BLOCK` and every login from it is
refused (``too_many_attempts``) before any password is checked, whatever the name.  The
answer does not depend on the name, so it tells nothing about which accounts exist.

Wrong passwords for one account count per address too (:data:`ACCOUNT_MAX_FAILURES`): at
that many the account is locked *for that address* only.  A lock for every address let
anyone lock any cashier out of the counter with five requests; now the cashier's own desk
keeps working while the address that guessed is refused (and soon throttled as a whole).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, select

from qrpay.store.schema import login_throttle
from qrpay.store.types import as_utc

MAX_FAILURES = 10  # failed logins from one address inside WINDOW
WINDOW = dt.timedelta(minutes=15)
BLOCK = dt.timedelta(minutes=15)
MAX_ADDRESS = 64
ACCOUNT_MAX_FAILURES = 5  # wrong passwords for one account from one address inside WINDOW


def _key(address: str | None) -> str:
    return (address or "unknown")[:MAX_ADDRESS]


def _account_key(staff_id: int, address: str | None) -> str:
    # '#' never starts an address, so the two kinds of row cannot meet
    return f"#{staff_id}@{_key(address)}"[:MAX_ADDRESS]


def is_blocked(conn: Connection, address: str | None, now: dt.datetime) -> bool:
    """Whether logins from ``address`` are refused now."""
    return _blocked(conn, _key(address), now)


def account_locked(conn: Connection, staff_id: int, address: str | None,
                   now: dt.datetime) -> bool:
    """Whether logins to account ``staff_id`` from ``address`` are refused now."""
    return _blocked(conn, _account_key(staff_id, address), now)


def record_failure(conn: Connection, address: str | None, now: dt.datetime) -> bool:
    """Count a failed login from ``address`` (in the caller's write transaction);
    True when the address is now blocked."""
    return _count(conn, _key(address), now, MAX_FAILURES)


def record_account_failure(conn: Connection, staff_id: int, address: str | None,
                           now: dt.datetime) -> bool:
    """Count a wrong password for ``staff_id`` from ``address``; True when that account is
    now locked for that address."""
    return _count(conn, _account_key(staff_id, address), now, ACCOUNT_MAX_FAILURES)


def _blocked(conn: Connection, key: str, now: dt.datetime) -> bool:
    until = conn.execute(select(login_throttle.c.blocked_until).where(
        login_throttle.c.address == key)).scalar()
    return until is not None and as_utc(until) > now


def _count(conn: Connection, key: str, now: dt.datetime, limit: int) -> bool:
    q = select(login_throttle).where(login_throttle.c.address == key)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    row = conn.execute(q).first()
    if row is None:
        inserted = _insert(conn, key, now)
        if inserted:
            return limit <= 1
        row = conn.execute(q).first()
        assert row is not None
    m = row._mapping
    inside = now - as_utc(m["window_start"]) <= WINDOW
    failures = m["failures"] + 1 if inside else 1
    blocked = now + BLOCK if failures >= limit else m["blocked_until"]
    conn.execute(login_throttle.update().where(login_throttle.c.address == key).values(
        failures=0 if failures >= limit else failures,
        window_start=m["window_start"] if inside else now, blocked_until=blocked))
    return failures >= limit


def _insert(conn: Connection, key: str, now: dt.datetime) -> bool:
    """Insert the address's first failure; False if a parallel login inserted it first."""
    from sqlalchemy.exc import IntegrityError

    try:
        with conn.begin_nested():
            conn.execute(login_throttle.insert().values(
                address=key, failures=1, window_start=now, blocked_until=None))
    except IntegrityError:
        return False
    return True
