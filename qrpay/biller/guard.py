"""Who may call the biller API: credentials, IP allow-list, the wrong-password slow-down.

* Passwords come from the environment (:func:`qrpay.config.secret`) and are compared
  with :func:`hmac.compare_digest`; every credential of the channel is compared, so the
  time taken does not tell which user name exists.
* A channel with ``auth = "jwt"`` (BBPS through Setu) sends ``Authorization: Bearer
  <JWT>`` instead: :func:`authenticate_jwt` checks it the way Setu's JWT page defines
  (SetuHQ/docs ``content/payments/bbps/resources/jwt.mdx``): HS256 over
  ``base64url(header) "." base64url(payload)`` with the secret shared with Setu, the
  ``aud`` claim the agreed scheme id, ``iat`` no more than 120 s old.  Signatures and
  ``aud`` are compared in constant time against every credential of the channel.
* ``allow_ips`` (exact addresses or CIDR networks) when the profile lists any.
* Five wrong passwords within a minute slow that channel down (and only that channel)
  for :data:`SLOW_SECONDS`: each of its requests then waits :data:`DELAY_SECONDS` before
  its credentials are even looked at.  The count lives in ``channel_auth``, so every
  worker process sees the same one.
"""

from __future__ import annotations

import base64
import binascii
import concurrent.futures
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import time
from typing import Any

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


JWT_MAX_AGE = 120  # seconds: Setu: "requests older than 120 seconds ... must be rejected"
JWT_LEEWAY = 10  # seconds of clock skew allowed for an ``iat`` ahead of ours


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _jwt_parts(authorization: str | None) -> tuple[str, dict[str, Any], bytes]:
    """(signed input, payload, signature) of a bearer JWT; AuthError
    ``invalid_auth_header`` when there is none or it is not a JWT."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    parts = token.strip().split(".")
    if scheme.lower() != "bearer" or len(parts) != 3:
        raise AuthError("an Authorization: Bearer <JWT> header is required",
                        code="invalid_auth_header")
    try:
        header = json.loads(_b64url(parts[0]))
        payload = json.loads(_b64url(parts[1]))
        signature = _b64url(parts[2])
    except (binascii.Error, ValueError):
        raise AuthError("the bearer token is not a JWT", code="invalid_auth_header") from None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise AuthError("the bearer token is not a JWT", code="invalid_auth_header")
    if header.get("alg") != "HS256":
        raise AuthError("the JWT must be signed with HS256", code="jwt_verification_failed")
    return f"{parts[0]}.{parts[1]}", payload, signature


def _audiences(payload: dict[str, Any]) -> list[str]:
    aud = payload.get("aud")
    return [a for a in (aud if isinstance(aud, list) else [aud]) if isinstance(a, str)]


def _check_times(payload: dict[str, Any], now: dt.datetime) -> None:
    iat, exp = payload.get("iat"), payload.get("exp")
    clock = now.timestamp()
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise AuthError("the JWT has no iat", code="jwt_verification_failed")
    if iat > clock + JWT_LEEWAY:
        raise AuthError("the JWT was issued in the future", code="jwt_verification_failed")
    if clock - iat > JWT_MAX_AGE or (isinstance(exp, int | float) and not isinstance(exp, bool)
                                     and clock >= exp + JWT_LEEWAY):
        raise AuthError("the JWT is older than 120 seconds", code="jwt_token_expired")


def _b64url_text(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_for(key: str, aud: str, now: dt.datetime, jti: str) -> str:
    """A bearer JWT as Setu makes one (``{"alg": "HS256", "typ": "JWT"}``, claims
    ``aud``, ``iat``, ``jti``): what the channel simulator and the tests send."""
    head = _b64url_text(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64url_text(json.dumps({"aud": aud, "iat": int(now.timestamp()),
                                    "jti": jti}).encode())
    mac = hmac.new(key.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64url_text(mac)}"


def authenticate_jwt(api: ChannelApi, authorization: str | None,
                     now: dt.datetime | None = None) -> Credential:
    """The credential whose secret signed the bearer JWT and whose user name is its
    ``aud``; AuthError ``invalid_auth_header`` (no JWT), ``jwt_verification_failed``
    (signature, ``aud``, algorithm) or ``jwt_token_expired``."""
    signed, payload, signature = _jwt_parts(authorization)
    audiences = _audiences(payload)
    match = None
    for cred in api.credentials:  # every one, whatever matched: the time tells nothing
        key = secret(cred.password_env, required=False) or ""
        mac = hmac.new(key.encode(), signed.encode(), hashlib.sha256).digest()
        aud_ok = False
        for aud in audiences:
            aud_ok |= _eq(aud, cred.username)
        ok = hmac.compare_digest(mac, signature) & aud_ok & bool(key)
        if ok and match is None:
            match = cred
    if match is None:
        raise AuthError("the JWT's signature or aud does not verify",
                        code="jwt_verification_failed")
    _check_times(payload, now or utcnow())
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
