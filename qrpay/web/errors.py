"""Errors turned into responses, in one place.

* Under ``/api/`` every error is JSON ``{"error": {"code", "message", "field"}}`` with the
  error's status from :func:`qrpay.errors.http_status` (401 answers also carry
  ``WWW-Authenticate: Bearer``).
* Elsewhere (bill pages, desk pages) it is a short HTML page in the visitor's language,
  with the code shown for the helpline.
* The database out of reach (a lost or refused connection: a PostgreSQL restart or
  failover) is answered 503 ``database_unavailable`` with ``Retry-After``: the request was
  not acknowledged, and its transaction did not commit (or, if the connection died during
  the commit itself, a retry is answered ``duplicate``; postings are keyed by the channel's
  transaction id).
* An unexpected exception is logged and answered 500 ``internal``; its text is not shown.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from qrpay.errors import QrpayError, http_status
from qrpay.store.retry import DRIVER_ERRORS

log = logging.getLogger("qrpay.web")
DATABASE_RETRY_AFTER = 5  # seconds

HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type",
              422: "invalid", 429: "too_many_requests", 500: "internal",
              503: "unavailable"}


def wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path in {"/healthz", "/openapi.json"}


def error_response(request: Request, status: int, code: str, message: str,
                   field: str | None = None) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if wants_json(request):
        err: dict[str, Any] = {"code": code, "message": message}
        if field is not None:
            err["field"] = field
        return JSONResponse({"error": err}, status_code=status, headers=headers)
    from qrpay.web.pages import render_error_page

    try:
        html = render_error_page(request, status, code)
    except Exception:  # noqa: BLE001 - the error page must not fail in turn
        log.exception("error page for %s failed", code)
        html = f"<!doctype html><title>{status}</title><p>Error {status} ({code})</p>"
    return HTMLResponse(html, status_code=status, headers=headers)


async def qrpay_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, QrpayError)
    status = http_status(exc)
    if status >= 500:
        log.error("%s %s failed: %s [%s]", request.method, request.url.path, exc, exc.code)
    return error_response(request, status, exc.code, exc.message, exc.field)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    message = exc.detail if isinstance(exc.detail, str) else code
    resp = error_response(request, exc.status_code, code, message)
    if exc.headers:
        resp.headers.update(exc.headers)
    return resp


async def database_error(request: Request, exc: Exception) -> Response:
    from qrpay.store.retry import disconnected

    if not disconnected(exc):
        return await unexpected_error(request, exc)
    log.warning("%s %s: database unreachable (%s)", request.method, request.url.path,
                type(exc).__name__)
    resp = error_response(request, 503, "database_unavailable",
                          "the database is not reachable; try again shortly")
    resp.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return resp


async def unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("%s %s crashed", request.method, request.url.path)
    return error_response(request, 500, "internal", "internal error")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    QrpayError: qrpay_error,
    HTTPException: http_error,
    DBAPIError: database_error,
    **{e: database_error for e in DRIVER_ERRORS},
    Exception: unexpected_error,
}
