"""Routes of the biller API: ``/api/v1/biller/{channel}/{operation}``.

The channel's dialect (profile ``[channels.<name>] biller_api``) decides what the
operation path means (bKash ``queryBill``, BBPS ``bills/fetch``, GSMA
``accounts/{type}/{id}/bills``...).  The web layer only reads the body (form or JSON,
size-limited), waits when the channel is slowed down after wrong passwords, and hands
the request to :func:`qrpay.biller.service.handle` in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message

from qrpay.biller import guard, service, writer
from qrpay.biller.dialects import get as get_dialect
from qrpay.config import Config
from qrpay.errors import NotFound, ValidationError
from qrpay.web.api import read_body

MAX_BODY = 32 * 1024


async def _form(request: Request, raw: bytes) -> dict[str, Any]:
    async def replay() -> Message:
        return {"type": "http.request", "body": raw, "more_body": False}

    form = await Request(request.scope, replay).form()
    return {k: v for k, v in form.multi_items() if isinstance(v, str)}


async def _fields(request: Request, raw: bytes) -> dict[str, Any]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        try:
            return dict(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True))
        except UnicodeDecodeError:
            raise ValidationError("form is not UTF-8", code="malformed_request") from None
    if kind == "multipart/form-data":
        return await _form(request, raw)
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("body is not JSON or a form", code="malformed_request") from None
    return data if isinstance(data, dict) else {"_": data}


# path under /api/v1/biller/{channel} -> {HTTP method: operation of the dialect}
OPERATIONS: dict[str, dict[str, str]] = {
    # bKash Pay Bill
    "/queryBill": {"POST": "queryBill"},
    "/payBill": {"POST": "payBill"},
    "/searchTransaction": {"POST": "searchTransaction"},
    # BBPS biller contract (Setu)
    "/bills/fetch": {"POST": "bills/fetch"},
    "/bills/fetchReceipt": {"POST": "bills/fetchReceipt"},
    # GSMA Mobile Money API v1.2 bill payments: single and multiple identifiers
    "/accounts/{identifierType}/{identifier}/bills": {"GET": "bills"},
    "/accounts/{accountIds}/bills": {"GET": "bills"},
    "/accounts/{identifierType}/{identifier}/bills/{billReference}/payments": {
        "POST": "createPayment", "GET": "listPayments"},
    "/accounts/{accountIds}/bills/{billReference}/payments": {
        "POST": "createPayment", "GET": "listPayments"},
    "/bills/{billReference}/payments": {"POST": "createPayment", "GET": "listPayments"},
    # Rocket (Dutch-Bangla Bank)
    "/validation": {"POST": "validation"},
    "/confirmation": {"POST": "confirmation"},
    "/inquiry": {"POST": "inquiry"},
}
PREFIX = "/api/v1/biller/{channel}"


def _operation(config: Config, channel: str, suffix: str, method: str) -> tuple[str, bool]:
    """The dialect's operation for this route and method, and whether it writes in a
    transaction of its own (names no bills for the group-commit writer to lock)."""
    dialect = get_dialect(service.channel_api(config, channel).dialect)
    op = OPERATIONS[suffix].get(method)
    if op is None or op not in dialect.OPS:
        raise NotFound(f"the {dialect.NAME} dialect has no {method} {suffix}",
                       code="unknown_operation")
    return op, dialect.OPS[op].writes and dialect.OPS[op].bills is None


async def biller_api(request: Request, suffix: str) -> Response:
    config: Config = request.app.state.config
    store = request.app.state.store
    writer.set_gate(store, request.app.state.write_gate.held)  # once per store
    params = dict(request.path_params)
    channel = params.pop("channel")
    op, alone = _operation(config, channel, suffix, request.method)
    delay = guard.delay_for(store, channel)  # a dict look-up; the database once a second
    if delay:
        await asyncio.sleep(delay)
    raw = await read_body(request, MAX_BODY)
    query = dict(request.query_params) if request.method == "GET" else {}
    try:
        fields: dict[str, Any] = {**query, **await _fields(request, raw)}
        malformed = False
    except ValidationError:  # answered in the channel's own words, and journalled
        fields, malformed = query, True
    req = service.Request(body=raw, headers=dict(request.headers), fields=fields,
                          malformed=malformed, biller=request.query_params.get("biller"),
                          remote=request.client.host if request.client else None,
                          path=params)
    if alone and not store.is_sqlite:  # its own PostgreSQL transaction: a worker thread
        answer, body = await run_in_threadpool(service.handle, store, config, channel, op,
                                               req)
    else:  # a read (one indexed statement, as the scan API does) or the writer's future
        got = service.start(store, config, channel, op, req)
        answer, body = await asyncio.wrap_future(got) if isinstance(got, Future) else got
    return Response(body, status_code=answer.status, media_type="application/json",
                    headers=dict(answer.headers))


def _endpoint(suffix: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await biller_api(request, suffix)

    endpoint.__name__ = "biller_api" + suffix.replace("/", "_").replace("{", "").replace(
        "}", "")
    return endpoint


ROUTES = [Route(PREFIX + suffix, _endpoint(suffix), methods=list(methods))
          for suffix, methods in OPERATIONS.items()]
