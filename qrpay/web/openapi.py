"""``GET /openapi.json``: the public HTTP contract, written by hand (OpenAPI 3.0.3).

``tests/web/test_openapi.py`` checks that it validates and that every route the app
serves (apart from the counter desk's own pages and the static files) is described.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from qrpay import __version__
from qrpay.money import AMOUNT_PATTERN
from qrpay.payments.batch import LENGTHS
from qrpay.web.chat import OPENAPI_PATHS as CHAT_PATHS
from qrpay.web.limits import MAX_SCAN_PAYLOAD, SCAN_BODY_LIMIT
from qrpay.web.pages import MAX_BILL_NO

_ERR = {"$ref": "#/components/responses/Error"}
_BILL_NO = {"name": "bill_no", "in": "path", "required": True, "schema": {"type": "string"},
            "description": "Bill number, e.g. 2202104231245 (Bangladesh) or B2411100000000."}
_TOKEN = {"name": "t", "in": "query", "required": False, "schema": {"type": "string"},
          "description": "The token from the URL printed in the bill's QR code."}
_HTML = {"text/html": {"schema": {"type": "string"}}}


def _amount(desc: str) -> dict[str, Any]:
    return {"type": "string", "pattern": r"^-?\d+\.\d{2}$", "description": desc}


SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["error"],
        "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Stable machine-readable code."},
                "message": {"type": "string"},
                "field": {"type": "string"},
            }}},
    },
    "Bill": {
        "type": "object",
        "properties": {
            "bill_no": {"type": "string"}, "biller": {"type": "string"},
            "account_no": {"type": "string"}, "name": {"type": "string"},
            "period": {"type": "string", "pattern": r"^\d{4}-\d{2}$"},
            "amount": _amount("Payable by the due date."),
            "due_date": {"type": "string", "format": "date"},
            "late_amount": {**_amount("Payable after the due date."), "nullable": True},
            "arrears": _amount("Arrears included in the amount."),
            "mobile": {"type": "string", "nullable": True},
            "category": {"type": "string", "nullable": True},
            "area": {"type": "string", "nullable": True},
            "units": {"type": "integer", "nullable": True},
            "address": {"type": "string", "nullable": True},
            "language": {"type": "string", "nullable": True},
            "meter_no": {"type": "string", "nullable": True},
            "history": {"type": "array", "items": {"type": "integer"}},
            "charges": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
    "BillStatus": {
        "type": "object", "required": ["state", "due_now", "paid", "balance", "receipts"],
        "properties": {
            "state": {"type": "string",
                      "enum": ["unpaid", "part_paid", "paid", "credit", "nothing_due"]},
            "due_now": _amount("What to pay today (late fee included after the due date)."),
            "paid": _amount("Net of payments, reversals and cancellations."),
            "balance": _amount("Still owed on the bill; negative is a credit."),
            "currency": {"type": "string"},
            "receipts": {"type": "array", "items": {"type": "string"}},
        },
    },
    "BillWithStatus": {
        "type": "object", "required": ["bill", "status"],
        "properties": {"bill": {"$ref": "#/components/schemas/Bill"},
                       "status": {"$ref": "#/components/schemas/BillStatus"}},
    },
    "ScanRequest": {
        "type": "object", "required": ["payload"],
        "properties": {"payload": {
            "type": "string", "minLength": 1, "maxLength": MAX_SCAN_PAYLOAD,
            "description": "What the scanner read: a UPI URI, an EMV (Bharat/Bangla QR) "
                           "string, a bill-page URL or a bill number.  Empty or blank: 422 "
                           "missing_payload; longer: 422 payload_too_long; a body over "
                           f"{SCAN_BODY_LIMIT} bytes: 413 too_large."}},
    },
    "ScanResult": {
        "type": "object", "required": ["verdict"],
        "properties": {
            "verdict": {"type": "string",
                        "enum": ["genuine", "altered", "foreign", "invalid"],
                        "description": "genuine: made by this deployment and unchanged; "
                                       "altered: ours but changed (payee, amount, CRC); "
                                       "foreign: a valid payment QR of someone else; "
                                       "invalid: not a payment QR we can read."},
            "code": {"type": "string", "nullable": True,
                     "description": "Why, when the verdict is not genuine."},
            "format": {"type": "string", "nullable": True},
            "biller": {"type": "string", "nullable": True},
            "bill_no": {"type": "string", "nullable": True},
            "amount": {**_amount("Amount in the payload."), "nullable": True},
            "bill": {"allOf": [{"$ref": "#/components/schemas/Bill"}], "nullable": True},
            "status": {"allOf": [{"$ref": "#/components/schemas/BillStatus"}],
                       "nullable": True},
        },
    },
    "Callback": {
        "type": "object", "required": ["txn_id", "bill_no", "amount", "currency", "status"],
        "description": "The generic signed contract.  Header X-Qrpay-Signature: "
                       "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, '<t>.<raw body>')>.",
        "properties": {
            "event_id": {"type": "string", "maxLength": 100},
            "txn_id": {"type": "string", "minLength": 1, "maxLength": LENGTHS["txn_id"],
                       "description": "The channel's id of the payment: posted once per "
                                      "(channel, txn_id); longer is refused."},
            "bill_no": {"type": "string", "minLength": 1, "maxLength": MAX_BILL_NO,
                        "description": "Any case and Bengali or Devanagari digits are "
                                       "taken (b2611... is B2611...)."},
            "amount": {"type": "string", "pattern": AMOUNT_PATTERN,
                       "description": "Amount paid as a decimal string (a JSON number is "
                                      "refused): ASCII, Bengali or Devanagari digits, "
                                      "Indian grouping (1,23,456.50) allowed, two decimals "
                                      "at most."},
            "currency": {"type": "string", "enum": ["INR", "BDT"],
                         "description": "Must be the biller's currency."},
            "status": {"type": "string", "enum": ["success", "failed", "pending", "reversed"]},
            "paid_at": {"type": "string", "format": "date-time",
                        "description": "ISO 8601 with a UTC offset (stored as UTC)."},
            "payer": {"type": "string"}, "utr": {"type": "string"},
        },
    },
    "RazorpayWebhook": {
        "type": "object", "required": ["event", "payload"],
        "description": "Razorpay's webhook (channels with adapter = \"razorpay\"), signed "
                       "with X-Razorpay-Signature: hex HMAC-SHA256 of the raw body.  "
                       "Amounts are integer paise; the bill is payload.payment.entity."
                       "notes.bill_no.",
        "properties": {
            "entity": {"type": "string", "enum": ["event"]},
            "event": {"type": "string", "description": "payment.captured, payment.failed, "
                                                         "payment.authorized, "
                                                         "refund.processed; others ignored."},
            "contains": {"type": "array", "items": {"type": "string"}},
            "payload": {"type": "object", "properties": {"payment": {
                "type": "object", "required": ["entity"], "properties": {"entity": {
                    "type": "object", "required": ["id", "amount", "currency", "notes"],
                    "properties": {
                        "id": {"type": "string"},
                        "amount": {"type": "integer", "minimum": 1},
                        "currency": {"type": "string", "enum": ["INR"]},
                        "status": {"type": "string"},
                        "notes": {"type": "object", "required": ["bill_no"],
                                  "properties": {"bill_no": {"type": "string"}}},
                        "created_at": {"type": "integer"},
                    }}}}}},
        },
    },
    "PhonePeCallback": {
        "type": "object", "required": ["response"],
        "description": "PhonePe PG's server-to-server callback (adapter = \"phonepe\"), "
                       "with X-VERIFY: <hex SHA256(response + salt key)>###<salt index>.  "
                       "response is base64 of {success, code, data: {merchantId, "
                       "merchantTransactionId = <bill_no>_<attempt>, transactionId, amount "
                       "(paise), state, paymentInstrument: {type, utr}}}.",
        "properties": {"response": {"type": "string", "format": "byte"}},
    },
    "CallbackResult": {
        "type": "object", "required": ["result"],
        "properties": {
            "result": {"type": "string",
                       "description": "posted, duplicate, recorded, reversed, ..."},
            "receipt_no": {"type": "string", "nullable": True},
        },
        "additionalProperties": True,
    },
    "Health": {
        "type": "object", "required": ["status", "database"],
        "properties": {"status": {"type": "string", "enum": ["ok", "unavailable"]},
                       "database": {"type": "string"}},
    },
    "Ready": {
        "type": "object", "required": ["ready", "database", "schema", "secrets"],
        "properties": {
            "ready": {"type": "boolean"},
            "database": {"type": "string", "enum": ["ok", "unreachable"]},
            "schema": {"type": "string"},
            "secrets": {"oneOf": [
                {"type": "string", "enum": ["ok"]},
                {"type": "object", "required": ["missing"], "properties": {
                    "missing": {"type": "array", "items": {"type": "string"}}}}]},
        },
    },
}

PATHS: dict[str, Any] = {
    "/b/{bill_no}": {"get": {
        "summary": "Bill page (the URL inside the printed QR)",
        "description": "Mobile-first HTML in the consumer's language.  Without a valid "
                       "token: a neutral page with nothing personal on it.",
        "parameters": [_BILL_NO, _TOKEN,
                       {"name": "lang", "in": "query", "required": False,
                        "schema": {"type": "string", "maxLength": 8},
                        "description": "A language the bill offers (the biller's, and "
                                       "en: e.g. hi, mr, bn, en); any other value is "
                                       "ignored and the bill's own language shown."}],
        "responses": {"200": {"description": "The bill page, or the neutral page.",
                              "content": _HTML}},
    }},
    "/B/{bill_no}/{token}": {"get": {
        "summary": "Bill page as the printed QR spells it",
        "description": "The URL inside a bill's QR: scheme and host in upper case, the "
                       "80-bit token in the path (QR alphanumeric characters only, for a "
                       "small symbol).  Redirects to /b/{bill_no}?t={token}; a token of "
                       "the wrong shape gets the neutral page.",
        "parameters": [_BILL_NO,
                       {"name": "token", "in": "path", "required": True,
                        "schema": {"type": "string", "maxLength": 40},
                        "description": "The token, e.g. K1.MFRGGZDFMZTWQ2LK."}],
        "responses": {"302": {"description": "To the bill page with the token."},
                      "200": {"description": "The neutral page.", "content": _HTML}},
    }},
    "/b/{bill_no}/qr.svg": {"get": {
        "summary": "The bill's dynamic payment QR with today's amount (SVG)",
        "parameters": [_BILL_NO, _TOKEN],
        "responses": {"200": {"description": "SVG image",
                              "content": {"image/svg+xml": {"schema": {"type": "string"}}}},
                      "404": {"description": "Unknown bill, bad token or nothing due.",
                              "content": _HTML}},
    }},
    "/b/{bill_no}/qr.png": {"get": {
        "summary": "The bill's dynamic payment QR with today's amount (PNG)",
        "parameters": [_BILL_NO, _TOKEN],
        "responses": {"200": {"description": "PNG image", "content": {
            "image/png": {"schema": {"type": "string", "format": "binary"}}}},
            "404": {"description": "Unknown bill, bad token or nothing due.",
                    "content": _HTML}},
    }},
    "/b/{bill_no}/bill.pdf": {"get": {
        "summary": "The e-bill as PDF",
        "parameters": [_BILL_NO, _TOKEN],
        "responses": {"200": {"description": "PDF", "content": {
            "application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
            "404": {"description": "Unknown bill or bad token.", "content": _HTML}},
    }},
    "/b/{bill_no}/receipt/{receipt_no}.pdf": {"get": {
        "summary": "The receipt of a payment on the bill (online or counter) as PDF",
        "parameters": [_BILL_NO, {"name": "receipt_no", "in": "path", "required": True,
                                  "schema": {"type": "string", "maxLength": 60}}, _TOKEN],
        "responses": {"200": {"description": "PDF", "content": {
            "application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
            "404": {"description": "Unknown bill or receipt, or bad token.",
                    "content": _HTML}},
    }},
    "/api/v1/scan": {"post": {
        "summary": "Resolve a scanned payload: bill, authenticity verdict and status",
        "security": [{"apiKey": []}],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/ScanRequest"}}}},
        "responses": {"200": {"description": "Resolved (see verdict).", "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ScanResult"}}}},
            "401": _ERR, "413": _ERR, "422": _ERR},
    }},
    "/api/v1/bills/{bill_no}": {"get": {
        "summary": "One bill with its status today",
        "security": [{"apiKey": []}],
        "parameters": [_BILL_NO],
        "responses": {"200": {"description": "The bill.", "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/BillWithStatus"}}}},
            "401": _ERR, "404": _ERR},
    }},
    "/api/v1/callbacks/{channel}": {"post": {
        "summary": "Payment callback from a channel, posted exactly once per txn_id",
        "description": "The generic contract is signed with X-Qrpay-Signature; channels "
                       "with a PSP adapter (Razorpay, PhonePe) use that PSP's own format "
                       "and signature header.  The answer comes after the posting commits; "
                       "repeats get the same answer.",
        "parameters": [{"name": "channel", "in": "path", "required": True,
                        "schema": {"type": "string"}},
                       {"name": "X-Qrpay-Signature", "in": "header", "required": False,
                        "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"oneOf": [{"$ref": "#/components/schemas/Callback"},
                                 {"$ref": "#/components/schemas/RazorpayWebhook"},
                                 {"$ref": "#/components/schemas/PhonePeCallback"}]},
        }}},
        "responses": {
            "200": {"description": "Posted, or a repeat of one already answered.",
                    "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/CallbackResult"}}}},
            "400": _ERR, "401": _ERR, "404": _ERR, "409": _ERR, "413": _ERR, "422": _ERR},
    }},
    "/healthz": {"get": {
        "summary": "Liveness and database reachability",
        "responses": {"200": {"description": "Healthy.", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Health"}}}},
            "503": {"description": "Database unreachable.", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Health"}}}}},
    }},
    "/readyz": {"get": {
        "summary": "Readiness: database reachable, schema current, secrets present",
        "responses": {"200": {"description": "Ready to take traffic.", "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Ready"}}}},
            "503": {"description": "Not ready; the reasons (missing secrets by name).",
                    "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Ready"}}}}},
    }},
    "/metrics": {"get": {
        "summary": "Prometheus metrics (loopback, or Authorization: Bearer $QRPAY_METRICS_TOKEN)",
        "responses": {"200": {"description": "Prometheus text exposition format.", "content": {
            "text/plain": {"schema": {"type": "string"}}}},
            "403": {"description": "Not loopback and no valid token.", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
    }},
    "/openapi.json": {"get": {
        "summary": "This document",
        "responses": {"200": {"description": "OpenAPI 3.0 document.", "content": {
            "application/json": {"schema": {"type": "object"}}}}},
    }},
    # the admin pages (qrpay.web.admin) live under /desk/admin, behind the desk's login
    "/admin": {"get": {"summary": "Redirect to the admin pages (/desk/admin)",
                       "responses": {"303": {"description": "To /desk/admin."}}}},
    "/admin/recon": {"get": {"summary": "Redirect to the exceptions queue (/desk/admin/recon)",
                             "responses": {"303": {"description": "To /desk/admin/recon."}}}},
}

# the biller API (qrpay.biller): its paths and schemas live beside its routes
from qrpay.web.biller_openapi import BILLER_PATHS, BILLER_SCHEMAS, SECURITY_SCHEMES  # noqa: E402

PATHS.update(BILLER_PATHS)
SCHEMAS.update(BILLER_SCHEMAS)


_NUL = {"description": "A NUL character in the address (nul_character): refused by "
                       "qrpay.web.limits before any route.", "content": {
                           "application/json": {"schema": {"$ref": "#/components/schemas/Error"}},
                           **_HTML}}
_TOO_LARGE = {"description": "The body is larger than the route takes (too_large).",
              "content": {"application/json": {"schema": {
                  "$ref": "#/components/schemas/Error"}}}}


_RATE_LIMITED = {"description": "Over the client's rate limit (rate_limited); try again "
                               "after Retry-After seconds.",
                 "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
                 "content": {"application/json": {"schema": {
                     "$ref": "#/components/schemas/Error"}}}}


def _limited(path: str) -> bool:
    from qrpay.web.ratelimit import EXEMPT

    return not path.startswith(EXEMPT)


def with_edge_answers(paths: dict[str, Any]) -> dict[str, Any]:
    """Every operation can be answered 400 (a NUL in the address) and, with a body, 413:
    the edge limits (``qrpay.web.limits``) apply to every route; 429 where the rate
    limits apply, 403 where an API key's scopes are checked."""
    out: dict[str, Any] = {}
    for path, item in paths.items():
        out[path] = {}
        for method, op in item.items():
            responses = dict(op.get("responses", {}))
            responses.setdefault("400", _NUL)
            if "requestBody" in op:
                responses.setdefault("413", _TOO_LARGE)
            if _limited(path):  # qrpay.web.ratelimit
                responses.setdefault("429", _RATE_LIMITED)
            if any("apiKey" in sec for sec in op.get("security", [])):  # a key's scopes
                responses.setdefault("403", _ERR)
            out[path][method] = {**op, "responses": responses}
    return out


def spec() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "qrpay scan-to-pay service", "version": __version__,
                 "description": "Bill pages, scan resolver and payment callbacks.  Errors "
                                "are {\"error\": {\"code\", \"message\", \"field\"}}.",
                 "license": {"name": "Apache-2.0"}},
        "paths": with_edge_answers({**PATHS, **CHAT_PATHS}),
        "components": {
            "schemas": SCHEMAS,
            "responses": {"Error": {"description": "An error with a stable code.",
                                    "content": {"application/json": {"schema": {
                                        "$ref": "#/components/schemas/Error"}}}}},
            "securitySchemes": {"apiKey": {
                "type": "http", "scheme": "bearer",
                "description": "A key made with `qrpay apikey create NAME`."},
                **SECURITY_SCHEMES},
        },
    }


@cache
def _encoded() -> bytes:
    return json.dumps(spec(), ensure_ascii=False, indent=1).encode("utf-8")


async def openapi(request: Request) -> Response:
    """This API's OpenAPI 3 description."""
    return Response(_encoded(), media_type="application/json")
