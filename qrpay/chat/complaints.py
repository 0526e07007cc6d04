"""Complaints and callback requests: open (from a conversation), assign, note, resolve.

Ticket numbers are per biller, from ``complaint_counters`` (one row per biller, only ever
incremented inside the transaction that opens the complaint), printed as six digits so a
feature-phone user can type them; a rolled-back transaction leaves a gap, never a reuse.
Every change writes a ``complaint_events`` row, an ``audit`` row (staff changes) and
tells the consumer through the chat outbox (:func:`qrpay.chat.notices.complaint_update`)
in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from qrpay.errors import NotFound, ValidationError
from qrpay.store.schema import complaint_counters, complaint_events, complaints

CATEGORIES = ("no_supply", "voltage", "meter", "billing", "line", "other", "callback")
KINDS = ("complaint", "callback")
STATUSES = ("open", "assigned", "resolved")


@dataclass(frozen=True)
class Complaint:
    id: int
    biller: str
    ticket_no: str
    kind: str
    category: str
    text: str | None
    account_no: str | None
    session_id: str | None
    channel: str | None
    contact: str | None
    language: str
    status: str
    assignee: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    resolved_at: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for key in ("created_at", "updated_at", "resolved_at"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


@dataclass(frozen=True)
class Event:
    at: dt.datetime
    actor: str
    action: str
    status: str
    note: str | None


def _complaint(row: Any) -> Complaint:
    m = dict(row._mapping)
    return Complaint(**{k: m[k] for k in Complaint.__dataclass_fields__})


def next_ticket(conn: Connection, biller: str) -> str:
    """The biller's next ticket number (six digits or more)."""
    got = conn.execute(update(complaint_counters).where(complaint_counters.c.biller == biller)
                       .values(last_no=complaint_counters.c.last_no + 1)
                       .returning(complaint_counters.c.last_no)).scalar()
    if got is None:
        conn.execute(complaint_counters.insert().values(biller=biller, last_no=1))
        got = 1
    return f"{int(got):06d}"


def open_complaint(conn: Connection, *, biller: str, kind: str, category: str,
                   language: str, now: dt.datetime, text: str | None = None,
                   account_no: str | None = None, session_id: str | None = None,
                   channel: str | None = None, contact: str | None = None,
                   actor: str = "consumer") -> Complaint:
    if kind not in KINDS or category not in CATEGORIES:
        raise ValidationError(f"unknown complaint {kind}/{category}", code="bad_category",
                              field="category")
    ticket = next_ticket(conn, biller)
    cid = conn.execute(complaints.insert().values(
        biller=biller, ticket_no=ticket, kind=kind, category=category,
        text=(text or None) and text[:1000], account_no=account_no, session_id=session_id,
        channel=channel, contact=contact, language=language, status="open", created_at=now,
        updated_at=now).returning(complaints.c.id)).scalar_one()
    _event(conn, cid, now, actor, "open", "open", None)
    return get(conn, cid)


def _event(conn: Connection, cid: int, now: dt.datetime, actor: str, action: str,
           status: str, note: str | None) -> None:
    conn.execute(complaint_events.insert().values(complaint_id=cid, at=now, actor=actor,
                                                  action=action, status=status, note=note))


def get(conn: Connection, cid: int) -> Complaint:
    row = conn.execute(select(complaints).where(complaints.c.id == cid)).first()
    if row is None:
        raise NotFound(f"no complaint {cid}", code="unknown_complaint", field="id")
    return _complaint(row)


def find(conn: Connection, biller: str, ticket_no: str) -> Complaint | None:
    row = conn.execute(select(complaints).where(complaints.c.biller == biller,
                                                complaints.c.ticket_no == ticket_no)).first()
    return _complaint(row) if row else None


def by_ticket(conn: Connection, ticket_no: str, biller: str | None = None) -> Complaint:
    q = select(complaints).where(complaints.c.ticket_no == ticket_no)
    if biller:
        q = q.where(complaints.c.biller == biller)
    rows = conn.execute(q).fetchall()
    if not rows:
        raise NotFound(f"no ticket {ticket_no}", code="unknown_ticket", field="ticket")
    if len(rows) > 1:
        raise ValidationError(f"ticket {ticket_no} exists for several billers: pass --biller",
                              code="ambiguous_ticket", field="biller")
    return _complaint(rows[0])


def events(conn: Connection, cid: int) -> list[Event]:
    rows = conn.execute(select(complaint_events).where(complaint_events.c.complaint_id == cid)
                        .order_by(complaint_events.c.id)).fetchall()
    return [Event(r.at, r.actor, r.action, r.status, r.note) for r in rows]


def list_complaints(conn: Connection, *, biller: str | None = None, status: str | None = None,
                    category: str | None = None, limit: int = 200) -> list[Complaint]:
    q = select(complaints).order_by(complaints.c.id.desc()).limit(limit)
    if biller:
        q = q.where(complaints.c.biller == biller)
    if status:
        q = q.where(complaints.c.status == status)
    if category:
        q = q.where(complaints.c.category == category)
    return [_complaint(r) for r in conn.execute(q).fetchall()]


def change(conn: Connection, c: Complaint, *, action: str, actor: str, now: dt.datetime,
           note: str | None = None, assignee: str | None = None) -> Complaint:
    """Assign, note or resolve; returns the complaint as it is now.  A resolved
    complaint takes notes only."""
    if action not in ("assign", "note", "resolve"):
        raise ValidationError(f"unknown complaint action {action!r}", code="bad_action",
                              field="action")
    if c.status == "resolved" and action != "note":
        raise ValidationError(f"ticket {c.ticket_no} is already resolved",
                              code="already_resolved", field="action")
    values: dict[str, Any] = {"updated_at": now}
    status = c.status
    if action == "assign":
        if not assignee:
            raise ValidationError("assign needs someone to assign to", code="missing_assignee",
                                  field="assignee")
        status, values["assignee"] = "assigned", assignee
    elif action == "note" and not note:
        raise ValidationError("a note needs its text", code="missing_note", field="note")
    elif action == "resolve":
        status, values["resolved_at"] = "resolved", now
    values["status"] = status
    conn.execute(update(complaints).where(complaints.c.id == c.id).values(**values))
    _event(conn, c.id, now, actor, action, status, note or (assignee if action == "assign"
                                                            else None))
    return get(conn, c.id)
