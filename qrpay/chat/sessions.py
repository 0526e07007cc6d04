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

from sqlalchemy import Boolean, Connection, bindparam, select, text

from qrpay.clock import aware as _aware
from qrpay.store.schema import chat_sessions
from qrpay.store.types import UtcDateTime


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


def _from_row(row: Any) -> Session:
    m = row._mapping
    return Session(
        id=m["id"], channel=m["channel"], biller=m["biller"], sender=m["sender"],
        has_phone=bool(m["has_phone"]), language=m["language"], node=m["node"],
        data=json.loads(m["data"]), bad=m["bad"], seq=m["seq"],
        gateway_session=m["gateway_session"], hops=m["hops"], state=m["state"],
        last_inbound_at=_aware(m["last_inbound_at"]),
        updated_at=_aware(m["updated_at"]), expires_at=_aware(m["expires_at"]))


def load(conn: Connection, sid: str, *, lock: bool = True) -> Session | None:
    q = select(chat_sessions).where(chat_sessions.c.id == sid)
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    row = conn.execute(q).first()
    return _from_row(row) if row else None


_COLUMNS = ("id", "channel", "biller", "sender", "has_phone", "language", "node", "data", "bad",
            "seq", "gateway_session", "hops", "state", "last_inbound_at", "updated_at",
            "expires_at")
_TIMES = ("last_inbound_at", "updated_at", "expires_at")
# One fixed statement (compiled once), the same on SQLite and PostgreSQL: building an
# upsert with SQLAlchemy Core per message cost more than the rest of a turn.
_UPSERT = text(
    f"INSERT INTO chat_sessions ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in _COLUMNS)}) ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "id")
).bindparams(*(bindparam(c, type_=UtcDateTime()) for c in _TIMES),
             bindparam("has_phone", type_=Boolean()))


def save(conn: Connection, s: Session, now: dt.datetime, expiry_minutes: int) -> None:
    s.updated_at = now
    s.expires_at = now + dt.timedelta(minutes=expiry_minutes)
    conn.execute(_UPSERT, {
        "id": s.id, "channel": s.channel, "biller": s.biller, "sender": s.sender,
        "has_phone": s.has_phone, "language": s.language, "node": s.node,
        "data": json.dumps(s.data, ensure_ascii=False, separators=(",", ":")),
        "bad": s.bad, "seq": s.seq, "gateway_session": s.gateway_session, "hops": s.hops,
        "state": s.state, "last_inbound_at": s.last_inbound_at, "updated_at": now,
        "expires_at": s.expires_at,
    })
