"""BBPS biller contract as Setu defines it (``shared/research/setu-bbps/``: fetch-pay.mdx,
errors.mdx, bill-structure.mdx, bbps.swagger.json operations ``fetchCustomerBills`` and
``fetchBillReceipt``).  JSON in, JSON out; HTTP Basic auth, or Setu's bearer JWT with
``auth = "jwt"`` on the channel (:func:`qrpay.biller.guard.authenticate_jwt`).

* ``POST .../bills/fetch`` ``{"customerIdentifiers": [{"attributeName",
  "attributeValue"}]}`` -> 200 ``data.billDetails.billFetchStatus`` ``AVAILABLE`` with
  ``bills[]`` (``billerBillID``, ``generatedOn``, ``dueDate``, ``recurrence``,
  ``customerAccount.id``, ``aggregates.total.amount.value`` in paise,
  ``amountExactness``, up to 4 ``items``), or ``NO_OUTSTANDING`` with no bills; 400
  ``customer-not-found``; 400 ``insufficient-customer-identifiers`` when no identifier we
  know is given.  Attribute names: account (``customerId``, ``accountNumber``,
  ``consumerNumber``, ``accountNo``), bill (``billNumber``, ``billerBillID``), meter
  (``meterNumber``), mobile (``mobileNumber``, ``registeredMobile``).
* ``POST .../bills/fetchReceipt`` -> 200 ``data.receipt {id, date}``; deduplicated on
  ``paymentDetails.uniquePaymentRefID`` (a retry after Setu's 30 s timeout gets 200 and
  the same receipt).  Refusals: 400 ``bill-not-found``, ``bill-already-fulfilled``,
  ``incorrect-amount``, ``bill-expired`` (after the biller's cut-off); anything we cannot
  do 500 ``unable-to-fulfill-request``.

Errors are ``{"status", "success": false, "error": {"code", "title", "detail", "docURL",
"traceID", "errors"}}``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from qrpay.biller import core, wire
from qrpay.biller.lookup import Identifier
from qrpay.biller.service import Answer, Context, Op, Request
from qrpay.biller.writer import Later, Named
from qrpay.errors import NotFound, QrpayError, ValidationError

NAME = "bbps"
ATTRIBUTES = {"customerid": "account", "accountnumber": "account", "accountno": "account",
              "consumernumber": "account", "consumerno": "account", "billnumber": "bill",
              "billerbillid": "bill", "meternumber": "meter", "mobilenumber": "mobile",
              "registeredmobile": "mobile", "mobile": "mobile"}
EXACTNESS = {"exact": "EXACT", "exact_down": "EXACT_DOWN", "exact_up": "EXACT_UP",
             "any": "ANY", "range": "RANGE"}
# our error code -> (HTTP status, Setu error code)
CODES = {"bad_credentials": (401, "unauthorised"), "ip_not_allowed": (403, "forbidden"),
         # Setu's JWT errors (errors.mdx, generic errors)
         "invalid_auth_header": (400, "invalid-auth-header"),
         "jwt_verification_failed": (401, "jwt-verification-failed"),
         "jwt_token_expired": (401, "jwt-token-expired"),
         "customer_not_found": (400, "customer-not-found"),
         "bill_not_found": (400, "bill-not-found"),
         "several_accounts": (400, "insufficient-customer-identifiers"),
         "missing_identifier": (400, "insufficient-customer-identifiers"),
         "already_paid": (400, "bill-already-fulfilled"),
         "below_minimum": (400, "incorrect-amount"), "amount_differs": (400, "incorrect-amount"),
         "currency_mismatch": (400, "incorrect-amount"),
         "after_cutoff": (400, "bill-expired"), "txn_mismatch": (400, "duplicate-request"),
         "missing_field": (400, "invalid-param"), "invalid_field": (400, "invalid-param"),
         "invalid_identifier": (400, "invalid-customer-identifier"),
         "malformed_request": (400, "malformed-request")}


def credentials(req: Request) -> tuple[str | None, str | None]:
    return wire.basic_auth(req.headers)


def _error(status: int, code: str, detail: str) -> dict[str, Any]:
    return {"status": status, "success": False, "error": {
        "code": code, "title": code, "detail": detail, "docURL": "",
        "traceID": secrets.token_hex(8), "errors": []}}


def refusal(exc: QrpayError) -> Answer:
    status, code = CODES.get(exc.code, (500, "unable-to-fulfill-request"))
    if status == 500:
        detail = "An error occurred while processing this request."
    else:
        detail = exc.message
    return Answer(status, _error(status, code, detail), outcome=exc.code)


def _ok(data: dict[str, Any]) -> Answer:
    return Answer(200, {"status": 200, "success": True, "data": data})


def identifier(fields: Mapping[str, Any]) -> Identifier:
    given = fields.get("customerIdentifiers")
    if not isinstance(given, list):
        raise ValidationError("customerIdentifiers must be a list", code="missing_identifier",
                              field="customerIdentifiers")
    for item in given:
        if not isinstance(item, dict):
            continue
        kind = ATTRIBUTES.get(str(item.get("attributeName", "")).replace("_", "").lower())
        value = item.get("attributeValue")
        if kind and isinstance(value, str) and value.strip():
            return Identifier(kind, value)
    raise ValidationError("no customer identifier this biller knows",
                          code="missing_identifier", field="customerIdentifiers")


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _amount(value: int, currency: str) -> dict[str, Any]:
    return {"value": value, "currencyCode": currency}


def _bill(due: core.BillDue, now: dt.datetime) -> dict[str, Any]:
    cur = due.biller.currency
    bounds = due.bounds
    assert bounds is not None
    out: dict[str, Any] = {
        "billerBillID": due.bill.bill_no,
        "generatedOn": _iso(core.issued_at(due.bill, now)),
        "dueDate": _iso(dt.datetime.combine(due.bill.due_date, dt.time(23, 59, 59),
                                            tzinfo=due.biller.local(now).tzinfo)),
        "recurrence": "MONTHLY",
        "customerAccount": {"id": due.bill.account_no},
        "amountExactness": EXACTNESS[bounds.rule],
        "aggregates": {"total": {"amount": _amount(due.due_now, cur),
                                 "displayName": "Total payable"}},
        "items": [{"displayName": head, "aggregates": {"total": _amount(v, cur)}}
                  for head, v in due.breakdown[:4]],
    }
    if bounds.rule in ("exact_down", "range") or bounds.minimum != bounds.due:
        rule: dict[str, int] = {"minimum": bounds.minimum}
        if bounds.maximum is not None:
            rule["maximum"] = bounds.maximum
        out["validationRules"] = {"amount": rule}
    return out


def fetch(conn: Connection, ctx: Context, req: Request) -> Answer:
    found = core.inquire(conn, ctx.config, ctx.channel,
                         core.Inquiry(identifier(req.fields), None, ctx.allowed), now=ctx.now)
    due = [d for d in found.bills if d.due_now > 0 and not d.past_cutoff]
    details = {"billFetchStatus": "AVAILABLE" if due else "NO_OUTSTANDING",
               "bills": [_bill(d, ctx.now) for d in due]}
    return _ok({"customer": {"name": found.first.bill.name}, "billDetails": details})


def _paise(details: Mapping[str, Any], key: str) -> int:
    value = details.get(key)
    amount = value.get("value") if isinstance(value, dict) else None
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationError(f"paymentDetails.{key}.value must be a whole number of paise "
                              "above zero", code="invalid_field", field=key)
    return amount


def fetch_receipt_bills(conn: Connection, ctx: Context, req: Request) -> Named:
    """The bill a receipt request posts to (locked up front by a PostgreSQL batch)."""
    return core.bills_named(conn, ctx.config, ctx.channel,
                            Identifier("bill", wire.required(req.fields, "billerBillID")),
                            allowed=ctx.allowed)


def _pay_request(ctx: Context, req: Request) -> core.PayRequest:
    f = req.fields
    details = f.get("paymentDetails")
    if not isinstance(details, dict):
        raise ValidationError("paymentDetails is required", code="missing_field",
                              field="paymentDetails")
    ref = wire.text(details, "uniquePaymentRefID") or wire.text(
        details, "platformTransactionRefID")
    if ref is None:
        raise ValidationError("uniquePaymentRefID is required", code="missing_field",
                              field="uniquePaymentRefID")
    bill_id = wire.required(f, "billerBillID")
    paid_at = wire.parse_time(ctx.config.default_biller,
                              wire.text(details, "transactionTimestamp"), "transactionTimestamp")
    return core.PayRequest(
        channel=ctx.channel, txn_id=ref, ident=Identifier("bill", bill_id),
        amount=_paise(details, "amountPaid"), paid_at=paid_at,
        payer=wire.text(details, "instrument"), allowed=ctx.allowed)


def fetch_receipt(conn: Connection, ctx: Context, req: Request) -> Answer | Later:
    pay = _pay_request(ctx, req)
    try:
        result = core.pay(conn, ctx.config, pay, now=ctx.now)
    except NotFound as exc:  # a receipt names a bill: an unknown one is bill-not-found
        raise NotFound(exc.message, code="bill_not_found", field="billerBillID") from None
    return core.answered(result, lambda r: _receipt(ctx, r))


def _receipt(ctx: Context, result: core.PayResult) -> Answer:
    receipt = {"id": result.receipt_no, "date": _iso(result.posted_at or ctx.now)}
    a = _ok({"receipt": receipt})
    return Answer(a.status, a.body, outcome=result.result, txn_id=result.txn_id,
                  payment_id=result.payment_id)


OPS = {"bills/fetch": Op(fetch),
       "bills/fetchReceipt": Op(fetch_receipt, writes=True, bills=fetch_receipt_bills,
                                prefetch=_pay_request)}
