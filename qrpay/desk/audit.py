"""The append-only audit trail of staff actions.

Every row says who did what, when and where (biller, counter, remote address), with a
JSON ``detail``.  This module only ever inserts and reads: there is no update or delete.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from qrpay.clock import aware as _aware
from qrpay.clock import utcnow
from qrpay.errors import ValidationError
from qrpay.store.schema import audit

ACTIONS = frozenset({
    "login", "login_failed", "logout", "scan", "collect", "collect_held", "cancel",
    "shift_open", "shift_close", "shift_close_held",
    "staff_add", "staff_passwd", "staff_disable", "refused",
    "complaint_assign", "complaint_note", "complaint_resolve",  # qrpay.chat.tickets
    "recon_post", "recon_refund", "recon_write_off", "recon_link",  # qrpay.recon.queue
})


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: dt.datetime
    actor: str
    action: str
    biller: str | None
    counter: str | None
    remote: str | None
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "actor": self.actor,
                "action": self.action, "biller": self.biller, "counter": self.counter,
                "remote": self.remote, "detail": self.detail}


@dataclass(frozen=True)
class Where:
    """Where an action happened: the desk's biller and counter, and the remote address."""

    biller: str | None = None
    counter: str | None = None
    remote: str | None = None


def record(conn: Connection, actor: str, action: str, where: Where = Where(), *,
           detail: dict[str, Any] | None = None, at: dt.datetime | None = None) -> None:
    """Append one audit row in the caller's transaction."""
    if action not in ACTIONS:
        raise ValidationError(f"unknown audit action {action!r}", code="bad_audit_action",
                              field="action")
    conn.execute(audit.insert().values(
        at=at or utcnow(), actor=actor[:64], action=action, biller=where.biller,
        counter=where.counter, remote=(where.remote or "")[:64] or None,
        detail=json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str)))


def _entry(row: Any) -> AuditEntry:
    m = row._mapping
    return AuditEntry(id=m["id"], at=_aware(m["at"]), actor=m["actor"], action=m["action"],
                      biller=m["biller"], counter=m["counter"], remote=m["remote"],
                      detail=json.loads(m["detail"]) if m["detail"] else {})


def entries(conn: Connection, *, since: dt.datetime, until: dt.datetime | None = None,
            actor: str | None = None, action: str | None = None,
            biller: str | None = None, limit: int | None = None) -> Iterator[AuditEntry]:
    """Audit rows from ``since`` (inclusive), oldest first."""
    q = select(audit).where(audit.c.at >= since).order_by(audit.c.at, audit.c.id)
    if until is not None:
        q = q.where(audit.c.at < until)
    if actor:
        q = q.where(audit.c.actor == actor)
    if action:
        q = q.where(audit.c.action == action)
    if biller:
        q = q.where(audit.c.biller == biller)
    if limit:
        q = q.limit(limit)
    for row in conn.execute(q):
        yield _entry(row)


def recent(conn: Connection, *, biller: str | None, limit: int = 100) -> list[AuditEntry]:
    """The newest ``limit`` rows (newest first), for the supervisor's page."""
    q = select(audit).order_by(audit.c.id.desc()).limit(limit)
    if biller:
        q = q.where(audit.c.biller == biller)
    return [_entry(row) for row in conn.execute(q)]


@dataclass(frozen=True)
class AuditLine:
    """One audit row as a person reads it: the amount it moved, the bill and receipt it
    touched, and the few details that matter (code, reason, mode...)."""

    entry: AuditEntry
    amount: int | None
    bill_no: str | None
    receipt_no: str | None
    notes: tuple[tuple[str, str | int, bool], ...]  # (key, value, value is money)


_AMOUNT_KEYS = ("amount", "declared_cash")
_NOTE_KEYS = ("code", "mode", "reason", "note", "refused", "verdict", "found_by", "approved_by",
              "difference", "excess", "role", "shift", "path", "username")
_MONEY_KEYS = frozenset({"difference", "excess"})


def readable(entry: AuditEntry) -> AuditLine:
    d = entry.detail
    amount = next((d[k] for k in _AMOUNT_KEYS if isinstance(d.get(k), int)), None)
    notes = tuple((k, d[k] if k in _MONEY_KEYS else str(d[k]), k in _MONEY_KEYS)
                  for k in _NOTE_KEYS if d.get(k) not in (None, "", False))
    return AuditLine(entry, amount, d.get("bill_no"), d.get("receipt_no"), notes)
