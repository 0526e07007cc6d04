"""``/desk/complaints``: supervisors and admins list complaints by status and category,
open one, assign it, add a note, resolve it.  Each change is one transaction: the change
and its event (:func:`qrpay.chat.tickets.staff_change`), the consumer's notice in the
outbox, and the audit row (``complaint_assign|note|resolve``).  Wording is the chat
files' ``[desk]`` table; the pages use the desk's layout, login, roles and CSRF."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from qrpay.chat import complaints
from qrpay.chat.tickets import audit_detail, staff_change
from qrpay.config import Config
from qrpay.desk import audit
from qrpay.desk.audit import Where
from qrpay.errors import ValidationError
from qrpay.web import auth
from qrpay.web.desk import (
    DeskSession,
    _biller,
    _language,
    _local,
    act,
    in_read,
    redirect,
    render,
    staff_page,
)

MINIMUM_ROLE = "supervisor"


def _wording(request: Request, sess: DeskSession) -> dict[str, Any]:
    flows = request.app.state.chat.service.flows
    lang, _ = _language(request, sess)
    lang = lang if lang in flows.texts else "en"
    table = dict(flows.texts["en"].get("desk", {}))
    table.update(flows.texts[lang].get("desk", {}))
    return {"d": table, "categories": flows.texts[lang].get("category", {}),
            "statuses": flows.texts[lang].get("ticket_status", {})}


@staff_page(MINIMUM_ROLE)
async def complaints_page(request: Request, sess: DeskSession) -> Response:
    status = request.query_params.get("status") or None
    category = request.query_params.get("category") or None
    if status not in (None, *complaints.STATUSES) or \
            category not in (None, *complaints.CATEGORIES):
        raise ValidationError("unknown status or category", code="bad_filter", field="status")
    rows = await in_read(request, lambda conn: complaints.list_complaints(
        conn, biller=sess.staff.biller, status=status, category=category))
    biller = _biller(request, sess)
    return render(request, "complaints.html", sess, rows=rows, chosen_status=status,
                  category=category, when=lambda at: _local(biller, at),
                  all_statuses=complaints.STATUSES, all_categories=complaints.CATEGORIES,
                  **_wording(request, sess))


def _show(conn: Connection, ticket: str, biller: str | None) -> tuple[Any, Any]:
    c = complaints.by_ticket(conn, ticket, biller)
    return c, complaints.events(conn, c.id)


@staff_page(MINIMUM_ROLE)
async def complaint_page(request: Request, sess: DeskSession) -> Response:
    ticket = request.path_params["ticket"]
    c, events = await in_read(request, _show, ticket, sess.staff.biller)
    biller = _biller(request, sess)
    return render(request, "complaint.html", sess, c=c, events=events,
                  when=lambda at: _local(biller, at), **_wording(request, sess))


def _change(conn: Connection, config: Config, request: Request, sess: DeskSession,
            ticket: str, action: str, note: str, assignee: str, now: dt.datetime) -> None:
    service = request.app.state.chat.service
    c, told = staff_change(conn, config=config, flows=service.flows, settings=service.settings,
                           ticket=ticket, biller=sess.staff.biller, action=action,
                           actor=sess.staff.username, now=now, note=note or None,
                           assignee=assignee or None)
    audit.record(conn, sess.staff.username, f"complaint_{action}",
                 Where(biller=c.biller, counter=sess.staff.counter,
                       remote=auth.client_ip(request)),
                 detail=audit_detail(c, action, told, note, assignee), at=now)


@staff_page(MINIMUM_ROLE)
async def complaint_post(request: Request, sess: DeskSession) -> Response:
    form = await auth.read_form(request)
    ticket = request.path_params["ticket"]
    action = str(form.get("action", ""))
    await act(request, _change, request, sess, ticket, action,
              str(form.get("note", ""))[:1000], str(form.get("assignee", ""))[:64])
    request.app.state.chat.wake.set()
    return redirect(f"/desk/complaints/{ticket}")


ROUTES: list[BaseRoute] = [
    Route("/desk/complaints", complaints_page, methods=["GET"]),
    Route("/desk/complaints/{ticket}", complaint_page, methods=["GET"]),
    Route("/desk/complaints/{ticket}", complaint_post, methods=["POST"]),
]
