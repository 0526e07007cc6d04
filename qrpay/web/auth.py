"""Desk authentication for the web layer: session cookie, CSRF, role checks.

* The session cookie (``qrpay_desk``) is an itsdangerous-signed random token, HttpOnly,
  ``SameSite=Strict``, scoped to ``/desk``, ``Secure`` over HTTPS.  The key is
  ``QRPAY_SESSION_KEY`` (environment or ``QRPAY_SECRETS_FILE``).  Expiry and logout are
  decided server side (:mod:`qrpay.desk.sessions`).
* Every POST carries a ``csrf`` form field compared in constant time with the session's
  token; the login form (no session yet) uses a signed nonce cookie instead.
* :func:`authorise` returns the live session or raises: ``AuthError(login_required)``
  (no or dead session), ``AuthError(forbidden)`` (role too low), ``AuthError(csrf_failed)``.
"""

from __future__ import annotations

import hmac
import secrets
from functools import cache
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from qrpay.clock import utcnow
from qrpay.config import secret
from qrpay.desk.sessions import LIFETIME, DeskSession, load_session, touch_session
from qrpay.errors import AuthError
from qrpay.store import Store
from qrpay.web.limits import UPLOAD_LIMIT, refuse_long_field, refuse_nul

SESSION_COOKIE = "qrpay_desk"
LOGIN_COOKIE = "qrpay_desk_login"
COOKIE_PATH = "/desk"
LOGIN_NONCE_AGE = 3600  # seconds a login form stays usable
MAX_FORM_FIELDS = 40


@cache
def _serializer(key: str, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(key, salt=salt)


def signer(salt: str) -> URLSafeTimedSerializer:
    """An itsdangerous serializer keyed by ``QRPAY_SESSION_KEY`` for one purpose."""
    key = secret("QRPAY_SESSION_KEY")
    assert key is not None
    return _serializer(key, salt)


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    value = signer("desk-session").dumps(token)
    response.set_cookie(SESSION_COOKIE, value, max_age=int(LIFETIME.total_seconds()),
                        path=COOKIE_PATH, httponly=True, samesite="strict",
                        secure=_secure(request))


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH, httponly=True,
                           samesite="strict", secure=_secure(request))


def _token_from_cookie(request: Request) -> str | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        token = signer("desk-session").loads(raw, max_age=int(LIFETIME.total_seconds()))
    except BadSignature:
        return None
    return token if isinstance(token, str) else None


def _store(request: Request) -> Store:
    return request.app.state.store  # type: ignore[no-any-return]


def _load(store: Store, token: str) -> DeskSession | None:
    # A read connection: on SQLite a write transaction here would queue every desk page
    # behind (and ahead of) payment callbacks for the single write lock.
    now = utcnow()
    with store.connect() as conn:
        sess = load_session(conn, token, now)
    if sess is not None and sess.touch_due:
        with store.begin() as conn:
            touch_session(conn, sess.id, now)
    return sess


async def current_session(request: Request) -> DeskSession | None:
    """The live desk session of this request, or None (cached on ``request.state``)."""
    if hasattr(request.state, "desk_session"):
        return request.state.desk_session  # type: ignore[no-any-return]
    token = _token_from_cookie(request)
    sess = await run_in_threadpool(_load, _store(request), token) if token else None
    request.state.desk_session = sess
    return sess


def constant_time_equal(given: Any, expected: str) -> bool:
    if not isinstance(given, str) or not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


async def read_form(request: Request) -> FormData:
    if hasattr(request.state, "desk_form"):
        return request.state.desk_form  # type: ignore[no-any-return]
    # Starlette's own limit on a text part (1 MB) answers 400; the body is already bounded
    # by EdgeLimits, so let Starlette read any part within it (in memory, text parts never
    # spool) and refuse long text fields here with 413 like every other oversized input.
    form = await request.form(max_files=1, max_fields=MAX_FORM_FIELDS,
                              max_part_size=UPLOAD_LIMIT)
    for name, value in form.multi_items():
        if isinstance(value, str):
            refuse_long_field(value, name)
            refuse_nul(value, name)
    request.state.desk_form = form
    return form


async def authorise(request: Request, minimum: str) -> DeskSession:
    """The session if its staff has ``minimum`` role; for a POST also check the CSRF token."""
    sess = await current_session(request)
    if sess is None:
        raise AuthError("please log in", code="login_required")
    if not sess.staff.has_role(minimum):
        raise AuthError(f"this needs the {minimum} role", code="forbidden")
    if request.method == "POST":
        form = await read_form(request)
        if not constant_time_equal(form.get("csrf"), sess.csrf):
            raise AuthError("the form is stale or forged; reload the page",
                            code="csrf_failed")
    return sess


# The login form: no session yet, so a signed nonce cookie stands in for the CSRF token.

def new_login_nonce() -> tuple[str, str]:
    """A nonce for the login form, and its signed cookie value."""
    nonce = secrets.token_urlsafe(24)
    return nonce, signer("desk-login").dumps(nonce)


def set_login_cookie(response: Response, request: Request, cookie_value: str) -> None:
    response.set_cookie(LOGIN_COOKIE, cookie_value, max_age=LOGIN_NONCE_AGE, path=COOKIE_PATH,
                        httponly=True, samesite="strict", secure=_secure(request))


def clear_login_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(LOGIN_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict",
                           secure=_secure(request))


def check_login_nonce(request: Request, form: FormData) -> None:
    raw = request.cookies.get(LOGIN_COOKIE, "")
    try:
        nonce = signer("desk-login").loads(raw, max_age=LOGIN_NONCE_AGE) if raw else ""
    except BadSignature:
        nonce = ""
    if not constant_time_equal(form.get("csrf"), nonce if isinstance(nonce, str) else ""):
        raise AuthError("the login form is stale; reload the page", code="csrf_failed")
