"""GSMA Mobile Money API v1.2, "Bill Payments" (the wallet calls the biller; source:
gsmainclusivetechlab/mobilemoneyapi-devportal ``docs/use-cases/bill-payments/
api-service-definition.md`` and ``docs/api-versions-1.2/get-started.md``).

* ``GET .../accounts/{identifierType}/{identifier}/bills`` and the multiple-identifier
  form ``.../accounts/{type1}@{value1}${type2}@{value2}/bills``: the newest bill of each
  matching account, newest first, paginated by ``limit`` (default 50) and ``offset``,
  with ``X-Records-Available-Count`` and ``X-Records-Returned-Count``.  Identifier types:
  ``accountid``, ``consumerno`` (account), ``msisdn`` (registered mobile, several
  accounts possible), and our ``meterno``, ``billno``.
* Bill object: ``billReference``, ``billStatus`` (paid | unpaid | partialpaid),
  ``amountDue``, ``minimumAmountDue`` (strings), ``currency``, ``dueDate``,
  ``billDescription``, ``creationDate``, ``customData`` (key/value pairs).
* ``POST .../bills/{billReference}/payments`` ``{amountPaid, currency, paymentType,
  requestingOrganisationTransactionReference, ...}`` -> 201 with the bill-payment object
  (``serviceProviderPaymentReference`` = receipt number, ``billPaymentStatus``,
  ``serviceProviderNotification`` in the consumer's language).  Idempotent on
  ``requestingOrganisationTransactionReference`` (else the ``X-CorrelationID`` header):
  a repeat answers the same object.
* ``GET`` on the same path: the bill's payments, newest first, paginated.  Both also
  as ``.../bills/{billReference}/payments`` (a payment not tied to an account path).
* Errors: ``{errorCategory, errorCode, errorDescription, errorDateTime}`` with the HTTP
  status of the category (validation and businessRule 400, authorisation 401,
  identification 404).

Amounts are strings ("929.72"); the Fundamentals' rule is up to four decimals, no leading
zeros, never negative: anything finer than the currency's minor unit is refused.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from qrpay.biller import core, wire, wording
from qrpay.biller.lookup import Identifier
from qrpay.biller.service import Answer, Context, Op, Request
from qrpay.biller.writer import Later, Named
from qrpay.clock import aware, utcnow
from qrpay.errors import NotFound, PaymentError, QrpayError, ValidationError
from qrpay.money import to_decimal_str
from qrpay.payments.ledger import bill_status

NAME = "gsma"
TYPES = {"accountid": "account", "consumerno": "account", "msisdn": "mobile",
         "meterno": "meter", "billno": "bill"}
STATUS = {"unpaid": "unpaid", "part_paid": "partialpaid", "paid": "paid", "credit": "paid",
          "nothing_due": "paid"}
# our code -> (HTTP status, errorCategory, errorCode)
CODES = {
    "bad_credentials": (401, "authorisation", "clientAuthorisationError"),
    "ip_not_allowed": (401, "authorisation", "clientAuthorisationError"),
    "customer_not_found": (404, "identification", "identifierError"),
    "bill_not_found": (404, "identification", "identifierError"),
    "txn_not_found": (404, "identification", "identifierError"),
    "missing_field": (400, "validation", "mandatoryValueNotSupplied"),
    "invalid_field": (400, "validation", "formatError"),
    "invalid_identifier": (400, "validation", "formatError"),
    "malformed_request": (400, "validation", "formatError"),
    "currency_mismatch": (400, "validation", "currencyNotSupported"),
    "below_minimum": (400, "businessRule", "underPaymentNotAllowed"),
    "amount_differs": (400, "businessRule", "overPaymentNotAllowed"),
    "already_paid": (400, "businessRule", "incorrectState"),
    "after_cutoff": (400, "businessRule", "incorrectState"),
    "several_accounts": (400, "businessRule", "genericError"),
    "txn_mismatch": (400, "businessRule", "duplicateRequest"),
}
_AMOUNT = re.compile(r"(0|[1-9]\d{0,17})(\.\d{1,4})?")
MAX_LIMIT = 50


def credentials(req: Request) -> tuple[str | None, str | None]:
    return wire.basic_auth(req.headers)


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def refusal(exc: QrpayError) -> Answer:
    status, category, code = CODES.get(exc.code, (500, "internal", "genericError"))
    if exc.code == "amount_differs" and exc.data.get("under"):
        code = "underPaymentNotAllowed"
    body: dict[str, Any] = {"errorCategory": category, "errorCode": code,
                            "errorDescription": exc.message if status < 500 else
                            "internal error", "errorDateTime": _stamp(utcnow())}
    if exc.field:
        body["errorParameters"] = [{"key": "field", "value": exc.field},
                                   {"key": "reason", "value": exc.code}]
    return Answer(status, body, outcome=exc.code)


def identifier(req: Request) -> Identifier:
    """From the path: ``{identifierType}/{identifier}`` or ``{accountIds}``."""
    pairs: list[tuple[str, str]] = []
    if "accountIds" not in req.path and "identifierType" not in req.path:
        return Identifier("bill", wire.required(req.path, "billReference"))  # no account
    if "accountIds" in req.path:
        for part in req.path["accountIds"].split("$")[:3]:
            key, sep, value = part.partition("@")
            if sep:
                pairs.append((key, value))
    else:
        pairs.append((req.path.get("identifierType", ""), req.path.get("identifier", "")))
    for key, value in pairs:
        kind = TYPES.get(key.lower())
        if kind and value.strip():
            return Identifier(kind, value)
    raise ValidationError("no account identifier this biller knows (accountid, consumerno, "
                          "msisdn, meterno, billno)", code="invalid_identifier",
                          field="identifierType")


def amount(value: Any, field: str) -> int:
    if value is None or value == "":
        raise ValidationError(f"{field} is required", code="missing_field", field=field)
    if not isinstance(value, str) or not _AMOUNT.fullmatch(value.strip()):
        raise ValidationError(f"{field} must be an amount string such as 929.72",
                              code="invalid_field", field=field)
    minor = Decimal(value.strip()) * 100
    if minor != minor.to_integral_value() or minor <= 0:
        raise ValidationError(f"{field} {value} is not a whole number of minor units above "
                              "zero", code="invalid_field", field=field)
    return int(minor)


def _page(req: Request) -> tuple[int, int]:
    try:
        limit = int(req.fields.get("limit", MAX_LIMIT))
        offset = int(req.fields.get("offset", 0))
    except (TypeError, ValueError):
        raise ValidationError("limit and offset are whole numbers", code="invalid_field",
                              field="limit") from None
    return max(0, min(limit, MAX_LIMIT)), max(0, offset)


def _window(req: Request) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``fromDateTime`` and ``toDateTime`` (ISO 8601; UTC unless they say otherwise)."""
    out = []
    for key in ("fromDateTime", "toDateTime"):
        value = wire.text(req.fields, key)
        try:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
        except ValueError:
            raise ValidationError(f"{key} must be a date-time such as 2026-11-01T00:00:00Z",
                                  code="invalid_field", field=key) from None
        out.append(aware(when))
    return out[0], out[1]


def _in_window(when: dt.datetime | None, window: tuple[dt.datetime | None,
                                                       dt.datetime | None]) -> bool:
    start, end = window
    if when is None:
        return start is None and end is None
    return (start is None or when >= start) and (end is None or when <= end)


def _paged(items: list[Any], req: Request, status: int = 200) -> Answer:
    limit, offset = _page(req)
    shown = items[offset:offset + limit]
    return Answer(status, shown, headers={"X-Records-Available-Count": str(len(items)),
                                          "X-Records-Returned-Count": str(len(shown))})


def _bill(due: core.BillDue, now: dt.datetime) -> dict[str, Any]:
    b, bounds = due.bill, due.bounds
    out: dict[str, Any] = {
        "creationDate": _stamp(core.issued_at(b, now)),
        "billReference": b.bill_no, "billStatus": STATUS[due.status.state],
        "amountDue": to_decimal_str(due.due_now), "currency": due.biller.currency,
        "dueDate": b.due_date.isoformat(),
        "billDescription": f"{due.biller.name} electricity bill {b.period}",
        "customData": [{"key": "accountId", "value": b.account_no},
                       {"key": "consumerName", "value": b.name},
                       {"key": "amountRule", "value": due.policy.amount_rule}],
    }
    if bounds is not None:
        out["minimumAmountDue"] = to_decimal_str(bounds.minimum)
    return out


def bills(conn: Connection, ctx: Context, req: Request) -> Answer:
    found = core.inquire(conn, ctx.config, ctx.channel,
                         core.Inquiry(identifier(req), None, ctx.allowed), now=ctx.now)
    window = _window(req)
    ordered = sorted(found.bills, key=lambda d: d.bill.period, reverse=True)
    return _paged([_bill(d, ctx.now) for d in ordered
                   if _in_window(core.issued_at(d.bill, ctx.now), window)], req)


def _bill_of_path(conn: Connection, ctx: Context, req: Request) -> core.BillDue:
    ref = wire.required(req.path, "billReference")
    ident = identifier(req)
    try:
        found = core.inquire(conn, ctx.config, ctx.channel,
                             core.Inquiry(Identifier("bill", ref), None, ctx.allowed),
                             now=ctx.now)
    except NotFound:
        found = None
    if found is None or not core.matches(found.first.bill, ident):
        raise NotFound(f"no bill {ref} for this account", code="bill_not_found",
                       field="billReference")
    return found.first


def _payment(result: core.PayResult, ctx: Context, req_body: dict[str, Any],
             payment_type: str) -> dict[str, Any]:
    assert result.receipt_no is not None
    biller = ctx.config.biller(result.bill.biller)
    when = _stamp(result.posted_at or ctx.now)
    return {
        "serviceProviderPaymentReference": result.receipt_no,
        "requestingOrganisationTransactionReference": result.txn_id,
        "paymentType": payment_type, "billPaymentStatus": "approved",
        "amountPaid": to_decimal_str(result.amount), "currency": biller.currency,
        "serviceProviderComment": "credited to the account" if result.credit else "posted",
        "serviceProviderNotification": wording.notice(
            biller, result.bill, amount=result.amount, receipt=result.receipt_no,
            credit=bool(result.credit)),
        "creationDate": when, "modificationDate": when,
        **{k: req_body[k] for k in ("requestingOrganisation", "customerReference",
                                    "requestDate") if isinstance(req_body.get(k), str)},
    }


def _check_type(payment_type: str, due: core.BillDue, paid: int) -> None:
    if payment_type not in ("fullpayment", "partialpayment"):
        raise ValidationError("paymentType is fullpayment or partialpayment",
                              code="invalid_field", field="paymentType")
    if payment_type == "fullpayment" and due.due_now > 0 and paid < due.due_now:
        raise PaymentError("a fullpayment must pay the amount due", code="below_minimum",
                           field="amountPaid")


def create_payment(conn: Connection, ctx: Context, req: Request) -> Answer | Later:
    f = dict(req.fields)
    txn_id = wire.text(f, "requestingOrganisationTransactionReference") or wire.text(
        {k.lower(): v for k, v in req.headers.items()}, "x-correlationid")
    if txn_id is None:
        raise ValidationError("requestingOrganisationTransactionReference is required",
                              code="missing_field",
                              field="requestingOrganisationTransactionReference")
    paid = amount(f.get("amountPaid"), "amountPaid")
    due = _bill_of_path(conn, ctx, req)
    if wire.required(f, "currency").upper() != due.biller.currency:
        raise ValidationError(f"currency must be {due.biller.currency}",
                              code="currency_mismatch", field="currency")
    payment_type = str(f.get("paymentType") or (
        "fullpayment" if paid >= due.due_now else "partialpayment"))
    existing = core.existing(conn, ctx.channel, txn_id)
    if existing is None:
        _check_type(payment_type, due, paid)
    result = core.pay(conn, ctx.config, core.PayRequest(
        channel=ctx.channel, txn_id=txn_id, ident=Identifier("bill", due.bill.bill_no),
        amount=paid, payer=wire.text(f, "customerReference"),
        paid_at=wire.parse_time(due.biller, wire.text(f, "requestDate"), "requestDate"),
        allowed=ctx.allowed), now=ctx.now)
    return core.answered(result, lambda r: Answer(
        201, _payment(r, ctx, f, payment_type), outcome=r.result, txn_id=r.txn_id,
        payment_id=r.payment_id))


def create_payment_bills(conn: Connection, ctx: Context, req: Request) -> Named:
    """The bill a payment posts to, by its path's ``billReference`` (locked up front by
    a PostgreSQL batch)."""
    return core.bills_named(conn, ctx.config, ctx.channel,
                            Identifier("bill", wire.required(req.path, "billReference")),
                            allowed=ctx.allowed)


def list_payments(conn: Connection, ctx: Context, req: Request) -> Answer:
    due = _bill_of_path(conn, ctx, req)
    st = bill_status(conn, due.bill, due.today, due.biller.late_payment.grace_days)
    window = _window(req)
    rows = []
    for p in reversed(st.payments):
        if not _in_window(aware(p.paid_at), window):
            continue
        item: dict[str, Any] = {
            "serviceProviderPaymentReference": p.receipt_no,
            "billPaymentStatus": "approved" if p.status == "success" else p.status,
            "amountPaid": to_decimal_str(p.amount), "currency": due.biller.currency}
        if p.channel == ctx.channel:
            item["requestingOrganisationTransactionReference"] = p.txn_id
        if p.paid_at is not None:
            item["creationDate"] = _stamp(aware(p.paid_at))
        rows.append(item)
    return _paged(rows, req)


OPS = {"bills": Op(bills), "createPayment": Op(create_payment, writes=True,
                                                     bills=create_payment_bills),
       "listPayments": Op(list_payments)}
