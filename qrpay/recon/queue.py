"""The exceptions queue: list, and act on one exception (audited, never deleted).

Actions (each writes a ``recon_actions`` row with the actor and reason, a row in the
desk's audit trail (``qrpay.desk.audit``: ``recon_post``, ``recon_refund``,
``recon_write_off``, ``recon_link``) in the same transaction, and closes the exception
with that reason; nothing is ever deleted: a closed exception stays, with who closed it
and why):

``post``       post the line's money to its bill (or ``bill_no``) through
               ``post_payment``, exactly once per channel transaction;
``refund``     put the money on the refunds-due list;
``write_off``  close with the reason (a reason is required);
``link``       link the money to another bill: posted to ``bill_no`` when it was never
               posted, else recorded against that bill for the accounts team.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from qrpay.bills import find_bill
from qrpay.config import Config
from qrpay.desk import audit
from qrpay.errors import Conflict, NotFound, ValidationError
from qrpay.money import to_decimal_str
from qrpay.payments.posting import PaymentIn, post_payment
from qrpay.store import utcnow
from qrpay.store.schema import payments, recon_actions, recon_exceptions, refunds_due

ACTIONS = ("post", "refund", "write_off", "link")


@dataclass(frozen=True)
class ReconException:
    id: int
    outcome: str
    channel: str
    txn_id: str | None
    biller: str | None
    bill_no: str | None
    payment_id: int | None
    file_id: int | None
    line_no: int | None
    amount: int
    detail: dict[str, Any]
    suggested: str | None
    state: str
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    closed_by: str | None
    reason: str | None

    @property
    def message(self) -> str:
        return str(self.detail.get("message", ""))

    @property
    def amount_text(self) -> str:
        return to_decimal_str(self.amount)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "outcome": self.outcome, "channel": self.channel,
                "txn_id": self.txn_id, "biller": self.biller, "bill_no": self.bill_no,
                "payment_id": self.payment_id, "file_id": self.file_id,
                "line_no": self.line_no, "amount": self.amount_text, "detail": self.detail,
                "suggested": self.suggested, "state": self.state,
                "opened_at": self.opened_at.isoformat(),
                "closed_at": self.closed_at.isoformat() if self.closed_at else None,
                "closed_by": self.closed_by, "reason": self.reason}


def _of(row: Any) -> ReconException:
    m = dict(row._mapping)
    m["detail"] = json.loads(m["detail"]) if m["detail"] else {}
    return ReconException(**m)


def list_exceptions(conn: Connection, *, state: str | None = "open", outcome: str | None = None,
                    channel: str | None = None, limit: int = 500) -> list[ReconException]:
    q = select(recon_exceptions).order_by(recon_exceptions.c.id.desc()).limit(limit)
    if state:
        q = q.where(recon_exceptions.c.state == state)
    if outcome:
        q = q.where(recon_exceptions.c.outcome == outcome)
    if channel:
        q = q.where(recon_exceptions.c.channel == channel)
    return [_of(r) for r in conn.execute(q)]


def count_open(conn: Connection) -> dict[str, int]:
    from sqlalchemy import func

    q = select(recon_exceptions.c.outcome, func.count()).where(
        recon_exceptions.c.state == "open").group_by(recon_exceptions.c.outcome)
    return {o: int(n) for o, n in conn.execute(q)}


def get_exception(conn: Connection, exc_id: int) -> ReconException:
    q = select(recon_exceptions).where(recon_exceptions.c.id == exc_id)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    row = conn.execute(q).first()
    if row is None:
        raise NotFound(f"no exception {exc_id}", code="unknown_exception", field="exception_id")
    return _of(row)


def act(conn: Connection, config: Config, exc_id: int, action: str, *, actor: str,
        reason: str, bill_no: str | None = None, now: dt.datetime | None = None,
        remote: str | None = None) -> str:
    """Take ``action`` on an open exception; return what was done (one line).  Audited
    in the caller's transaction (``recon_actions`` and the desk's audit trail)."""
    now = now or utcnow()
    if action not in ACTIONS:
        raise ValidationError(f"action must be one of {', '.join(ACTIONS)}",
                              code="bad_action", field="action")
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError("a reason is required", code="missing_reason", field="reason")
    exc = get_exception(conn, exc_id)
    if exc.state != "open":
        raise Conflict(f"exception {exc_id} is already closed ({exc.reason})",
                       code="already_closed", field="exception_id")
    done = _ACTIONS[action](conn, config, exc, bill_no, reason, now)
    conn.execute(insert(recon_actions).values(
        exception_id=exc.id, action=action, actor=actor[:64], reason=reason,
        detail=json.dumps({"done": done, "bill_no": bill_no}, ensure_ascii=False), at=now))
    conn.execute(update(recon_exceptions).where(recon_exceptions.c.id == exc.id).values(
        state="closed", closed_at=now, closed_by=actor[:64], reason=f"{action}: {reason}"))
    where = audit.Where(biller=_biller_of(conn, exc, bill_no), remote=remote)
    audit.record(conn, actor, f"recon_{action}", where,
                 detail={"exception_id": exc.id, "outcome": exc.outcome,
                         "channel": exc.channel, "txn_id": exc.txn_id,
                         "bill_no": bill_no or exc.bill_no, "amount": exc.amount,
                         "reason": reason, "note": done}, at=now)
    return done


def _biller_of(conn: Connection, exc: ReconException, bill_no: str | None) -> str | None:
    """The exception's biller, else that of the bill it names (a suspense line has none
    of its own), so the biller's supervisors see the action in their audit trail."""
    if exc.biller:
        return exc.biller
    named = bill_no or exc.bill_no
    bill = find_bill(conn, named) if named else None
    return bill.biller if bill else None


def _post_to(conn: Connection, config: Config, exc: ReconException, bill_no: str,
             now: dt.datetime) -> str:
    bill = find_bill(conn, bill_no)
    if bill is None:
        raise NotFound(f"no bill {bill_no}", code="unknown_bill", field="bill_no")
    if not exc.txn_id or exc.amount <= 0:
        raise ValidationError("this exception has no transaction to post",
                              code="nothing_to_post", field="exception_id")
    result = post_payment(conn, config, PaymentIn(
        channel=exc.channel, txn_id=exc.txn_id, bill_no=bill.bill_no, amount=exc.amount,
        currency=config.biller(bill.biller).currency, status="success",
        reference=f"recon-exception:{exc.id}"), now=now)
    return f"{result.result} to {bill.bill_no}, receipt {result.receipt_no}"


def _post(conn: Connection, config: Config, exc: ReconException, bill_no: str | None,
          reason: str, now: dt.datetime) -> str:
    target = bill_no or exc.bill_no
    if not target:
        raise ValidationError("which bill? give --bill", code="missing_bill", field="bill_no")
    return _post_to(conn, config, exc, target, now)


def _refund(conn: Connection, config: Config, exc: ReconException, bill_no: str | None,
            reason: str, now: dt.datetime) -> str:
    if exc.payment_id is not None and conn.execute(select(refunds_due.c.id).where(
            refunds_due.c.payment_id == exc.payment_id)).first() is not None:
        return "already on the refunds-due list"
    account = None
    if exc.bill_no:
        bill = find_bill(conn, exc.bill_no)
        account = bill.account_no if bill else None
    conn.execute(insert(refunds_due).values(
        biller=exc.biller, account_no=account, bill_no=exc.bill_no, payment_id=exc.payment_id,
        amount=exc.amount, reason=reason, exception_id=exc.id, created_at=now))
    return f"{to_decimal_str(exc.amount)} on the refunds-due list"


def _write_off(conn: Connection, config: Config, exc: ReconException, bill_no: str | None,
               reason: str, now: dt.datetime) -> str:
    return "written off"


def _link(conn: Connection, config: Config, exc: ReconException, bill_no: str | None,
          reason: str, now: dt.datetime) -> str:
    if not bill_no:
        raise ValidationError("link needs the other bill", code="missing_bill",
                              field="bill_no")
    posted = exc.payment_id is not None and conn.execute(select(payments.c.status).where(
        payments.c.id == exc.payment_id)).scalar() == "success"
    if posted:
        if find_bill(conn, bill_no) is None:
            raise NotFound(f"no bill {bill_no}", code="unknown_bill", field="bill_no")
        return f"linked to {bill_no} (the payment stays posted where it is)"
    return _post_to(conn, config, exc, bill_no, now)


_ACTIONS = {"post": _post, "refund": _refund, "write_off": _write_off, "link": _link}


@dataclass(frozen=True)
class RefundDue:
    source: str  # recon (a bill paid twice, or marked for refund) or biller_api (credit)
    biller: str | None
    account_no: str | None
    bill_no: str | None
    payment_id: int | None
    amount: int
    reason: str
    created_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "biller": self.biller, "account_no": self.account_no,
                "bill_no": self.bill_no, "payment_id": self.payment_id,
                "amount": to_decimal_str(self.amount), "reason": self.reason,
                "created_at": self.created_at.isoformat()}


def refunds_list(conn: Connection, biller: str | None = None) -> list[RefundDue]:
    """Money owed back to consumers, newest first: reconciliation's refunds-due list and
    the credits the biller API took for bills already paid (``channel_credits``)."""
    from qrpay.store.schema import channel_credits

    q = select(refunds_due)
    c = select(channel_credits)
    if biller:
        q = q.where(refunds_due.c.biller == biller)
        c = c.where(channel_credits.c.biller == biller)
    out = [RefundDue("recon", r.biller, r.account_no, r.bill_no, r.payment_id, r.amount,
                     r.reason, r.created_at) for r in conn.execute(q)]
    out += [RefundDue("biller_api", r.biller, r.account_no, r.bill_no, r.payment_id,
                      r.amount, f"credit: {r.channel} {r.txn_id}", r.created_at)
            for r in conn.execute(c)]
    return sorted(out, key=lambda r: r.created_at, reverse=True)


def payment_history(conn: Connection, channel: str, txn_id: str) -> dict[str, Any]:
    """Everything reconciliation knows of one channel transaction: the payment, each
    settlement line with its outcome, and the exceptions opened for it."""
    from qrpay.store.schema import recon_files, recon_lines

    pay = conn.execute(select(payments).where(payments.c.channel == channel,
                                              payments.c.txn_id == txn_id)).first()
    lines = conn.execute(
        select(recon_lines, recon_files.c.file_name)
        .join(recon_files, recon_files.c.id == recon_lines.c.file_id)
        .where(recon_lines.c.channel == channel, recon_lines.c.txn_id == txn_id)
        .order_by(recon_lines.c.id)).fetchall()
    excs = [e.as_dict() for e in list_exceptions(conn, state=None, channel=channel, limit=10_000)
            if e.txn_id == txn_id]
    if pay is None and not lines and not excs:
        raise NotFound(f"nothing known of {channel} {txn_id}", code="unknown_txn",
                       field="txn_id")
    return {
        "channel": channel, "txn_id": txn_id,
        "payment": None if pay is None else {
            "id": pay.id, "bill_no": pay.bill_no, "amount": to_decimal_str(pay.amount),
            "status": pay.status, "receipt_no": pay.receipt_no,
            "posted_at": pay.posted_at.isoformat() if pay.posted_at else None,
            "reference": pay.reference},
        "lines": [{"file": r.file_name, "line": r.line_no, "kind": r.kind,
                   "outcome": r.outcome, "amount": to_decimal_str(r.amount),
                   "fee": to_decimal_str(r.fee), "tax": to_decimal_str(r.tax),
                   "net": None if r.net is None else to_decimal_str(r.net),
                   "settlement_id": r.settlement_id,
                   "settled_on": r.settled_on.isoformat() if r.settled_on else None}
                  for r in lines],
        "exceptions": excs,
    }
