"""Counter-desk pages under ``/desk``: login, scan, collect, receipt, cancel, shift close.

This module holds forms, cookies, templates and routes only; what each action does (one
transaction and its audit rows) is in :mod:`qrpay.desk.actions`.  Every page but the
login form needs a live desk session (:mod:`qrpay.web.auth`) and a minimum role, set by
:func:`staff_page` on the endpoint (:data:`PROTECTED` is derived from the routes); every
POST checks the CSRF token.  Errors on these pages become a short HTML page in the
desk's language with the error code; an anonymous GET is sent to the login page.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from qrpay.clock import utcnow
from qrpay.config import Biller, Config
from qrpay.desk import actions, audit, counter, shift
from qrpay.desk.actions import Actor
from qrpay.desk.audit import Where
from qrpay.desk.sessions import DeskSession
from qrpay.desk.staff import LoginCheck, verify_login
from qrpay.errors import QrpayError, ValidationError, http_status
from qrpay.money import parse_amount, to_decimal_str
from qrpay.store import Store
from qrpay.templating import env, templates_dir, texts
from qrpay.web import auth

LANGUAGES = (("en", "English"), ("hi", "हिन्दी"), ("bn", "বাংলা"))
LANG_CODES = {code for code, _ in LANGUAGES}
LANG_COOKIE = "qrpay_desk_lang"
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}
Endpoint = Callable[[Request, DeskSession], Awaitable[Response]]
Action = Callable[..., Any]


# ------------------------------------------------------------------------------ plumbing

def _config(request: Request) -> Config:
    return request.app.state.config  # type: ignore[no-any-return]


def _store(request: Request) -> Store:
    return request.app.state.store  # type: ignore[no-any-return]


def _actor(request: Request, sess: DeskSession) -> Actor:
    return Actor(sess.staff, sess.shift_id, auth.client_ip(request), sess.id)


def _language(request: Request, sess: DeskSession | None) -> tuple[str, bool]:
    """The page language and whether it was chosen now (``?lang=``, to remember)."""
    asked = request.query_params.get("lang", "")
    if asked in LANG_CODES:
        return asked, True
    kept = request.cookies.get(LANG_COOKIE, "")
    if kept in LANG_CODES:
        return kept, False
    config = _config(request)
    biller = config.billers.get(sess.staff.biller) if sess else config.default_biller
    for code in biller.languages if biller else ():
        if code in LANG_CODES:
            return code, False
    return "en", False


def _numerals(biller: Biller | None, lang: str) -> str:
    return biller.numerals if biller is not None and lang != "en" else "latn"


def render(request: Request, template: str, sess: DeskSession | None,
           status: int = 200, **context: Any) -> HTMLResponse:
    lang, chosen = _language(request, sess)
    biller = _config(request).billers.get(sess.staff.biller) if sess else None
    html = env().get_template(f"desk/{template}").render(
        t=texts("desk", lang), lang=lang, languages=LANGUAGES, sess=sess, biller=biller,
        currency=biller.currency if biller else None, numerals=_numerals(biller, lang),
        **context)
    response = HTMLResponse(html, status_code=status, headers=HEADERS)
    if chosen:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, path="/desk",
                            samesite="strict", secure=request.url.scheme == "https")
    return response


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def _write(store: Store, config: Config, fn: Action, *args: Any) -> Any:
    with store.begin() as conn:
        return fn(conn, config, *args, utcnow())


async def act(request: Request, fn: Action, *args: Any) -> Any:
    """Run the action ``fn(conn, config, *args, now)`` in one write transaction."""
    return await run_in_threadpool(_write, _store(request), _config(request), fn, *args)


def _read(store: Store, fn: Callable[..., Any], *args: Any) -> Any:
    with store.connect() as conn:
        return fn(conn, *args)


async def in_read(request: Request, fn: Callable[..., Any], *args: Any) -> Any:
    return await run_in_threadpool(_read, _store(request), fn, *args)


async def error_page(request: Request, exc: QrpayError) -> Response:
    sess = await auth.current_session(request)
    if exc.code == "login_required" and request.method == "GET":
        return redirect("/desk/login")
    status = http_status(exc)
    if sess is not None and exc.code in ("forbidden", "csrf_failed"):
        await act(request, actions.refuse, _actor(request, sess), exc.code, request.url.path)
    response = render(request, "error.html", sess, status=status, code=exc.code,
                      message=exc.message)
    if exc.code == "login_required":
        auth.clear_session_cookie(response, request)
    return response


def staff_page(minimum: str) -> Callable[[Endpoint], Callable[[Request], Awaitable[Response]]]:
    """Wrap an endpoint: live session with ``minimum`` role, CSRF on POST, errors as pages."""
    def decorate(fn: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(fn)
        async def endpoint(request: Request) -> Response:
            try:
                sess = await auth.authorise(request, minimum)
                return await fn(request, sess)
            except QrpayError as exc:
                return await error_page(request, exc)
        endpoint.minimum_role = minimum  # type: ignore[attr-defined]
        return endpoint
    return decorate


def _biller(request: Request, sess: DeskSession) -> Biller:
    return _config(request).biller(sess.staff.biller)


def _local(biller: Biller, when: dt.datetime | None) -> str:
    if when is None:
        return ""
    return biller.local(when).strftime("%Y-%m-%d %H:%M")


# ------------------------------------------------------------------------------ login

async def login_page(request: Request) -> Response:
    if await auth.current_session(request) is not None:
        return redirect("/desk")
    return _login_form(request)


def _login_form(request: Request, error: str | None = None, username: str = "",
                status: int = 200) -> Response:
    nonce, cookie_value = auth.new_login_nonce()
    response = render(request, "login.html", None, status=status, nonce=nonce,
                      error=error, username=username)
    auth.set_login_cookie(response, request, cookie_value)
    return response


async def login_post(request: Request) -> Response:
    try:
        form = await auth.read_form(request)
        auth.check_login_nonce(request, form)
    except QrpayError as exc:
        return await error_page(request, exc)
    username = str(form.get("username", ""))[:64]
    password = str(form.get("password", ""))[:1024]
    where = Where(remote=auth.client_ip(request))
    if await in_read(request, actions.login_blocked, where, utcnow()):
        await act(request, actions.login_throttled, where)
        return _login_form(request, "too_many_attempts", username, status=429)
    # The argon2 check (~50 ms) runs on a read connection, outside the write transaction.
    check = await run_in_threadpool(verify_login, _store(request), username, password)
    done = await act(request, actions.login, where, check)
    if done.token is None:
        return _login_form(request, done.code, username, status=401)
    response = redirect("/desk")
    auth.set_session_cookie(response, request, done.token)
    auth.clear_login_cookie(response, request)
    return response


@staff_page("cashier")
async def logout(request: Request, sess: DeskSession) -> Response:
    await act(request, actions.logout, _actor(request, sess))
    response = redirect("/desk/login")
    auth.clear_session_cookie(response, request)
    return response


# ------------------------------------------------------------------------------ scan

@staff_page("cashier")
async def desk_home(request: Request, sess: DeskSession) -> Response:
    closed = await in_read(request, actions.shift_closed, _actor(request, sess))
    return render(request, "scan.html", sess, outcome=None, error=None, shift_closed=closed)


async def _show_scan(request: Request, sess: DeskSession, text: str, source: str) -> Response:
    done = await act(request, actions.scan, _actor(request, sess), actions.ScanIn(text, source))
    if done.receipt_no is not None:  # a receipt's own QR: show the receipt
        return redirect(f"/desk/receipt/{done.receipt_no}")
    outcome = done.outcome
    due = outcome.status.due_now if outcome.status else 0
    return render(request, "scan.html", sess, outcome=outcome, error=None,
                  shift_closed=done.shift_closed, txn_id=counter.new_txn_id(),
                  modes=shift.MODES, amount_default=to_decimal_str(due) if due > 0 else "",
                  hold=None, collect=None)


@staff_page("cashier")
async def scan_post(request: Request, sess: DeskSession) -> Response:
    form = await auth.read_form(request)
    return await _show_scan(request, sess, str(form.get("payload", "")), "scanner")


@staff_page("cashier")
async def scan_image(request: Request, sess: DeskSession) -> Response:
    from qrpay.desk.decode import MAX_BYTES, decode_one

    form = await auth.read_form(request)
    upload = form.get("image")
    if not isinstance(upload, UploadFile):
        raise ValidationError("no image was uploaded", code="empty_image", field="image")
    data = await upload.read(MAX_BYTES + 1)
    text = await run_in_threadpool(decode_one, data)
    return await _show_scan(request, sess, text, "photo")


# ------------------------------------------------------------------------------ collect

def _minor_or_none(value: object) -> int | None:
    text = str(value or "")
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 15 else None


def _collect_form(form: Any) -> counter.CollectIn:
    return counter.CollectIn(
        bill_no=str(form.get("bill_no", "")).strip()[:40],
        txn_id=str(form.get("txn_id", "")),
        amount=parse_amount(str(form.get("amount", "")), allow_negative=False),
        mode=str(form.get("mode", "")), reference=str(form.get("reference", ""))[:200],
        confirm_paid=form.get("confirm_paid") in ("1", "on", "yes"),
        confirm_excess=_minor_or_none(form.get("confirm_excess")))


async def _approver(request: Request, form: Any) -> LoginCheck | None:
    """A supervisor's name and password typed on the cashier's form, checked (argon2)
    before the write transaction; the action decides whether it approves."""
    username = str(form.get("approver", "")).strip()[:64]
    if not username:
        return None
    password = str(form.get("approver_password", ""))[:1024]
    return await run_in_threadpool(verify_login, _store(request), username, password)  # type: ignore[no-any-return]


def _held_outcome(conn: Any, config: Config, sess: DeskSession, bill_no: str,
                  verdict: str) -> counter.ScanOutcome:
    return counter.bill_outcome(conn, config, sess.staff, bill_no, verdict, utcnow())


async def _show_hold(request: Request, sess: DeskSession, form: Any, data: counter.CollectIn,
                     hold: counter.AmountHold) -> Response:
    verdict = str(form.get("verdict", ""))
    outcome = await in_read(request, _held_outcome, _config(request), sess, data.bill_no,
                            verdict if verdict in ("genuine", "typed") else "typed")
    return render(request, "scan.html", sess, status=409, outcome=outcome, error=None,
                  shift_closed=False, txn_id=data.txn_id, modes=shift.MODES, hold=hold,
                  collect=data, amount_default=to_decimal_str(data.amount))


@staff_page("cashier")
async def collect_post(request: Request, sess: DeskSession) -> Response:
    form = await auth.read_form(request)
    data = replace(_collect_form(form), approver=await _approver(request, form))
    done = await act(request, actions.collect, _actor(request, sess), data)
    if isinstance(done, counter.AmountHold):
        return await _show_hold(request, sess, form, data, done)
    return redirect(f"/desk/receipt/{done.receipt_no}")


# ------------------------------------------------------------------------------ receipts

def _receipt(conn: Any, config: Config, sess: DeskSession, receipt_no: str
             ) -> counter.ReceiptView:
    from qrpay.errors import NotFound

    r = counter.receipt_view(conn, config, receipt_no)
    if r.biller.code != sess.staff.biller:
        raise NotFound(f"no receipt {receipt_no}", code="unknown_receipt", field="receipt_no")
    return r


@staff_page("cashier")
async def receipt_page(request: Request, sess: DeskSession) -> Response:
    from qrpay.desk.receipt import paid_at_text, paid_via, qr_svg_data_uri

    receipt_no = request.path_params["receipt_no"]
    r = await in_read(request, _receipt, _config(request), sess, receipt_no)
    can_cancel = (sess.staff.has_role("supervisor") and r.in_force and r.shift_open
                  and r.mode in shift.MODES)
    lang, _ = _language(request, sess)
    return render(request, "receipt.html", sess, r=r, paid_at=paid_at_text(r),
                  qr_src=qr_svg_data_uri(r.receipt_no), can_cancel=can_cancel,
                  method=paid_via(r, texts("desk", lang)))


@staff_page("cashier")
async def receipt_pdf(request: Request, sess: DeskSession) -> Response:
    from qrpay.desk.receipt import paid_at_text
    from qrpay.desk.receipt import receipt_pdf as make_pdf

    receipt_no = request.path_params["receipt_no"]
    r = await in_read(request, _receipt, _config(request), sess, receipt_no)
    pdf = await run_in_threadpool(make_pdf, r, paid_at_text(r))
    return Response(pdf, media_type="application/pdf", headers={
        "Cache-Control": "no-store",
        "Content-Disposition": f'inline; filename="receipt-{r.receipt_no}.pdf"'})


@staff_page("supervisor")
async def cancel_post(request: Request, sess: DeskSession) -> Response:
    form = await auth.read_form(request)
    receipt_no = request.path_params["receipt_no"]
    await act(request, actions.cancel, _actor(request, sess),
              actions.CancelIn(receipt_no, str(form.get("reason", ""))))
    return redirect(f"/desk/receipt/{receipt_no}")


# ------------------------------------------------------------------------------ shift

def _shift_page(request: Request, sess: DeskSession, summary: shift.ShiftSummary,
                hold: shift.CloseHold | None = None, status: int = 200,
                note: str = "") -> Response:
    biller = _biller(request, sess)
    difference = summary.difference(summary.shift.declared_cash)
    return render(request, "shift.html", sess, status=status, s=summary,
                  opened_at=_local(biller, summary.shift.opened_at),
                  closed_at=_local(biller, summary.shift.closed_at),
                  difference=difference if difference is not None else 0, hold=hold,
                  declared_default=to_decimal_str(hold.declared_cash) if hold else "",
                  note=note)


@staff_page("cashier")
async def shift_page(request: Request, sess: DeskSession) -> Response:
    summary = await in_read(request, actions.shift_for, _actor(request, sess), sess.shift_id)
    return _shift_page(request, sess, summary)


@staff_page("cashier")
async def shift_view(request: Request, sess: DeskSession) -> Response:
    summary = await in_read(request, actions.shift_for, _actor(request, sess),
                            request.path_params["shift_id"])
    return _shift_page(request, sess, summary)


@staff_page("cashier")
async def shift_close(request: Request, sess: DeskSession) -> Response:
    form = await auth.read_form(request)
    declared = parse_amount(str(form.get("declared_cash", "")), field="declared_cash",
                            allow_negative=False)
    try:
        shift_id = int(str(form.get("shift_id", sess.shift_id)))
    except ValueError:
        raise ValidationError("bad shift", code="unknown_shift", field="shift_id") from None
    note = str(form.get("note", ""))[:1000]
    actor = _actor(request, sess)
    done = await act(request, actions.close_shift, actor, actions.CloseIn(
        shift_id, declared, note, _minor_or_none(form.get("confirm_short"))))
    if isinstance(done, shift.CloseHold):
        summary = await in_read(request, actions.shift_for, actor, shift_id)
        return _shift_page(request, sess, summary, done, status=409, note=note)
    return redirect(f"/desk/shift/{shift_id}")


@staff_page("cashier")
async def daybook(request: Request, sess: DeskSession) -> Response:
    shift_id = request.path_params["shift_id"]
    actor = _actor(request, sess)

    def rows(conn: Any) -> str:
        actions.shift_for(conn, actor, shift_id)
        return shift.daybook_csv(shift.daybook(conn, shift_id), _biller(request, sess))

    body = await in_read(request, rows)
    name = f"daybook-{sess.staff.biller}-{sess.staff.counter}-shift{shift_id}.csv"
    return Response(body.encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                    headers={"Cache-Control": "no-store",
                             "Content-Disposition": f'attachment; filename="{name}"'})


# ------------------------------------------------------------------------------ audit

@staff_page("supervisor")
async def audit_page(request: Request, sess: DeskSession) -> Response:
    rows = await in_read(request, lambda conn: audit.recent(conn, biller=sess.staff.biller))
    biller = _biller(request, sess)
    return render(request, "audit.html", sess, rows=[audit.readable(e) for e in rows],
                  when=lambda at: _local(biller, at), zone=biller.timezone)


# ------------------------------------------------------------------------------ static

@functools.cache
def _asset(name: str) -> bytes:
    return (templates_dir() / "desk" / name).read_bytes()


async def asset(request: Request) -> Response:
    name = request.url.path.rsplit("/", 1)[-1]
    media = "text/css" if name.endswith(".css") else "text/javascript"
    return Response(_asset(name), media_type=f"{media}; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=3600"})


ROUTES = [
    Route("/desk/login", login_page, methods=["GET"]),
    Route("/desk/login", login_post, methods=["POST"]),
    Route("/desk/desk.css", asset, methods=["GET"]),
    Route("/desk/desk.js", asset, methods=["GET"]),
    Route("/desk", desk_home, methods=["GET"]),
    Route("/desk/logout", logout, methods=["POST"]),
    Route("/desk/scan", scan_post, methods=["POST"]),
    Route("/desk/scan/image", scan_image, methods=["POST"]),
    Route("/desk/collect", collect_post, methods=["POST"]),
    Route("/desk/receipt/{receipt_no}", receipt_page, methods=["GET"]),
    Route("/desk/receipt/{receipt_no}/pdf", receipt_pdf, methods=["GET"]),
    Route("/desk/receipt/{receipt_no}/cancel", cancel_post, methods=["POST"]),
    Route("/desk/shift", shift_page, methods=["GET"]),
    Route("/desk/shift/close", shift_close, methods=["POST"]),
    Route("/desk/shift/{shift_id:int}", shift_view, methods=["GET"]),
    Route("/desk/shift/{shift_id:int}/daybook.csv", daybook, methods=["GET"]),
    Route("/desk/audit", audit_page, methods=["GET"]),
]


def _protected(routes: list[Route]) -> tuple[tuple[str, str, str], ...]:
    """(method, path, minimum role) of every staff route, read from the endpoints that
    :func:`staff_page` wrapped; the access tests walk this list."""
    out = []
    for route in routes:
        role = getattr(route.endpoint, "minimum_role", None)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            if role is not None:
                out.append((method, route.path, role))
    return tuple(out)


PROTECTED = _protected(ROUTES)
