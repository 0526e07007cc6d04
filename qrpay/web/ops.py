"""What operators look at: ``/readyz``, ``/metrics`` and one log line per request.

* ``/healthz`` (in :mod:`qrpay.web.app`) says the process is alive and the database answers;
  ``/readyz`` says this node should take traffic: the database answers, its schema is the one
  this code needs, and every secret an enabled route needs is set.  503 with the reasons
  otherwise (names of missing secrets, never their values).
* ``/metrics`` speaks the Prometheus text format (prometheus-client).  The money figures come
  from the store at scrape time, so every worker and every node reports the same totals:
  payments by channel and status, the outbox backlog and the age of its oldest due message
  by kind, open reconciliation exceptions, held payments.  Request counts and latencies are
  the process's own (aggregated over ``qrpay serve --workers N`` when
  ``PROMETHEUS_MULTIPROC_DIR`` is set, which the supervisor does).  Served only to loopback
  clients unless ``QRPAY_METRICS_TOKEN`` is set, then only with ``Authorization: Bearer``.
* :class:`RequestLog` gives every request an id (a sane incoming ``X-Request-Id`` or a new
  one), returns it in the response and logs one JSON line on ``qrpay.access``: method, the
  route's template (``/b/{bill_no}``, never the path: bill numbers and tokens stay out of the
  logs), status, milliseconds.  No query string, no body, no header values.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import random
import re
import time
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest as prom_generate
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, inspect, select
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qrpay.clock import utcnow
from qrpay.config import secret
from qrpay.store import LATEST, Store
from qrpay.store.schema import outbox, payments, recon_exceptions
from qrpay.web.proxies import RESOLVED

log = logging.getLogger("qrpay.access")
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
METRICS_TOKEN_ENV = "QRPAY_METRICS_TOKEN"
LOOPBACK = {"127.0.0.1", "::1", "localhost", "testclient"}

# Per-process request metrics (multiprocess files when PROMETHEUS_MULTIPROC_DIR is set).
REQUESTS = Counter("qrpay_http_requests", "HTTP requests answered",
                   ["method", "route", "status"])
LATENCY = Histogram("qrpay_http_request_seconds", "Time to answer an HTTP request",
                    ["route"], buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10))


# -- readiness ---------------------------------------------------------------------------

def readiness(store: Store, needed: Iterable[str]) -> dict[str, Any]:
    """The checks behind ``/readyz``: ``{"ready": bool, "database", "schema", "secrets"}``."""
    report: dict[str, Any] = {"database": "ok", "schema": "ok", "secrets": "ok"}
    try:
        version = store.version()
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        logging.getLogger("qrpay.web").warning("readyz: database unreachable: %s", exc)
        report["database"] = "unreachable"
        report["schema"] = "unknown"
    else:
        if version < LATEST:
            report["schema"] = f"outdated: {version} < {LATEST} (run `qrpay db upgrade`)"
    missing = [name for name in needed if not secret(name, required=False)]
    if missing:
        report["secrets"] = {"missing": missing}
    report["ready"] = all(report[k] == "ok" for k in ("database", "schema", "secrets"))
    return report


async def readyz(request: Request) -> Response:
    from qrpay.web.startup import needed_secrets

    config = request.app.state.config
    needed = needed_secrets(config, desk=True, sender=bool(request.app.state.sender_on))
    report = readiness(request.app.state.store, needed)
    return JSONResponse(report, status_code=200 if report["ready"] else 503)


# -- metrics -----------------------------------------------------------------------------

class StoreCollector:
    """Money and backlog figures read from the store at scrape time (the same on every node)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        with self.store.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            yield self._payments(conn)
            yield from self._outbox(conn)
            if recon_exceptions.name in tables:
                yield self._recon(conn)

    @staticmethod
    def _payments(conn: Any) -> Metric:
        fam = GaugeMetricFamily("qrpay_payments", "Payments stored, by channel and status",
                                labels=["channel", "status"])
        amounts = GaugeMetricFamily("qrpay_payments_amount_minor",
                                    "Sum of payment amounts in minor units",
                                    labels=["channel", "status"])
        rows = conn.execute(select(payments.c.channel, payments.c.status, func.count(),
                                   func.coalesce(func.sum(payments.c.amount), 0))
                            .group_by(payments.c.channel, payments.c.status)).all()
        for channel, status, count, amount in rows:
            fam.add_metric([channel, status], count)
            amounts.add_metric([channel, status], int(amount))
        fam.samples.extend(amounts.samples)  # one family per yield keeps collect() simple
        return fam

    @staticmethod
    def _outbox(conn: Any) -> Iterator[Metric]:
        backlog = GaugeMetricFamily("qrpay_outbox_backlog",
                                    "Messages not yet sent, by kind and status",
                                    labels=["kind", "status"])
        age = GaugeMetricFamily("qrpay_outbox_oldest_age_seconds",
                                "Age of the oldest message not yet sent, by kind",
                                labels=["kind"])
        rows = conn.execute(select(outbox.c.kind, outbox.c.status, func.count(),
                                   func.min(outbox.c.created_at))
                            .where(outbox.c.status.in_(("pending", "sending", "unknown")))
                            .group_by(outbox.c.kind, outbox.c.status)).all()
        now = utcnow()
        oldest: dict[str, Any] = {}
        for kind, status, count, first in rows:
            backlog.add_metric([kind, status], count)
            if first is not None and (kind not in oldest or first < oldest[kind]):
                oldest[kind] = first
        for kind, first in oldest.items():
            age.add_metric([kind], max(0.0, (now - _aware(first)).total_seconds()))
        yield backlog
        yield age

    @staticmethod
    def _recon(conn: Any) -> Metric:
        fam = GaugeMetricFamily("qrpay_recon_exceptions_open",
                                "Open reconciliation exceptions, by outcome",
                                labels=["outcome"])
        rows = conn.execute(select(recon_exceptions.c.outcome, func.count())
                            .where(recon_exceptions.c.state == "open")
                            .group_by(recon_exceptions.c.outcome)).all()
        for outcome, count in rows:
            fam.add_metric([outcome], count)
        return fam


def _aware(ts: Any) -> Any:
    from qrpay.clock import aware

    return aware(ts)


def metrics_registry(store: Store) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry = _Chain(REGISTRY, registry)  # type: ignore[assignment]
    registry.register(StoreCollector(store))
    return registry


class _Chain(CollectorRegistry):
    """The process's default registry (request metrics) plus the store's collector."""

    def __init__(self, default: CollectorRegistry, own: CollectorRegistry) -> None:
        super().__init__(auto_describe=False)
        self.default = default

    def collect(self) -> Iterator[Metric]:
        yield from self.default.collect()
        yield from super().collect()


def metrics_allowed(request: Request) -> bool:
    token = secret(METRICS_TOKEN_ENV, required=False)
    if token:
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    client = request.client.host if request.client else ""
    # a loopback peer forwarding for someone it is not trusted for is not loopback
    relayed = "x-forwarded-for" in request.headers and not request.scope.get(RESOLVED)
    return client in LOOPBACK and not relayed


async def metrics(request: Request) -> Response:
    if not metrics_allowed(request):
        return JSONResponse({"error": {"code": "forbidden",
                                       "message": "metrics are for loopback or a bearer token",
                                       "field": None}}, status_code=403)
    registry = request.app.state.metrics_registry
    return PlainTextResponse(prom_generate(registry), media_type=CONTENT_TYPE_LATEST)


# -- request log ---------------------------------------------------------------------------

def request_id_of(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if REQUEST_ID.fullmatch(text):
                return text
            break
    # A log correlation id, not a secret: the process's own generator (reseeded in every
    # forked worker) instead of an os.urandom system call per request.
    return f"{random.getrandbits(64):016x}"


def route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class RequestLog:
    """Request id in and out, one JSON log line and the request metrics per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_of(scope)
        scope.setdefault("state", {})["request_id"] = rid
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, rid, status, time.perf_counter() - started)

    @staticmethod
    def _record(scope: Scope, rid: str, status: int, seconds: float) -> None:
        route = route_of(scope)
        REQUESTS.labels(scope.get("method", ""), route, str(status)).inc()
        LATENCY.labels(route).observe(seconds)
        if log.isEnabledFor(logging.INFO):
            log.info(json.dumps({"request_id": rid, "method": scope.get("method"),
                                 "route": route, "status": status,
                                 "ms": round(seconds * 1000, 2), "pid": os.getpid()},
                                separators=(",", ":")))
