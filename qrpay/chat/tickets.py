"""Staff changes to a complaint: assign, note, resolve, and the consumer told each time.

:func:`staff_change` is one step of the caller's write transaction; the caller (the desk
page, ``qrpay complaints``) writes the audit row with :func:`qrpay.desk.audit.record`
(action ``complaint_<action>``, :func:`audit_detail`) in the same transaction, so the
change, its event, the notice and the audit row commit together.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection

from qrpay.chat import complaints
from qrpay.chat.complaints import Complaint
from qrpay.chat.confirm import tell_complaint
from qrpay.chat.flows import Flows
from qrpay.chat.settings import ChatSettings
from qrpay.config import Config

ACTIONS = ("assign", "note", "resolve")


def staff_change(conn: Connection, *, config: Config, flows: Flows, settings: ChatSettings,
                 ticket: str, biller: str | None, action: str, actor: str, now: dt.datetime,
                 note: str | None = None, assignee: str | None = None
                 ) -> tuple[Complaint, str | None]:
    """Apply ``action``; returns the complaint now and how the consumer was told
    (``whatsapp``, ``template``, ``sms``) or None (no way to reach them).  Every action
    is told: assign and resolve as the new status, a note as its text."""
    note = (note or "").strip()[:1000] or None
    before = complaints.by_ticket(conn, ticket, biller)
    after = complaints.change(conn, before, action=action, actor=actor, now=now, note=note,
                              assignee=assignee)
    event = f"{action}:{len(complaints.events(conn, after.id))}"
    told = tell_complaint(conn, config=config, flows=flows, settings=settings,
                          complaint=after, event=event, now=now,
                          note=note if action == "note" else None)
    return after, told


def audit_detail(c: Complaint, action: str, told: str | None, note: str | None,
                 assignee: str | None) -> dict[str, Any]:
    detail: dict[str, Any] = {"ticket": c.ticket_no, "category": c.category,
                              "status": c.status, "told": told or "-"}
    if note:
        detail["note"] = note[:200]
    if assignee:
        detail["assignee"] = assignee
    return detail
