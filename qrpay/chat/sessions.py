"""Conversations in the store (``chat_sessions``), so any worker can take the next message.

A session is read with :func:`load` *inside the write transaction that handles the
message* (``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises
writers), changed by the engine, and written back with :func:`save` before commit: two
messages of one sender handled by two workers at once queue on the row instead of
overwriting each other.  A :class:`Session` is therefore mutable state, not a value.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, select, update

from qrpay.chat.fixedsql import Fixed, read_time
from qrpay.clock import aware as _aware
from qrpay.store.schema import chat_sessions, chat_watches, complaints


def session_id(channel: str, biller: str, sender: str) -> str:
    return f"{channel}:{biller}:{sender}"


@dataclass
class Session:
    id: str
    channel: str
    biller: str
    sender: str
    has_phone: bool
    language: str
    node: str
    data: dict[str, Any] = field(default_factory=dict)
    bad: int = 0
    seq: int = 0
    gateway_session: str | None = None
    hops: int = 0
    state: str = "active"
    last_inbound_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None

    @property
    def stack(self) -> list[str]:
        stack: list[str] = self.data.setdefault("stack", [])
        return stack

    def is_expired(self, now: dt.datetime) -> bool:
        return self.expires_at is not None and _aware(self.expires_at) <= now

    def resumable(self, now: dt.datetime, minutes: int, resting: tuple[str, ...]) -> bool:
        """Lost mid-flow (not ended, not resting on one of ``resting``) at most
        ``minutes`` ago: worth offering back."""
        return (self.state == "active" and self.updated_at is not None
                and self.node not in resting
                and now - self.updated_at <= dt.timedelta(minutes=minutes))


def _from_row(row: tuple[Any, ...]) -> Session:
    m = dict(zip(_COLUMNS, row, strict=True))
    return Session(
        id=m["id"], channel=m["channel"], biller=m["biller"], sender=m["sender"],
        has_phone=bool(m["has_phone"]), language=m["language"], node=m["node"],
        data=json.loads(m["data"]), bad=m["bad"], seq=m["seq"],
        gateway_session=m["gateway_session"], hops=m["hops"], state=m["state"],
        last_inbound_at=read_time(m["last_inbound_at"]),
        updated_at=read_time(m["updated_at"]), expires_at=read_time(m["expires_at"]))


def load(conn: Connection, sid: str, *, lock: bool = True) -> Session | None:
    """The session row (``FOR UPDATE`` on PostgreSQL when ``lock``), or None."""
    q = _LOAD_FOR_UPDATE if lock and conn.dialect.name == "postgresql" else _LOAD
    row = q.first(conn, {"id": sid})
    return _from_row(row) if row else None


_COLUMNS = ("id", "channel", "biller", "sender", "has_phone", "language", "node", "data", "bad",
            "seq", "gateway_session", "hops", "state", "last_inbound_at", "updated_at",
            "expires_at")
_TIMES = ("last_inbound_at", "updated_at", "expires_at")
# Fixed statements on the driver's cursor (:mod:`qrpay.chat.fixedsql`), the same on SQLite
# and PostgreSQL: building them with SQLAlchemy Core per message cost more than the rest
# of a turn, and even a compiled text() statement a tenth of a millisecond each.
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM chat_sessions WHERE id = :id"
_LOAD = Fixed(_SELECT)
_LOAD_FOR_UPDATE = Fixed(_SELECT + " FOR UPDATE")
_UPSERT = Fixed(
    f"INSERT INTO chat_sessions ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in _COLUMNS)}) ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "id"),
    times=_TIMES, bools=("has_phone",))


def save(conn: Connection, s: Session, now: dt.datetime, expiry_minutes: int) -> None:
    s.updated_at = now
    s.expires_at = now + dt.timedelta(minutes=expiry_minutes)
    _UPSERT.run(conn, {
        "id": s.id, "channel": s.channel, "biller": s.biller, "sender": s.sender,
        "has_phone": s.has_phone, "language": s.language, "node": s.node,
        "data": json.dumps(s.data, ensure_ascii=False, separators=(",", ":")),
        "bad": s.bad, "seq": s.seq, "gateway_session": s.gateway_session, "hops": s.hops,
        "state": s.state, "last_inbound_at": s.last_inbound_at, "updated_at": now,
        "expires_at": s.expires_at,
    })


def move(conn: Connection, old_id: str, new_id: str, new_sender: str, has_phone: bool) -> bool:
    """The consumer's number changed: their conversation, its complaints (so staff
    changes reach them) and the bills it watches (so a payment is confirmed) now belong
    to ``new_id``.  A conversation already under the new number is kept and the old one
    dropped.  Returns whether there was a conversation to move."""
    if conn.execute(select(chat_sessions.c.id).where(chat_sessions.c.id == old_id)).first() \
            is None:
        return False
    if conn.execute(select(chat_sessions.c.id).where(chat_sessions.c.id == new_id)).first() \
            is None:
        conn.execute(update(chat_sessions).where(chat_sessions.c.id == old_id).values(
            id=new_id, sender=new_sender, has_phone=has_phone))
    else:
        conn.execute(delete(chat_sessions).where(chat_sessions.c.id == old_id))
    contact = new_sender if has_phone else None
    conn.execute(update(complaints).where(complaints.c.session_id == old_id).values(
        session_id=new_id, contact=contact))
    taken = select(chat_watches.c.bill_no).where(chat_watches.c.session_id == new_id)
    conn.execute(delete(chat_watches).where(chat_watches.c.session_id == old_id,
                                            chat_watches.c.bill_no.in_(taken)))
    conn.execute(update(chat_watches).where(chat_watches.c.session_id == old_id)
                 .values(session_id=new_id))
    return True
