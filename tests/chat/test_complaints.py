"""Complaint lifecycle: opened in a conversation, assigned and resolved at
/desk/complaints (supervisor), the consumer told each time, every change audited;
ticket numbers per biller, never reused."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from qrpay.chat import complaints
from qrpay.desk.staff import add_staff
from qrpay.store.schema import audit, outbox
from tests.chat.conftest import Harness
from tests.desk.conftest import PASSWORD, Desk

SENDER = "919177777868"


def _open(h: Harness) -> str:
    for text in ("hi", "3", "2", "Voltage drops every evening"):
        sent = h.wa(SENDER, text)
    body = sent[0]["text"]["body"]
    assert "000001" in body
    return "000001"


def _desk(h: Harness, role: str = "supervisor") -> Desk:
    with h.store.begin() as conn:
        add_staff(conn, f"user-{role}", PASSWORD, role=role, biller="best", counter="C1")
    desk = Desk(h.client)
    assert desk.login(f"user-{role}") == 303
    return desk


def test_lifecycle_open_assign_resolve_notifies_and_audits(best_chat: Harness) -> None:
    ticket = _open(best_chat)
    desk = _desk(best_chat)
    page = best_chat.client.get("/desk/complaints?status=open")
    assert page.status_code == 200 and ticket in page.text and "वोल्टेज" in page.text
    r = desk.post(f"/desk/complaints/{ticket}", {"action": "assign", "assignee": "lineman-7"})
    assert r.status_code == 303
    told = best_chat.deliver()
    assert len(told) == 1 and "पर काम चल रहा" in told[0]["text"]["body"]
    desk.post(f"/desk/complaints/{ticket}", {"action": "note", "note": "pole 12 checked"})
    told = best_chat.deliver()  # a note is told too, as its text, in the consumer's language
    assert len(told) == 1 and told[0]["to"] == SENDER
    assert "टिप्पणी: pole 12 checked" in told[0]["text"]["body"]
    desk.post(f"/desk/complaints/{ticket}", {"action": "resolve", "note": "fixed"})
    told = best_chat.deliver()
    assert len(told) == 1 and "हल हो गई" in told[0]["text"]["body"]
    shown = best_chat.client.get(f"/desk/complaints/{ticket}").text
    assert "lineman-7" in shown and "pole 12 checked" in shown
    with best_chat.store.connect() as conn:
        actions = [r.action for r in conn.execute(
            select(audit.c.action).where(audit.c.action.like("complaint_%"))
            .order_by(audit.c.id))]
        c = complaints.find(conn, "best", ticket)
    assert actions == ["complaint_assign", "complaint_note", "complaint_resolve"]
    assert c is not None and c.status == "resolved" and c.resolved_at is not None
    # the consumer asks on WhatsApp
    best_chat.wa(SENDER, "hi")
    best_chat.wa(SENDER, "4")
    status = best_chat.wa(SENDER, ticket)
    assert "हल हो गई" in status[0]["text"]["body"]


def test_cashiers_cannot_see_complaints(best_chat: Harness) -> None:
    _desk(best_chat, "cashier")
    assert best_chat.client.get("/desk/complaints").status_code == 403


def test_ticket_numbers_per_biller_never_reused(best_chat: Harness) -> None:
    now = dt.datetime.now(dt.UTC)
    with best_chat.store.begin() as conn:
        a = complaints.open_complaint(conn, biller="best", kind="complaint", category="meter",
                                      language="hi", now=now)
        b = complaints.open_complaint(conn, biller="other", kind="complaint", category="meter",
                                      language="hi", now=now)
    try:
        with best_chat.store.begin() as conn:
            complaints.open_complaint(conn, biller="best", kind="complaint", category="meter",
                                      language="hi", now=now)
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    with best_chat.store.begin() as conn:
        c = complaints.open_complaint(conn, biller="best", kind="callback", category="callback",
                                      language="hi", now=now)
    assert (a.ticket_no, b.ticket_no) == ("000001", "000001")
    assert c.ticket_no == "000002"  # the rolled-back one never committed its number


def test_a_note_after_ussd_goes_by_sms_in_bengali(breb_chat: Harness) -> None:
    sender, session = "+8801717784483", "ATUid_c1"
    for text in ("", "3", "3*3", "3*3*মিটার ঘুরছে না"):
        breb_chat.ussd(sender, session, text, code="*384*2#")
    with breb_chat.store.connect() as conn:
        c = complaints.list_complaints(conn)[0]
    assert (c.channel, c.language, c.category) == ("ussd", "bn", "meter")
    svc = breb_chat.client.app.state.chat.service
    from qrpay.chat.tickets import staff_change

    now = dt.datetime.now(dt.UTC)
    with breb_chat.store.begin() as conn:
        _, told = staff_change(conn, config=svc.config, flows=svc.flows, settings=svc.settings,
                               ticket=c.ticket_no, biller=c.biller, action="note",
                               actor="sup", now=now,
                               note="Meter tester visits Tuesday 10am, please be home then")
    assert told == "sms"
    with breb_chat.store.connect() as conn:
        rows = conn.execute(select(outbox.c.recipient, outbox.c.body, outbox.c.language)
                            .where(outbox.c.kind == "sms")).fetchall()
    assert len(rows) == 1 and rows[0].recipient == "8801717784483" and rows[0].language == "bn"
    assert "মন্তব্য: Meter tester visits Tuesday" in rows[0].body
    assert "please be home" not in rows[0].body  # one DLT-sized variable in an SMS


def test_an_empty_note_is_refused(best_chat: Harness) -> None:
    ticket = _open(best_chat)
    svc = best_chat.client.app.state.chat.service
    from qrpay.chat.tickets import staff_change
    from qrpay.errors import ValidationError

    with best_chat.store.begin() as conn, pytest.raises(ValidationError) as err:
        staff_change(conn, config=svc.config, flows=svc.flows, settings=svc.settings,
                     ticket=ticket, biller="best", action="note", actor="sup",
                     now=dt.datetime.now(dt.UTC), note="  ")
    assert err.value.code == "missing_note"
