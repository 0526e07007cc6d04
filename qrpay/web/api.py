"""The JSON API under ``/api/v1``: scan resolver, bill look-up, payment callbacks.

The resolver and the bill look-up need ``Authorization: Bearer <API key>`` (made with
``qrpay apikey create``).  Callbacks are authenticated by their signature instead, which
``qrpay.channels.check`` checks on the raw body bytes.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from qrpay.apikeys import ApiKey, KeyCache
from qrpay.bills import Bill
from qrpay.config import Config
from qrpay.errors import AuthError, NotFound, ValidationError
from qrpay.money import to_decimal_str
from qrpay.payments.ledger import BillStatus
from qrpay.payments.reads import Reader
from qrpay.web.limits import (
    CALLBACK_BODY_LIMIT,
    MAX_SCAN_PAYLOAD,
    SCAN_BODY_LIMIT,
    refuse_nul,
    too_large,
)
from qrpay.web.pages import clean_bill_no, today_for_bill

MAX_SCAN_BODY = SCAN_BODY_LIMIT
MAX_CALLBACK_BODY = CALLBACK_BODY_LIMIT


def require_key(request: Request) -> ApiKey:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise AuthError("send the API key as 'Authorization: Bearer <key>'",
                        code="missing_api_key")
    cache: KeyCache = request.app.state.keys
    record = cache.verify(request.app.state.store, key.strip())
    record.require("scan")  # the resolver and the bill look-up: the scan scope
    return record


def status_dict(status: BillStatus, currency: str) -> dict[str, Any]:
    return {
        "state": status.state, "due_now": to_decimal_str(status.due_now),
        "paid": to_decimal_str(status.paid), "balance": to_decimal_str(status.balance),
        "currency": currency, "receipts": list(status.receipts),
    }


def bill_json(config: Config, bill: Bill, status: BillStatus) -> dict[str, Any]:
    biller = config.billers.get(bill.biller)
    currency = biller.currency if biller else ""
    return {"bill": bill.as_dict(), "status": status_dict(status, currency)}


def _bill_and_status(request: Request, bill_no: str, *, required: bool
                     ) -> tuple[Bill | None, BillStatus | None]:
    config: Config = request.app.state.config
    reader: Reader = request.app.state.reader
    found = reader.bill_and_status(bill_no, lambda b: today_for_bill(config, b))
    if found is None or found[0].biller not in config.billers:
        if required:
            raise NotFound(f"no bill {bill_no}", code="unknown_bill", field="bill_no")
        return None, None
    return found


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused (413 ``too_large``) as soon as it passes ``limit``
    (``qrpay.web.limits.EdgeLimits`` refuses it earlier when the route's limit is lower)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def _json_body(request: Request, limit: int) -> dict[str, Any]:
    raw = await read_body(request, limit)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("body is not JSON", code="invalid_json") from None
    if not isinstance(data, dict):
        raise ValidationError("body must be a JSON object", code="invalid_json")
    return data


async def scan(request: Request) -> Response:
    """Resolve a scanned QR payload (UPI URI, EMV string, bill-page URL or bill number)."""
    require_key(request)
    data = await _json_body(request, MAX_SCAN_BODY)
    text = data.get("payload")
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("payload must be a non-empty string", code="missing_payload",
                              field="payload")
    refuse_nul(text, "payload")
    if len(text) > MAX_SCAN_PAYLOAD:
        raise ValidationError(f"payload is longer than {MAX_SCAN_PAYLOAD} characters",
                              code="payload_too_long", field="payload")
    from qrpay.payload import resolve

    config: Config = request.app.state.config
    res = resolve(text, config)
    out: dict[str, Any] = {
        "verdict": res.verdict, "code": res.code, "format": res.format,
        "biller": res.biller, "bill_no": res.bill_no,
        "amount": None if res.amount is None else to_decimal_str(res.amount),
        "bill": None, "status": None,
    }
    if res.bill_no and res.verdict in ("genuine", "altered"):
        bill, status = _bill_and_status(request, res.bill_no, required=False)
        if bill is not None and status is not None:
            out.update(bill_json(config, bill, status))
    return JSONResponse(out)


async def get_bill_api(request: Request) -> Response:
    """One bill with its status today."""
    require_key(request)
    bill_no = clean_bill_no(request.path_params["bill_no"])
    bill, status = _bill_and_status(request, bill_no, required=True)
    assert bill is not None and status is not None
    return JSONResponse(bill_json(request.app.state.config, bill, status))


async def callback(request: Request) -> Response:
    """A payment channel's callback; verified on the raw bytes and posted exactly once.

    Posted by the process's group-commit writer (``qrpay.web.gate.callback_writer``); the
    answer comes back only after the callback's transaction committed."""
    raw = await read_body(request, MAX_CALLBACK_BODY)
    from qrpay.channels import submit
    from qrpay.web.gate import callback_writer

    remote = request.client.host if request.client else None
    state = request.app.state
    future = submit(callback_writer(state), state.config, request.path_params["channel"],
                    dict(request.headers), raw, remote)
    result = await asyncio.wrap_future(future)
    return JSONResponse(result.body, status_code=result.status)


ROUTES = [
    Route("/api/v1/scan", scan, methods=["POST"]),
    Route("/api/v1/bills/{bill_no}", get_bill_api, methods=["GET"]),
    Route("/api/v1/callbacks/{channel}", callback, methods=["POST"]),
]
