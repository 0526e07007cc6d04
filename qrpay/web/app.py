"""The web application: ``create_app(config, store=None) -> Starlette``.

Routes: the bill pages (``qrpay.web.pages``), the JSON API (``qrpay.web.api``),
``/healthz``, ``/openapi.json``, the static files, and the counter desk
(``qrpay.web.desk.ROUTES``) when that module is installed.  Errors become responses in
one place (``qrpay.web.errors``).  Every response carries the security headers below
unless the route set its own.

``app_from_env()`` is the factory uvicorn calls in each worker process when
``qrpay serve --workers N`` runs more than one: it reads the profile named by
``$QRPAY_CONFIG``.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qrpay.apikeys import KeyCache
from qrpay.config import Config, load_config
from qrpay.payments.reads import Reader
from qrpay.store import Store, open_store
from qrpay.templating import templates_dir
from qrpay.web import api, pages, ratelimit
from qrpay.web import chat as chat_web
from qrpay.web.errors import EXCEPTION_HANDLERS
from qrpay.web.gate import WriteGate
from qrpay.web.limits import EdgeLimits
from qrpay.web.openapi import openapi
from qrpay.web.ops import RequestLog, metrics, metrics_registry, readyz
from qrpay.web.proxies import ForwardedFor, TrustedProxies
from qrpay.web.server import FREEZE_GC_ENV

log = logging.getLogger("qrpay.web")

SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'none'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
     b"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(self), geolocation=(), microphone=()"),
]
SENDER_ENV = "QRPAY_SERVE_SENDER"  # "0" turns the in-process SMS sender off
ACCESS_LOG_ENV = "QRPAY_ACCESS_LOG"  # "1": one JSON line per request on qrpay.access


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every HTTP response that lacks them (pure ASGI)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def healthz(request: Request) -> Response:
    """200 when the database answers, 503 otherwise."""
    store: Store = request.app.state.store
    try:
        with store.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        log.warning("healthz: database unreachable: %s", exc)
        return JSONResponse({"status": "unavailable", "database": "unreachable"},
                            status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


def desk_routes() -> list[BaseRoute]:
    try:
        from qrpay.web.desk import ROUTES as DESK_ROUTES
    except ModuleNotFoundError as exc:
        if exc.name not in {"qrpay.web.desk"}:
            raise
        return []
    return list(DESK_ROUTES)


def biller_routes() -> list[BaseRoute]:
    from qrpay.web.biller_api import ROUTES as BILLER_ROUTES  # the biller API (qrpay.biller)

    return list(BILLER_ROUTES)


def admin_routes() -> list[BaseRoute]:
    from qrpay.web.admin import ROUTES as ADMIN_ROUTES  # reports and recon (qrpay.web.admin)

    return list(ADMIN_ROUTES)


def static_dir() -> Path:
    return templates_dir() / "web" / "static"


def routes() -> list[BaseRoute]:
    return [
        *pages.ROUTES,
        *api.ROUTES,
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Mount("/static/web", app=StaticFiles(directory=static_dir()), name="static-web"),
        *admin_routes(),
        *desk_routes(),
        *biller_routes(),
        *chat_web.ROUTES,
    ]


def sender_wanted(start_sender: bool | None) -> bool:
    if start_sender is not None:
        return start_sender
    return os.environ.get(SENDER_ENV, "1") not in {"0", "false", "no", "off"}


def _start_sender(store: Store, config: Config, stop: threading.Event,
                  interval: float) -> threading.Thread | None:
    try:
        from qrpay.notify import run_worker
    except ImportError:
        log.warning("qrpay.notify is not installed: no SMS sender in this process")
        return None
    thread = threading.Thread(target=run_worker, args=(store, config, stop, interval),
                              name="qrpay-sms-sender", daemon=True)
    thread.start()
    return thread


def create_app(config: Config, store: Store | None = None, *,
               start_sender: bool | None = None, sender_interval: float = 1.0) -> Starlette:
    """The qrpay web app over ``config``; opens ``config.database_url`` if no store.

    The SMS sender runs as a background thread for the app's lifetime unless
    ``start_sender=False`` or ``$QRPAY_SERVE_SENDER=0``.
    """
    own_store = store is None
    if store is None:
        store = open_store(config.database_url)
        store.require_current()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop = threading.Event()
        thread = None
        if sender_wanted(start_sender):
            thread = _start_sender(app.state.store, config, stop, sender_interval)
            app.state.chat.start_sender()
        if os.environ.get(FREEZE_GC_ENV) == "1":
            # serving: the app, its routes, templates and profile are loaded by now; out
            # of the garbage collector's sight, a full collection no longer walks them
            # (its pauses of the event loop and the writers set the p99, as for the
            # callbacks in qrpay.web.gate).  Not in tests, which make many apps.
            gc.freeze()
        try:
            yield
        finally:
            app.state.chat.close()
            stop.set()
            if thread is not None:
                thread.join(timeout=10)
            app.state.reader.close()
            if own_store:
                app.state.store.dispose()

    app = Starlette(routes=routes(), exception_handlers=EXCEPTION_HANDLERS,
                    lifespan=lifespan)
    app.state.config = config
    app.state.store = store
    app.state.keys = KeyCache()
    app.state.reader = Reader(store, config)
    app.state.languages = pages.deployment_languages(config)
    app.state.write_gate = WriteGate(store)
    app.state.sender_on = sender_wanted(start_sender)
    app.state.metrics_registry = metrics_registry(store)
    app.add_middleware(EdgeLimits)
    ratelimit.install(app, store, config)  # per client, in the store (issue 14 item 4)
    app.state.chat = chat_web.ChatRuntime(config, store)  # checks the chat flows at start
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestLog)
    # outermost: every layer below sees the client the trusted proxies report
    app.add_middleware(ForwardedFor, proxies=TrustedProxies.of(config))
    configure_access_log()
    return app


def configure_access_log() -> None:
    """With ``$QRPAY_ACCESS_LOG=1`` (``qrpay serve --access-log``) the request lines of
    :class:`qrpay.web.ops.RequestLog` go to stderr; uvicorn's own access log stays off
    (it prints the query string, and with it the bill's token)."""
    access = logging.getLogger("qrpay.access")
    if os.environ.get(ACCESS_LOG_ENV) != "1" or access.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False


def app_from_env() -> Any:
    """Factory for ``uvicorn --factory qrpay.web.app:app_from_env`` (reads QRPAY_CONFIG)."""
    return create_app(load_config(os.environ.get("QRPAY_CONFIG")))
