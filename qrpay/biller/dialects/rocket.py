"""Rocket (Dutch-Bangla Bank) "Bill Payment Reconciliation API" v1.1, as summarised in
``shared/research/contracts.md`` section 3: HTTP Basic auth; three calls.

* ``validation``: ``refNo1`` (account, bill, meter or registered mobile number: told
  apart by their shapes),
  optional ``refNo2`` (bill month MMYYYY), ``refNo3`` (unused), optional ``amount``.
* ``confirmation``: ``txnId`` (Rocket's, up to 15 digits), ``txnDate``, the refs,
  ``amount``.  Rocket calls it again when it timed out and its inquiry found no
  success, so it is idempotent on ``txnId``: a repeat answers the original receipt.
* ``inquiry`` (``getPaymentStatus``): ``txnId`` -> the payment, or 404 so that Rocket
  confirms again.

The guide is not public; the answer shape is ours and documented in docs/channels.md:
JSON ``{"status": "success"|"failed", "code", "message", ...}`` with the HTTP status of
the outcome (200, 400, 401, 404, 409).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from qrpay import ids
from qrpay.biller import core, wire, wording
from qrpay.biller.lookup import Identifier
from qrpay.biller.service import Answer, Context, Op, Request
from qrpay.biller.writer import Later, Named
from qrpay.errors import PaymentError, QrpayError
from qrpay.ids import mobile
from qrpay.money import to_decimal_str

NAME = "rocket"
KINDS = {"bd_account": "account", "bd_bill": "bill", "bd_meter": "meter"}
STATUS = {"bad_credentials": 401, "ip_not_allowed": 401, "customer_not_found": 404,
          "bill_not_found": 404, "txn_not_found": 404, "txn_mismatch": 409,
          "already_paid": 409}


def credentials(req: Request) -> tuple[str | None, str | None]:
    return wire.basic_auth(req.headers)


def refusal(exc: QrpayError) -> Answer:
    status = STATUS.get(exc.code, 400 if exc.http_status < 500 else 500)
    return Answer(status, {"status": "failed", "code": exc.code, "message": exc.message},
                  outcome=exc.code)


def identifier(fields: Mapping[str, Any]) -> Identifier:
    ref = wire.required(fields, "refNo1")
    kinds = [KINDS[k] for k in ids.guess(ref) if k in KINDS]
    if len(kinds) == 1:
        return Identifier(kinds[0], ref)
    return Identifier("mobile" if mobile.is_valid(ref, "BD") else "account", ref)


def _period(fields: Mapping[str, Any]) -> str | None:
    month = wire.text(fields, "refNo2")
    return wire.month_mmyyyy(month, "refNo2") if month else None


def validation(conn: Connection, ctx: Context, req: Request) -> Answer:
    found = core.inquire(conn, ctx.config, ctx.channel, core.Inquiry(
        identifier(req.fields), _period(req.fields), ctx.allowed), now=ctx.now)
    if found.several:
        raise PaymentError("several accounts: send the account number", code="several_accounts",
                         field="refNo1")
    due = found.first
    if due.past_cutoff:
        raise PaymentError("due date over", code="after_cutoff", field="refNo1")
    if due.due_now <= 0 and due.policy.already_paid == "refuse":
        raise PaymentError("already paid", code="already_paid", field="refNo1")
    offered = wire.text(req.fields, "amount")
    if offered is not None and due.bounds is not None:
        due.bounds.check(wire.amount(offered, "amount"))
    bounds = due.bounds
    return Answer(200, {
        "status": "success", "code": "ok", "message": "bill found",
        "refNo1": due.bill.account_no, "billNo": due.bill.bill_no,
        "consumerName": due.bill.name, "billMonth": due.bill.period[5:] + due.bill.period[:4],
        "billAmount": to_decimal_str(due.due_now),
        "minAmount": to_decimal_str(bounds.minimum) if bounds else "0.00",
        "maxAmount": to_decimal_str(bounds.maximum) if bounds and bounds.maximum else "",
        "dueDate": due.bill.due_date.strftime("%Y%m%d")})


def confirmation_bills(conn: Connection, ctx: Context, req: Request) -> Named:
    """The bills a confirmation may post to (locked up front by a PostgreSQL batch)."""
    return core.bills_named(conn, ctx.config, ctx.channel, identifier(req.fields),
                            _period(req.fields), ctx.allowed)


def _pay_request(ctx: Context, req: Request) -> core.PayRequest:
    f = req.fields
    txn_id = wire.required(f, "txnId")
    biller = ctx.config.default_biller
    return core.PayRequest(
        channel=ctx.channel, txn_id=txn_id, ident=identifier(f), period=_period(f),
        amount=wire.amount(wire.required(f, "amount"), "amount"),
        paid_at=wire.parse_time(biller, wire.text(f, "txnDate"), "txnDate"),
        allowed=ctx.allowed)


def confirmation(conn: Connection, ctx: Context, req: Request) -> Answer | Later:
    result = core.pay(conn, ctx.config, _pay_request(ctx, req), now=ctx.now)
    return core.answered(result, lambda r: _confirmed(ctx, r))


def _confirmed(ctx: Context, result: core.PayResult) -> Answer:
    assert result.receipt_no is not None
    biller = ctx.config.biller(result.bill.biller)
    return Answer(200, {
        "status": "success", "code": result.result, "message": "payment posted",
        "txnId": result.txn_id, "receiptNo": result.receipt_no,
        "amount": to_decimal_str(result.amount),
        "refNo1": result.bill.account_no, "billNo": result.bill.bill_no,
        "notification": wording.notice(biller, result.bill, amount=result.amount,
                                       receipt=result.receipt_no, credit=bool(result.credit))},
        outcome=result.result, txn_id=result.txn_id, payment_id=result.payment_id)


def inquiry(conn: Connection, ctx: Context, req: Request) -> Answer:
    txn_id = wire.required(req.fields, "txnId")
    st = core.status(conn, ctx.channel, txn_id)
    return Answer(200, {"status": "success" if st.status == "success" else "failed",
                        "code": st.status, "message": f"payment {st.status}", "txnId": txn_id,
                        "receiptNo": st.receipt_no, "amount": to_decimal_str(st.amount),
                        "billNo": st.bill.bill_no if st.bill else None}, txn_id=txn_id)


OPS = {"validation": Op(validation),
       "confirmation": Op(confirmation, writes=True, bills=confirmation_bills,
                          prefetch=_pay_request),
       "inquiry": Op(inquiry)}
