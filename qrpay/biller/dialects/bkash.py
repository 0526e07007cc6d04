"""bKash Pay Bill, "API for Bill Payment - Outbound Interface" (bKash calls the biller).

Three form POSTs (``application/x-www-form-urlencoded`` or ``multipart/form-data``),
credentials ``UserName``/``Password`` in the body; answers are JSON with HTTP 200 and
the outcome in ``ErrorCode`` (field list: bKash Partner Integration Guide v1.4 as
summarised in ``shared/research/contracts.md`` section 2):

* ``queryBill``: one of ``AccNo``, ``MeterNo``, ``CustomerNo``, ``BillNo``, ``RefID``;
  optional ``BillMonth`` (MMYYYY) and ``Amount``.  Answer ``ErrorCode``, ``ErrorMsg``,
  ``ConsumerName``, ``BillMonth``, ``BillAmount``, ``BillDueDate`` (YYYYMMDD),
  ``QueryTime``, ``AmountBreakdown``.  ``CustomerNo`` may be a registered mobile: when it
  owns several accounts the answer lists them in ``Accounts`` (our extension) and the
  wallet pays by ``AccNo``.
* ``payBill``: the same keys plus ``Amount`` and ``TrxId`` (mandatory),
  ``UserMobileNumber``, ``PayTime``.  Answer ``TotalAmount``, ``TrxId``,
  ``MiddlewarePayTime``, ``RefNumber`` (our receipt number), ``CustomMessage`` (the
  consumer's language).  A repeated ``TrxId`` answers the original success and
  ``RefNumber``, never 436.
* ``searchTransaction``: ``TrxId`` -> the payment (``ErrorCode`` 200) or 404.

``ErrorCode``: 200 OK, 403 authentication failed, 404 not found, 406 mandatory field
missing, 435 data mismatch, 436 already paid, 437 due date over, 438 minimum amount not
paid, 439 paid amount differs from the biller's amount.  Codes are strings; times are the
biller's local time, ``YYYYMMDDHHMMSS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from qrpay.biller import core, wire, wording
from qrpay.biller.lookup import Identifier
from qrpay.biller.service import Answer, Context, Op, Request
from qrpay.biller.writer import Later, Named
from qrpay.digits import to_ascii
from qrpay.errors import QrpayError, ValidationError
from qrpay.money import to_decimal_str

NAME = "bkash"
KEYS = (("AccNo", "account"), ("MeterNo", "meter"), ("CustomerNo", "customer"),
        ("BillNo", "bill"), ("RefID", "bill"))
MESSAGES = {"200": "Success", "403": "Authentication failed", "404": "Not found",
            "406": "Mandatory field missing", "435": "Data mismatch", "436": "Already paid",
            "437": "Due date over", "438": "Minimum amount not paid",
            "439": "Paid amount differs from biller amount"}
# our error codes -> ErrorCode
CODES = {"bad_credentials": "403", "ip_not_allowed": "403",
         "customer_not_found": "404", "bill_not_found": "404", "txn_not_found": "404",
         "missing_field": "406", "already_paid": "436", "after_cutoff": "437",
         "below_minimum": "438", "amount_differs": "439"}
STAMP = "%Y%m%d%H%M%S"


def credentials(req: Request) -> tuple[str | None, str | None]:
    return wire.text(req.fields, "UserName"), wire.text(req.fields, "Password")


def _looks_mobile(value: str) -> bool:
    digits = "".join(c for c in to_ascii(value) if c.isdigit())
    return (len(digits) == 11 and digits.startswith("01")) or (
        len(digits) == 13 and digits.startswith("8801"))


def identifier(fields: Mapping[str, Any]) -> Identifier:
    for key, kind in KEYS:
        value = wire.text(fields, key)
        if value is not None:
            if kind == "customer":
                kind = "mobile" if _looks_mobile(value) else "account"
            return Identifier(kind, value)
    raise ValidationError("one of AccNo, MeterNo, CustomerNo, BillNo is required",
                          code="missing_field", field="AccNo")


def _period(fields: Mapping[str, Any]) -> str | None:
    month = wire.text(fields, "BillMonth")
    return wire.month_mmyyyy(month, "BillMonth") if month else None


def answer(code: str, **values: Any) -> Answer:
    body = {"ErrorCode": code, "ErrorMsg": MESSAGES.get(code, "Error"), **values}
    return Answer(200, body, outcome="ok" if code == "200" else code,
                  txn_id=values.get("TrxId"))


def refusal(exc: QrpayError) -> Answer:
    code = CODES.get(exc.code, "435")
    a = answer(code)
    body = {**a.body, "ErrorMsg": f"{a.body['ErrorMsg']}: {exc.message}"}
    return Answer(200, body, outcome=exc.code)


def _breakdown(due: core.BillDue) -> str:
    return "|".join(f"{head}:{to_decimal_str(v)}" for head, v in due.breakdown)


def _bill_fields(due: core.BillDue) -> dict[str, Any]:
    bill = due.bill
    return {"AccNo": bill.account_no, "BillNo": bill.bill_no, "ConsumerName": bill.name,
            "BillMonth": bill.period[5:] + bill.period[:4],
            "BillAmount": to_decimal_str(due.due_now),
            "BillDueDate": bill.due_date.strftime("%Y%m%d")}


def _stamp(ctx: Context, due: core.BillDue) -> str:
    return due.biller.local(ctx.now).strftime(STAMP)


def query_bill(conn: Connection, ctx: Context, req: Request) -> Answer:
    found = core.inquire(conn, ctx.config, ctx.channel, core.Inquiry(
        identifier(req.fields), _period(req.fields), ctx.allowed), now=ctx.now)
    if found.several:
        return answer("200", QueryTime=_stamp(ctx, found.first),
                      Accounts=[_bill_fields(d) for d in found.bills])
    due = found.first
    if due.past_cutoff:
        return refusal(QrpayError("due date over", code="after_cutoff"))
    if due.due_now <= 0 and due.policy.already_paid == "refuse":
        return answer("436", ConsumerName=due.bill.name, AccNo=due.bill.account_no)
    offered = wire.text(req.fields, "Amount")
    if offered is not None and due.bounds is not None:
        due.bounds.check(wire.amount(offered, "Amount"))
    return answer("200", **_bill_fields(due), QueryTime=_stamp(ctx, due),
                  AmountBreakdown=_breakdown(due))


def _pay_request(ctx: Context, req: Request) -> core.PayRequest:
    f = req.fields
    txn_id = wire.required(f, "TrxId")
    amount = wire.amount(wire.required(f, "Amount"), "Amount")
    ident = identifier(f)
    biller = ctx.config.default_biller
    paid_at = wire.parse_time(biller, wire.text(f, "PayTime"), "PayTime")
    return core.PayRequest(
        channel=ctx.channel, txn_id=txn_id, ident=ident, amount=amount, period=_period(f),
        payer=wire.text(f, "UserMobileNumber"), paid_at=paid_at, allowed=ctx.allowed)


def pay_bill(conn: Connection, ctx: Context, req: Request) -> Answer | Later:
    result = core.pay(conn, ctx.config, _pay_request(ctx, req), now=ctx.now)
    return core.answered(result, lambda r: _paid(ctx, r))


def _paid(ctx: Context, result: core.PayResult) -> Answer:
    assert result.receipt_no is not None
    biller = ctx.config.biller(result.bill.biller)
    posted = result.posted_at or ctx.now
    message = wording.notice(biller, result.bill, amount=result.amount,
                             receipt=result.receipt_no, credit=bool(result.credit))
    a = answer("200", TrxId=result.txn_id, TotalAmount=to_decimal_str(result.amount),
               MiddlewarePayTime=biller.local(posted).strftime(STAMP),
               RefNumber=result.receipt_no, AccNo=result.bill.account_no,
               BillNo=result.bill.bill_no, CustomMessage=message)
    return Answer(a.status, a.body, outcome=result.result, txn_id=result.txn_id,
                  payment_id=result.payment_id)


def pay_bill_bills(conn: Connection, ctx: Context, req: Request) -> Named:
    """The bills a ``payBill`` may post to (locked up front by a PostgreSQL batch)."""
    return core.bills_named(conn, ctx.config, ctx.channel, identifier(req.fields),
                            _period(req.fields), ctx.allowed)


def search_transaction(conn: Connection, ctx: Context, req: Request) -> Answer:
    txn_id = wire.required(req.fields, "TrxId")
    st = core.status(conn, ctx.channel, txn_id)
    if st.bill is None or st.status != "success":
        return answer("404", TrxId=txn_id, Status=st.status)
    biller = ctx.config.biller(st.bill.biller)
    when = st.posted_at or ctx.now
    return answer("200", TrxId=txn_id, Status="Success", TotalAmount=to_decimal_str(st.amount),
                  RefNumber=st.receipt_no, AccNo=st.bill.account_no, BillNo=st.bill.bill_no,
                  MiddlewarePayTime=biller.local(when).strftime(STAMP))


OPS = {"queryBill": Op(query_bill), "payBill": Op(pay_bill, writes=True, bills=pay_bill_bills,
                                                 prefetch=_pay_request),
       "searchTransaction": Op(search_transaction)}
