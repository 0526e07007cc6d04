"""Counter-desk pages under ``/desk``: login, scan, collect, receipt, cancel, shift close.

Every page but the login form needs a live desk session (:mod:`qrpay.web.auth`) and a
minimum role (:data:`PROTECTED` lists them all); every POST checks the CSRF token.
Errors on these pages become a short HTML page in the desk's language with the error
code; an anonymous GET is sent to the login page.  Each staff action is written to the
audit trail in the same transaction as the action itself.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from qrpay.config import Biller, Config
from qrpay.desk import audit, counter, shift
from qrpay.desk.audit import Where
from qrpay.desk.sessions import DeskSession, create_session, end_session
from qrpay.desk.staff import LoginCheck, record_login, verify_login
from qrpay.errors import AuthError, QrpayError, ValidationError
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


# ------------------------------------------------------------------------------ plumbing

def _config(request: Request) -> Config:
    return request.app.state.config  # type: ignore[no-any-return]


def _store(request: Request) -> Store:
    return request.app.state.store  # type: ignore[no-any-return]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _where(request: Request, sess: DeskSession | None) -> Where:
    if sess is None:
        return Where(remote=auth.client_ip(request))
    return Where(sess.staff.biller, sess.staff.counter, auth.client_ip(request))


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


def _write(store: Store, fn: Callable[..., Any], *args: Any) -> Any:
    with store.begin() as conn:
        return fn(conn, *args)


async def in_tx(request: Request, fn: Callable[..., Any], *args: Any) -> Any:
    """Run ``fn(conn, *args)`` in one write transaction, off the event loop."""
    return await run_in_threadpool(_write, _store(request), fn, *args)


def _record_refusal(conn: Any, sess: DeskSession, where: Where, code: str,
                    path: str) -> None:
    audit.record(conn, sess.staff.username, "refused", where,
                 detail={"code": code, "path": path})


async def error_page(request: Request, exc: QrpayError) -> Response:
    sess = await auth.current_session(request)
    if exc.code == "login_required" and request.method == "GET":
        return redirect("/desk/login")
    status = auth.status_for(exc.code, 401 if isinstance(exc, AuthError) else exc.http_status)
    if sess is not None and exc.code in ("forbidden", "csrf_failed"):
        await in_tx(request, _record_refusal, sess, _where(request, sess), exc.code,
                    request.url.path)
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
    aware = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    return aware.astimezone(ZoneInfo(biller.timezone)).strftime("%Y-%m-%d %H:%M")


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


def _login_tx(conn: Any, config: Config, check: LoginCheck,
              where: Where) -> tuple[str | None, str | None]:
    """Record the checked login, open or join the shift, start the session, audit it all."""
    now = utcnow()
    outcome = record_login(conn, check, now)
    if outcome.staff is None:
        audit.record(conn, outcome.username or "?", "login_failed", where,
                     detail={"code": outcome.code}, at=now)
        return None, outcome.code
    who = outcome.staff
    if who.biller not in config.billers:
        audit.record(conn, who.username, "login_failed", where,
                     detail={"code": "unknown_biller"}, at=now)
        return None, "unknown_biller"
    desk = Where(who.biller, who.counter, where.remote)
    current, opened = shift.join_or_open(conn, who, now)
    if opened:
        audit.record(conn, who.username, "shift_open", desk, detail={"shift": current.id},
                     at=now)
    token, _ = create_session(conn, who, shift_id=current.id, remote=where.remote, now=now)
    audit.record(conn, who.username, "login", desk,
                 detail={"shift": current.id, "role": who.role}, at=now)
    return token, None


async def login_post(request: Request) -> Response:
    try:
        form = await auth.read_form(request)
        auth.check_login_nonce(request, form)
    except QrpayError as exc:
        return await error_page(request, exc)
    username = str(form.get("username", ""))[:64]
    password = str(form.get("password", ""))[:1024]
    # The argon2 check (~50 ms) runs on a read connection, outside the write transaction.
    check = await run_in_threadpool(verify_login, _store(request), username, password)
    token, code = await in_tx(request, _login_tx, _config(request), check,
                              _where(request, None))
    if token is None:
        return _login_form(request, code, username, status=401)
    response = redirect("/desk")
    auth.set_session_cookie(response, request, token)
    auth.clear_login_cookie(response, request)
    return response


def _logout_tx(conn: Any, sess: DeskSession, where: Where) -> None:
    end_session(conn, sess.id, utcnow())
    audit.record(conn, sess.staff.username, "logout", where, detail={"shift": sess.shift_id})


@staff_page("cashier")
async def logout(request: Request, sess: DeskSession) -> Response:
    await in_tx(request, _logout_tx, sess, _where(request, sess))
    response = redirect("/desk/login")
    auth.clear_session_cookie(response, request)
    return response


# ------------------------------------------------------------------------------ scan

def _shift_closed(conn: Any, sess: DeskSession) -> bool:
    return sess.shift_id is None or not shift.get_shift(conn, sess.shift_id).is_open


def _read(store: Store, fn: Callable[..., Any], *args: Any) -> Any:
    with store.connect() as conn:
        return fn(conn, *args)


async def in_read(request: Request, fn: Callable[..., Any], *args: Any) -> Any:
    return await run_in_threadpool(_read, _store(request), fn, *args)


@staff_page("cashier")
async def desk_home(request: Request, sess: DeskSession) -> Response:
    closed = await in_read(request, _shift_closed, sess)
    return render(request, "scan.html", sess, outcome=None, error=None, shift_closed=closed)


def _scan_tx(conn: Any, config: Config, sess: DeskSession, text: str, source: str,
             where: Where) -> tuple[counter.ScanOutcome | str, bool]:
    receipt_no = counter.scanned_receipt(conn, sess.staff, text)
    if receipt_no is not None:
        audit.record(conn, sess.staff.username, "scan", where,
                     detail={"source": source, "receipt_no": receipt_no})
        return receipt_no, False
    outcome = counter.scan(conn, config, sess.staff, text)
    audit.record(conn, sess.staff.username, "scan", where,
                 detail={"source": source, **outcome.audit_detail()})
    return outcome, _shift_closed(conn, sess)


async def _show_scan(request: Request, sess: DeskSession, text: str, source: str) -> Response:
    outcome, closed = await in_tx(request, _scan_tx, _config(request), sess, text, source,
                                  _where(request, sess))
    if isinstance(outcome, str):  # a receipt's own QR: show the receipt
        return redirect(f"/desk/receipt/{outcome}")
    due = outcome.status.due_now if outcome.status else 0
    return render(request, "scan.html", sess, outcome=outcome, error=None,
                  shift_closed=closed, txn_id=counter.new_txn_id(),
                  modes=shift.MODES, amount_default=to_decimal_str(due) if due > 0 else "")


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

def _collect_form(form: Any) -> counter.CollectIn:
    return counter.CollectIn(
        bill_no=str(form.get("bill_no", "")).strip()[:40],
        txn_id=str(form.get("txn_id", "")),
        amount=parse_amount(str(form.get("amount", "")), allow_negative=False),
        mode=str(form.get("mode", "")), reference=str(form.get("reference", ""))[:200],
        confirm_paid=form.get("confirm_paid") in ("1", "on", "yes"))


def _collect_tx(conn: Any, config: Config, sess: DeskSession, data: counter.CollectIn,
                where: Where) -> counter.Collected:
    now = utcnow()
    done = counter.collect(conn, config, sess.staff, sess.shift_id, data, now)
    audit.record(conn, sess.staff.username, "collect", where, at=now, detail={
        "bill_no": data.bill_no, "receipt_no": done.receipt_no, "amount": data.amount,
        "mode": data.mode, "reference": data.reference.strip(), "txn_id": data.txn_id,
        "duplicate": done.duplicate, "confirm_paid": data.confirm_paid,
        "shift": sess.shift_id})
    return done


@staff_page("cashier")
async def collect_post(request: Request, sess: DeskSession) -> Response:
    data = _collect_form(await auth.read_form(request))
    done = await in_tx(request, _collect_tx, _config(request), sess, data,
                       _where(request, sess))
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
    from qrpay.desk.receipt import qr_svg_data_uri

    receipt_no = request.path_params["receipt_no"]
    r = await in_read(request, _receipt, _config(request), sess, receipt_no)
    can_cancel = (sess.staff.has_role("supervisor") and r.in_force and r.shift_open
                  and r.mode in shift.MODES)
    return render(request, "receipt.html", sess, r=r, paid_at=_local(r.biller, r.paid_at),
                  qr_src=qr_svg_data_uri(r.receipt_no), can_cancel=can_cancel)


@staff_page("cashier")
async def receipt_pdf(request: Request, sess: DeskSession) -> Response:
    from qrpay.desk.receipt import receipt_pdf as make_pdf

    receipt_no = request.path_params["receipt_no"]
    r = await in_read(request, _receipt, _config(request), sess, receipt_no)
    pdf = await run_in_threadpool(make_pdf, r, _local(r.biller, r.paid_at))
    return Response(pdf, media_type="application/pdf", headers={
        "Cache-Control": "no-store",
        "Content-Disposition": f'inline; filename="receipt-{r.receipt_no}.pdf"'})


def _cancel_tx(conn: Any, config: Config, sess: DeskSession, receipt_no: str, reason: str,
               where: Where) -> None:
    from qrpay.desk.cancel import cancel_receipt

    now = utcnow()
    done = cancel_receipt(conn, config, sess.staff, receipt_no, reason, now)
    audit.record(conn, sess.staff.username, "cancel", where, at=now, detail={
        "receipt_no": receipt_no, "bill_no": done.bill_no, "amount": done.amount,
        "reason": reason.strip()[:200], "duplicate": done.duplicate,
        "bill_state": done.bill_state})


@staff_page("supervisor")
async def cancel_post(request: Request, sess: DeskSession) -> Response:
    form = await auth.read_form(request)
    receipt_no = request.path_params["receipt_no"]
    await in_tx(request, _cancel_tx, _config(request), sess, receipt_no,
                str(form.get("reason", "")), _where(request, sess))
    return redirect(f"/desk/receipt/{receipt_no}")


# ------------------------------------------------------------------------------ shift

def _shift_for(conn: Any, sess: DeskSession, shift_id: int | None) -> shift.ShiftSummary:
    from qrpay.errors import NotFound

    if shift_id is None:
        raise NotFound("no shift in this session", code="unknown_shift")
    summary = shift.summarise(conn, shift_id)
    s = summary.shift
    own_counter = s.counter == sess.staff.counter or sess.staff.has_role("supervisor")
    if s.biller != sess.staff.biller or not own_counter:
        raise NotFound(f"no shift {shift_id}", code="unknown_shift")
    return summary


def _shift_page(request: Request, sess: DeskSession, summary: shift.ShiftSummary) -> Response:
    biller = _biller(request, sess)
    difference = summary.difference(summary.shift.declared_cash)
    return render(request, "shift.html", sess, s=summary,
                  opened_at=_local(biller, summary.shift.opened_at),
                  difference=difference if difference is not None else 0)


@staff_page("cashier")
async def shift_page(request: Request, sess: DeskSession) -> Response:
    summary = await in_read(request, _shift_for, sess, sess.shift_id)
    return _shift_page(request, sess, summary)


@staff_page("cashier")
async def shift_view(request: Request, sess: DeskSession) -> Response:
    summary = await in_read(request, _shift_for, sess, request.path_params["shift_id"])
    return _shift_page(request, sess, summary)


def _close_tx(conn: Any, sess: DeskSession, shift_id: int, declared: int,
              where: Where) -> shift.ShiftSummary:
    now = utcnow()
    _shift_for(conn, sess, shift_id)
    summary = shift.close_shift(conn, shift_id, declared, sess.staff, now)
    audit.record(conn, sess.staff.username, "shift_close", where, at=now, detail={
        "shift": shift_id, "expected_cash": summary.expected_cash, "declared_cash": declared,
        "difference": summary.difference(declared), "receipts": summary.receipts,
        "total": summary.total, "cancelled": summary.cancelled})
    return summary


@staff_page("cashier")
async def shift_close(request: Request, sess: DeskSession) -> Response:
    form = await auth.read_form(request)
    declared = parse_amount(str(form.get("declared_cash", "")), field="declared_cash",
                            allow_negative=False)
    try:
        shift_id = int(str(form.get("shift_id", sess.shift_id)))
    except ValueError:
        raise ValidationError("bad shift", code="unknown_shift", field="shift_id") from None
    await in_tx(request, _close_tx, sess, shift_id, declared, _where(request, sess))
    return redirect(f"/desk/shift/{shift_id}")


@staff_page("cashier")
async def daybook(request: Request, sess: DeskSession) -> Response:
    shift_id = request.path_params["shift_id"]

    def rows(conn: Any) -> str:
        _shift_for(conn, sess, shift_id)
        return shift.daybook_csv(shift.daybook(conn, shift_id))

    body = await in_read(request, rows)
    name = f"daybook-{sess.staff.biller}-{sess.staff.counter}-shift{shift_id}.csv"
    return Response(body.encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                    headers={"Cache-Control": "no-store",
                             "Content-Disposition": f'attachment; filename="{name}"'})


# ------------------------------------------------------------------------------ audit

@staff_page("supervisor")
async def audit_page(request: Request, sess: DeskSession) -> Response:
    rows = await in_read(request, lambda conn: audit.recent(conn, biller=sess.staff.biller))
    return render(request, "audit.html", sess, rows=rows)


# ------------------------------------------------------------------------------ static

@functools.cache
def _asset(name: str) -> bytes:
    return (templates_dir() / "desk" / name).read_bytes()


async def asset(request: Request) -> Response:
    name = request.url.path.rsplit("/", 1)[-1]
    media = "text/css" if name.endswith(".css") else "text/javascript"
    return Response(_asset(name), media_type=f"{media}; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=3600"})


# (method, path, minimum role) of every staff route; the access tests walk this list.
PROTECTED: tuple[tuple[str, str, str], ...] = (
    ("GET", "/desk", "cashier"),
    ("POST", "/desk/logout", "cashier"),
    ("POST", "/desk/scan", "cashier"),
    ("POST", "/desk/scan/image", "cashier"),
    ("POST", "/desk/collect", "cashier"),
    ("GET", "/desk/receipt/{receipt_no}", "cashier"),
    ("GET", "/desk/receipt/{receipt_no}/pdf", "cashier"),
    ("POST", "/desk/receipt/{receipt_no}/cancel", "supervisor"),
    ("GET", "/desk/shift", "cashier"),
    ("POST", "/desk/shift/close", "cashier"),
    ("GET", "/desk/shift/{shift_id}", "cashier"),
    ("GET", "/desk/shift/{shift_id}/daybook.csv", "cashier"),
    ("GET", "/desk/audit", "supervisor"),
)

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
