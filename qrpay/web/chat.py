"""Chat endpoints: the WhatsApp Cloud API webhook and the USSD gateways.

- ``GET  /api/v1/chat/whatsapp``: Meta's subscription check (``hub.*``), 200 + challenge
  or 403.
- ``POST /api/v1/chat/whatsapp``: messages and statuses; 401 on a bad signature (nothing
  processed), else 200 once every message in it has been answered (its replies committed
  to the outbox).
- ``POST /api/v1/chat/ussd/at``: Africa's Talking (form in, ``text/plain`` ``CON``/``END``).
- ``POST /api/v1/chat/ussd/bdapps``: bdapps-style JSON in, ``{"statusCode": "S1000"}``
  out; the screen goes to the gateway's send URL.

The :class:`~qrpay.chat.service.ChatService` and the chat sender thread are made by
:func:`start` (called from the app's lifespan).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from qrpay.chat import settings as chat_settings
from qrpay.chat.confirm import confirm_payments
from qrpay.chat.sender import Claim, Transport, run_sender
from qrpay.chat.service import ChatService
from qrpay.chat.ussd import at_step, bdapps_step
from qrpay.chat.whatsapp import SIGNATURE_HEADER, handle_webhook_async, verify_subscription
from qrpay.chat.writer import GroupWriter
from qrpay.config import Config
from qrpay.errors import ValidationError
from qrpay.store import Store
from qrpay.web import desk_complaints

log = logging.getLogger("qrpay.chat")

MAX_WEBHOOK_BODY = 64 * 1024  # also the edge default (qrpay.web.limits)
MAX_USSD_BODY = 8 * 1024
CONFIRM_EVERY = 0.25  # seconds between looks for payments to confirm (real time enough)


class ChatRuntime:
    """The service, and the sender thread delivering chat's outbox rows."""

    def __init__(self, config: Config, store: Store) -> None:
        self.service = ChatService(config, store)
        self.service.writer = GroupWriter(store)
        self.wake = threading.Event()
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.transport: Transport | None = None
        self._confirmed_at = -CONFIRM_EVERY

    def confirm(self) -> None:
        """The confirmation fan-out, after a sender pass: at most every ``CONFIRM_EVERY``
        seconds (under load a pass takes milliseconds, and each look for posted payments
        is a query over the watches)."""
        now = time.monotonic()
        if now - self._confirmed_at < CONFIRM_EVERY:
            return
        self._confirmed_at = now
        s = self.service
        if confirm_payments(s.store, s.config, s.flows, s.settings):
            self.wake.set()

    def start_sender(self, interval: float = 0.5) -> None:
        self.transport = Transport(self.service.settings)
        self.thread = threading.Thread(
            target=run_sender, args=(self.service.store, self.transport, self.stop, self.wake,
                                     interval, self.confirm),
            kwargs={"writer": self.service.writer}, name="qrpay-chat-sender", daemon=True)
        self.thread.start()

    def hand(self) -> Callable[[list[Claim]], None] | None:
        """Where a turn's replies go after its commit: the running sender, or nowhere
        (they wait in the outbox as ``pending`` for whoever delivers it)."""
        if self.thread is None or self.transport is None:
            return None
        return self.transport.hand

    def close(self) -> None:
        # the sender first: its last outcomes go through the writer
        self.stop.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
        if self.transport is not None:
            self.transport.close()
        if self.service.writer is not None:
            self.service.writer.close()
            self.service.writer = None


def runtime(request: Request) -> ChatRuntime:
    rt: ChatRuntime | None = getattr(request.app.state, "chat", None)
    if rt is None:
        rt = ChatRuntime(request.app.state.config, request.app.state.store)
        request.app.state.chat = rt
    return rt


async def _body(request: Request, limit: int) -> bytes:
    body = await request.body()
    if len(body) > limit:
        raise ValidationError(f"body over {limit} bytes", code="too_large")
    return body


async def whatsapp_verify(request: Request) -> Response:
    challenge = verify_subscription(dict(request.query_params), chat_settings.verify_token())
    if challenge is None:
        return PlainTextResponse("forbidden", status_code=403)
    return PlainTextResponse(challenge)


async def whatsapp_webhook(request: Request) -> Response:
    body = await _body(request, MAX_WEBHOOK_BODY)
    rt = runtime(request)
    # on the event loop: verifying and parsing take tens of microseconds, and the turns
    # go to the group-commit writer, whose future settles after the commit
    result = await handle_webhook_async(rt.service, body,
                                        request.headers.get(SIGNATURE_HEADER),
                                        chat_settings.app_secret(), rt.hand())
    if result.answered:
        rt.wake.set()
    return JSONResponse(result.as_dict())


def _form_fields(body: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body as fields, decoded as Starlette's
    form parser decodes them (raw bytes as Latin-1, %-escapes as UTF-8; the last of a
    repeated name), without that streaming parser, which cost a tenth of a hop."""
    return dict(urllib.parse.parse_qsl(body.decode("latin-1"), keep_blank_values=True,
                                       encoding="utf-8", errors="replace"))


async def ussd_at(request: Request) -> Response:
    body = await _body(request, MAX_USSD_BODY)
    if request.headers.get("content-type", "").split(";")[0].strip().lower() == \
            "application/x-www-form-urlencoded":
        fields = _form_fields(body)
    else:  # multipart and the rest: Starlette's parser
        form = await request.form()
        fields = {k: str(v) for k, v in form.items()}
    service = runtime(request).service
    answer = await service.submit(at_step(service, fields))
    return PlainTextResponse(answer.africas_talking())


async def ussd_bdapps(request: Request) -> Response:
    body = await _body(request, MAX_USSD_BODY)
    try:
        payload: Any = json.loads(body)
    except ValueError:
        raise ValidationError("body is not JSON", code="bad_json") from None
    if not isinstance(payload, dict) or not payload.get("sessionId"):
        raise ValidationError("bdapps request needs sessionId", code="bad_payload",
                              field="sessionId")
    rt = runtime(request)
    await rt.service.submit(bdapps_step(rt.service, payload))
    rt.wake.set()
    return JSONResponse({"statusCode": "S1000", "statusDetail": "Success"})


ROUTES: list[BaseRoute] = [
    *desk_complaints.ROUTES,
    Route("/api/v1/chat/whatsapp", whatsapp_verify, methods=["GET"]),
    Route("/api/v1/chat/whatsapp", whatsapp_webhook, methods=["POST"]),
    Route("/api/v1/chat/ussd/at", ussd_at, methods=["POST"]),
    Route("/api/v1/chat/ussd/bdapps", ussd_bdapps, methods=["POST"]),
]


_ERROR = {"$ref": "#/components/responses/Error"}
_TEXT = {"text/plain": {"schema": {"type": "string"}}}
_JSON_OBJ = {"application/json": {"schema": {"type": "object"}}}

#: These endpoints in ``/openapi.json`` (merged by :mod:`qrpay.web.openapi`).
OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/chat/whatsapp": {
        "get": {
            "summary": "WhatsApp Cloud API webhook verification",
            "description": "Answers hub.challenge when hub.mode=subscribe and "
                           "hub.verify_token equals QRPAY_WHATSAPP_VERIFY_TOKEN.",
            "parameters": [{"name": n, "in": "query", "required": False,
                            "schema": {"type": "string"}}
                           for n in ("hub.mode", "hub.verify_token", "hub.challenge")],
            "responses": {"200": {"description": "The challenge.", "content": _TEXT},
                          "403": {"description": "Wrong token or mode.", "content": _TEXT}},
        },
        "post": {
            "summary": "WhatsApp Cloud API webhook: messages and statuses",
            "description": "X-Hub-Signature-256 (HMAC-SHA256 of the raw body under "
                           "QRPAY_WHATSAPP_APP_SECRET) is checked before parsing.  Every "
                           "message is answered once (message id), replies go out through "
                           "the Graph API from the outbox; statuses only move forward.",
            "parameters": [{"name": "X-Hub-Signature-256", "in": "header", "required": True,
                            "schema": {"type": "string"}}],
            "requestBody": {"required": True, "content": _JSON_OBJ},
            "responses": {"200": {"description": "Counts of messages answered, duplicates, "
                                                 "ignored (other phone_number_id), statuses.",
                                  "content": _JSON_OBJ},
                          "401": _ERROR, "400": _ERROR, "422": _ERROR},
        },
    },
    "/api/v1/chat/ussd/at": {"post": {
        "summary": "USSD, Africa's Talking callback",
        "description": "Form fields sessionId, serviceCode, phoneNumber, networkCode, text "
                       "(every input so far joined by *).  Answer text/plain starting "
                       "'CON ' or 'END ', at most 182 GSM-7 or 80 UCS-2 characters.",
        "requestBody": {"required": True, "content": {
            "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
                k: {"type": "string"} for k in ("sessionId", "serviceCode", "phoneNumber",
                                                 "networkCode", "text")}}}}},
        "responses": {"200": {"description": "CON/END screen.", "content": _TEXT},
                      "400": _ERROR, "422": _ERROR},
    }},
    "/api/v1/chat/ussd/bdapps": {"post": {
        "summary": "USSD, bdapps-style asynchronous request",
        "description": "JSON with sessionId, ussdOperation (mo-init, mo-cont), sourceAddress "
                       "(tel:880...), message (the latest input).  The screen is POSTed to "
                       "the gateway's send URL ([chat.ussd] bdapps_url) as mt-cont/mt-fin.",
        "requestBody": {"required": True, "content": _JSON_OBJ},
        "responses": {"200": {"description": "Accepted (statusCode S1000).",
                              "content": _JSON_OBJ},
                      "400": _ERROR, "422": _ERROR},
    }},
}
