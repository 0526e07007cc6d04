"""Who may call the biller API: credentials, IP allow-list, the wrong-password slow-down.

* Passwords come from the environment (:func:`qrpay.config.secret`) and are compared
  with :func:`hmac.compare_digest`; every credential of the channel is compared, so the
  time taken does not tell which user name exists.
* ``allow_ips`` (exact addresses or CIDR networks) when the profile lists any.
* Five wrong passwords within a minute slow that channel down (and only that channel)
  for :data:`SLOW_SECONDS`: each of its requests then waits :data:`DELAY_SECONDS` before
  its credentials are even looked at.  The count lives in ``channel_auth``, so every
  worker process sees the same one.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import hmac
import ipaddress
import time

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from qrpay.biller.policy import ChannelApi, Credential
from qrpay.clock import aware, utcnow
from qrpay.config import secret
from qrpay.errors import AuthError
from qrpay.store import Store
from qrpay.store.schema import channel_auth

MAX_FAILURES = 5
WINDOW = dt.timedelta(minutes=1)
SLOW_SECONDS = 60
DELAY_SECONDS = 2.0


def _eq(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def authenticate(api: ChannelApi, username: str | None, password: str | None) -> Credential:
    """The credential matching ``username``/``password``; AuthError ``bad_credentials``."""
    if not username or not password:
        raise AuthError("user name and password are required", code="bad_credentials")
    match = None
    for cred in api.credentials:
        expected = secret(cred.password_env, required=False) or ""
        ok = _eq(cred.username, username) & _eq(expected, password) & bool(expected)
        if ok and match is None:
            match = cred
    if match is None:
        raise AuthError("wrong user name or password", code="bad_credentials")
    return match


def check_ip(api: ChannelApi, remote: str | None) -> None:
    if not api.allow_ips:
        return
    try:
        addr = ipaddress.ip_address(remote or "")
    except ValueError:
        raise AuthError("caller address unknown", code="ip_not_allowed") from None
    for entry in api.allow_ips:
        if addr in ipaddress.ip_network(entry, strict=False):
            return
    raise AuthError(f"{remote} is not on the channel's allow-list", code="ip_not_allowed")


_SEEN: dict[tuple[int, str], tuple[float, dt.datetime | None]] = {}
SEEN_SECONDS = 1.0  # a worker re-reads a channel's slow-down from the database this often


def _slowed_until(store: Store, channel: str) -> dt.datetime | None:
    key = (id(store), channel)
    hit = _SEEN.get(key)
    clock = time.monotonic()
    if hit is not None and clock - hit[0] < SEEN_SECONDS:
        return hit[1]
    with store.connect() as conn:
        until = aware(conn.execute(select(channel_auth.c.slowed_until).where(
            channel_auth.c.channel == channel)).scalar())
    _SEEN[key] = (clock, until)
    return until


def delay_for(store: Store, channel: str, now: dt.datetime | None = None) -> float:
    """Seconds the channel's next request must wait (0 unless it is slowed down).  The
    state is the database's, re-read at most every :data:`SEEN_SECONDS` per process."""
    now = now or utcnow()
    until = _slowed_until(store, channel)
    return DELAY_SECONDS if until is not None and until > now else 0.0


def _count(conn: Connection, channel: str, now: dt.datetime) -> int:
    # the row exists first (two workers' first failures at once both land on it), then
    # it is updated under its lock
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(channel_auth).values(
        channel=channel, window_start=now, failures=0).on_conflict_do_nothing(
        index_elements=["channel"]))
    q = select(channel_auth).where(channel_auth.c.channel == channel)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    row = conn.execute(q).one()
    start = aware(row.window_start)
    failures = 1 if start is None or now - start > WINDOW else row.failures + 1
    values: dict[str, object] = {"failures": failures}
    if failures == 1:
        values["window_start"] = now
    if failures >= MAX_FAILURES:
        values["slowed_until"] = now + dt.timedelta(seconds=SLOW_SECONDS)
    conn.execute(channel_auth.update().where(channel_auth.c.channel == channel)
                 .values(**values))
    return failures


def record_failure(store: Store, channel: str, now: dt.datetime | None = None) -> int:
    """Count a wrong password; return the count in the current window."""
    with store.begin() as conn:
        failures = _count(conn, channel, now or utcnow())
    _SEEN.pop((id(store), channel), None)
    return failures


_RECORDER = concurrent.futures.ThreadPoolExecutor(max_workers=1,
                                                  thread_name_prefix="qrpay-biller-auth")
_PENDING: list[concurrent.futures.Future[int]] = []


def note_failure(store: Store, channel: str, now: dt.datetime | None = None) -> None:
    """:func:`record_failure` in the background (the caller may be the event loop, which
    must not wait for the database's write lock)."""
    _PENDING.append(_RECORDER.submit(record_failure, store, channel, now or utcnow()))
    del _PENDING[:-16]


def settle() -> None:
    """Wait until the failures noted so far are counted."""
    for future in list(_PENDING):
        future.result()
