"""The biller API's part of ``/openapi.json`` (merged by :mod:`qrpay.web.openapi`).

Field names are the channels' own (bKash, Setu BBPS, GSMA MMAPI v1.2, Rocket); see
``docs/channels.md`` for each contract and its source.
"""

from __future__ import annotations

from typing import Any

_REF = "#/components/schemas/"
_CHANNEL = {"name": "channel", "in": "path", "required": True, "schema": {"type": "string"},
            "description": "Channel name from the profile (its biller_api dialect decides "
                           "which operations exist)."}
_ERR = {"$ref": "#/components/responses/Error"}
_BILLER = {"name": "biller", "in": "query", "required": False, "schema": {"type": "string"},
           "description": "A per-biller URL: only this co-operative's bills (default: routed "
                          "by the account number's prefix or the bill number)."}


def _str(desc: str) -> dict[str, Any]:
    return {"type": "string", "description": desc}


def _form(*required: str, **props: str) -> dict[str, Any]:
    schema = {"type": "object", "required": ["UserName", "Password", *required],
              "properties": {"UserName": _str("Channel user name."),
                             "Password": _str("Channel password (compared in constant "
                                              "time)."),
                             **{k: _str(v) for k, v in props.items()}}}
    return {"required": True, "content": {
        "application/x-www-form-urlencoded": {"schema": schema},
        "multipart/form-data": {"schema": schema}}}


_BKASH_IDS = {"AccNo": "Account number (ASCII or Bengali digits).",
              "MeterNo": "Meter number.", "CustomerNo": "Account or registered mobile.",
              "BillNo": "Bill number (YYMM + account).", "RefID": "Bill reference.",
              "BillMonth": "MMYYYY (optional)."}


def _json(ref: str, desc: str = "Answer") -> dict[str, Any]:
    return {"description": desc, "content": {"application/json": {
        "schema": {"$ref": _REF + ref}}}}


def _op(summary: str, answer: str, *, body: dict[str, Any] | None = None,
        params: list[dict[str, Any]] | None = None, security: str = "channelBasic",
        errors: tuple[str, ...] = ()) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "tags": ["biller API"],
                          "parameters": [_CHANNEL, _BILLER, *(params or [])],
                          "responses": {"200": _json(answer),
                                        **{code: _json(answer, "Refused") for code in errors},
                                        "404": _ERR}}
    if security:
        op["security"] = [{security: []}]
    if body is not None:
        op["requestBody"] = body
    return op


def _path_param(name: str, desc: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"},
            "description": desc}


_GSMA_SINGLE = [_path_param("identifierType", "accountid, msisdn, meterid or billref"),
                _path_param("identifier", "The identifier's value.")]
_GSMA_MULTI = [_path_param("accountIds", "Up to 3 pairs type@value joined by $.")]
_GSMA_REF = _path_param("billReference", "billReference of a bill.")
_GSMA_PAGE = [{"name": "limit", "in": "query", "required": False,
               "schema": {"type": "integer", "default": 50}},
              {"name": "offset", "in": "query", "required": False,
               "schema": {"type": "integer", "default": 0}}]
_JSON_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "additionalProperties": True}}}}

BILLER_SCHEMAS: dict[str, Any] = {
    "BkashAnswer": {
        "type": "object", "required": ["ErrorCode", "ErrorMsg"],
        "description": "HTTP 200 always; the outcome is ErrorCode: 200 OK, 403 "
                       "authentication failed, 404 not found, 406 mandatory field "
                       "missing, 435 data mismatch, 436 already paid, 437 due date over, "
                       "438 minimum amount not paid, 439 amount differs.",
        "properties": {k: {"type": "string"} for k in (
            "ErrorCode", "ErrorMsg", "ConsumerName", "AccNo", "BillNo", "BillMonth",
            "BillAmount", "BillDueDate", "QueryTime", "AmountBreakdown", "TotalAmount",
            "TrxId", "MiddlewarePayTime", "RefNumber", "CustomMessage", "Status")}
        | {"Accounts": {"type": "array", "items": {"type": "object"},
                        "description": "Several accounts for one mobile (extension)."}},
    },
    "BbpsAnswer": {
        "type": "object", "required": ["status", "success"],
        "description": "Setu's biller contract: data.billDetails (billFetchStatus "
                       "AVAILABLE | NO_OUTSTANDING, bills[] in paise with "
                       "amountExactness), data.receipt {id, date}, or error {code, title, "
                       "detail, traceID}.",
        "properties": {"status": {"type": "integer"}, "success": {"type": "boolean"},
                       "data": {"type": "object"}, "error": {"type": "object"}},
    },
    "GsmaAnswer": {
        "type": "object", "additionalProperties": True,
        "description": "A bill list, a bill payment object, or an error object "
                       "{errorCategory, errorCode, errorDescription, errorDateTime}.",
    },
    "RocketAnswer": {
        "type": "object", "additionalProperties": True,
        "description": "{status, message, ...}: see docs/channels.md.",
    },
}

BILLER_PATHS: dict[str, Any] = {
    "/api/v1/biller/{channel}/queryBill": {"post": _op(
        "bKash: check bill", "BkashAnswer", security="",
        body=_form(**_BKASH_IDS, Amount="Amount to check (optional)."))},
    "/api/v1/biller/{channel}/payBill": {"post": _op(
        "bKash: pay bill (idempotent on TrxId)", "BkashAnswer", security="",
        body=_form("Amount", "TrxId", **_BKASH_IDS, Amount="Amount paid, e.g. 929.72.",
                   TrxId="bKash transaction id.", UserMobileNumber="Payer's wallet.",
                   PayTime="YYYYMMDDHHMMSS, biller's local time."))},
    "/api/v1/biller/{channel}/searchTransaction": {"post": _op(
        "bKash: transaction search", "BkashAnswer", security="",
        body=_form("TrxId", TrxId="bKash transaction id."))},
    "/api/v1/biller/{channel}/bills/fetch": {"post": _op(
        "BBPS (Setu): fetch bills", "BbpsAnswer", body=_JSON_BODY,
        errors=("400", "401", "403"))},
    "/api/v1/biller/{channel}/bills/fetchReceipt": {"post": _op(
        "BBPS (Setu): acknowledge a payment (deduplicated on uniquePaymentRefID)",
        "BbpsAnswer", body=_JSON_BODY, errors=("400", "401", "403", "500"))},
    "/api/v1/biller/{channel}/accounts/{identifierType}/{identifier}/bills": {"get": _op(
        "GSMA: outstanding bills of an account", "GsmaAnswer",
        params=_GSMA_SINGLE + _GSMA_PAGE, errors=("400", "401"))},
    "/api/v1/biller/{channel}/accounts/{accountIds}/bills": {"get": _op(
        "GSMA: outstanding bills (multiple identifiers)", "GsmaAnswer",
        params=_GSMA_MULTI + _GSMA_PAGE, errors=("400", "401"))},
    "/api/v1/biller/{channel}/accounts/{identifierType}/{identifier}/bills/"
    "{billReference}/payments": {
        "post": _op("GSMA: pay a bill", "GsmaAnswer", body=_JSON_BODY,
                    params=[*_GSMA_SINGLE, _GSMA_REF], errors=("400", "401")),
        "get": _op("GSMA: payments of a bill", "GsmaAnswer",
                   params=[*_GSMA_SINGLE, _GSMA_REF, *_GSMA_PAGE], errors=("400", "401"))},
    "/api/v1/biller/{channel}/accounts/{accountIds}/bills/{billReference}/payments": {
        "post": _op("GSMA: pay a bill (multiple identifiers)", "GsmaAnswer",
                    body=_JSON_BODY, params=[*_GSMA_MULTI, _GSMA_REF],
                    errors=("400", "401")),
        "get": _op("GSMA: payments of a bill (multiple identifiers)", "GsmaAnswer",
                   params=[*_GSMA_MULTI, _GSMA_REF, *_GSMA_PAGE], errors=("400", "401"))},
    "/api/v1/biller/{channel}/bills/{billReference}/payments": {
        "post": _op("GSMA: pay a bill by its reference alone", "GsmaAnswer", body=_JSON_BODY,
                    params=[_GSMA_REF], errors=("400", "401")),
        "get": _op("GSMA: payments of a bill by its reference alone", "GsmaAnswer",
                   params=[_GSMA_REF, *_GSMA_PAGE], errors=("400", "401"))},
    "/api/v1/biller/{channel}/validation": {"post": _op(
        "Rocket: validation (bill inquiry)", "RocketAnswer", body=_JSON_BODY,
        errors=("400", "401"))},
    "/api/v1/biller/{channel}/confirmation": {"post": _op(
        "Rocket: confirmation (idempotent on txnId; retried after a timeout)",
        "RocketAnswer", body=_JSON_BODY, errors=("400", "401", "409"))},
    "/api/v1/biller/{channel}/inquiry": {"post": _op(
        "Rocket: payment status (getPaymentStatus)", "RocketAnswer", body=_JSON_BODY,
        errors=("400", "401"))},
}

SECURITY_SCHEMES: dict[str, Any] = {
    "channelBasic": {"type": "http", "scheme": "basic",
                     "description": "Channel user name and password (BBPS, GSMA, Rocket)."},
}
