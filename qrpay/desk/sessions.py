"""Server-side desk sessions: the cookie only carries a signed random token.

The row (keyed by the token's SHA-256, so a database leak gives no usable cookie) holds
the staff member, the shift joined at login, the CSRF token, and the times that decide
expiry: an idle timeout and an absolute lifetime.  Logout ends the row; an ended or
expired session is refused whatever the cookie says.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, select

from qrpay.clock import aware as _aware
from qrpay.desk.staff import Staff, get_staff
from qrpay.store.schema import staff_sessions

IDLE_TIMEOUT = dt.timedelta(minutes=30)
LIFETIME = dt.timedelta(hours=12)
_TOUCH_EVERY = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class DeskSession:
    id: str
    staff: Staff
    shift_id: int | None
    csrf: str
    remote: str | None
    created_at: dt.datetime
    touch_due: bool = False  # last seen over a minute ago: the store should be told


def session_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_session(conn: Connection, who: Staff, *, shift_id: int | None, remote: str | None,
                   now: dt.datetime) -> tuple[str, DeskSession]:
    """Start a session; return the cookie token (shown once) and the session."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    sid = session_id(token)
    conn.execute(staff_sessions.insert().values(
        id=sid, staff_id=who.id, shift_id=shift_id, csrf=csrf, remote=(remote or "")[:64],
        created_at=now, last_seen=now, expires_at=now + LIFETIME))
    return token, DeskSession(id=sid, staff=who, shift_id=shift_id, csrf=csrf, remote=remote,
                              created_at=now)


def load_session(conn: Connection, token: str, now: dt.datetime) -> DeskSession | None:
    """The live session for ``token``, or None when unknown, ended, expired or idle.

    Also None when the staff account has been disabled since login.  Only reads: pass a
    read connection, and call :func:`touch_session` in a write transaction when
    :attr:`DeskSession.touch_due` says the last-seen time should move.
    """
    row = conn.execute(select(staff_sessions).where(
        staff_sessions.c.id == session_id(token))).first()
    if row is None:
        return None
    m = row._mapping
    last_seen = _aware(m["last_seen"])
    if (m["ended_at"] is not None or _aware(m["expires_at"]) <= now
            or now - last_seen > IDLE_TIMEOUT):
        return None
    who = get_staff(conn, m["staff_id"])
    if not who.active:
        return None
    return DeskSession(id=m["id"], staff=who, shift_id=m["shift_id"], csrf=m["csrf"],
                       remote=m["remote"], created_at=_aware(m["created_at"]),
                       touch_due=now - last_seen > _TOUCH_EVERY)


def touch_session(conn: Connection, sid: str, now: dt.datetime) -> None:
    """Move the session's last-seen time to ``now`` (at most once a minute)."""
    conn.execute(staff_sessions.update().where(
        staff_sessions.c.id == sid, staff_sessions.c.ended_at.is_(None),
        staff_sessions.c.last_seen < now - _TOUCH_EVERY).values(last_seen=now))


def end_session(conn: Connection, sid: str, now: dt.datetime) -> None:
    conn.execute(staff_sessions.update().where(
        staff_sessions.c.id == sid, staff_sessions.c.ended_at.is_(None)).values(ended_at=now))

