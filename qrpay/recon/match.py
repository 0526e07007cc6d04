"""The outcome of each settlement line, decided against the payments and the bills.

Lines are matched in batches (one query for the batch's payments, one for the payments
already settled, one for bills paid more than once), inside the import's transaction:

=====================  =============================================================
line                   outcome
=====================  =============================================================
payment, posted        ``matched`` (amounts equal) or ``amount_mismatch``
payment, no callback   ``posted``: ``post_payment`` now (receipt, ledger, SMS), the
                       line keeps the payment id as the mark "posted by reconciliation"
payment, newer bill    ``superseded``: applied to the account's newest bill (which
                       carries the old bill's arrears; a late callback naming the old
                       bill is the same payment); if that bill was paid already, the
                       credit goes on the refunds-due list; for review
payment, unknown       ``suspense`` (no such transaction and no such bill)
payment, bill paid     ``duplicate_payment``: the bill is in credit after another
twice                  transaction paid it; the credit goes on the refunds-due list
refund / reversal      ``refund``: ``post_payment(status="reversed")``, a ledger entry of
                       its own; less than the payment: ``partial_refund`` (for review)
second line, same      ``already_settled``
payment
failed, adjustment     ``ignored``
=====================  =============================================================

A line that resolves a transaction (``matched``, ``posted``, ``refund``) closes the
open exceptions of the same transaction, with the file and line as the reason.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from qrpay.bills import Bill, find_bill
from qrpay.clock import aware
from qrpay.config import Config
from qrpay.errors import QrpayError
from qrpay.money import to_decimal_str
from qrpay.payments.ledger import bill_status
from qrpay.payments.posting import PaymentIn, post_payment
from qrpay.recon.formats import Line
from qrpay.store.raw import Raw
from qrpay.store.schema import (
    bills,
    daily_settled,
    payments,
    recon_exceptions,
    refunds_due,
)
from qrpay.store.upsert import add_to

RESOLVING = ("matched", "posted", "refund")
SETTLES = ("matched", "posted", "duplicate_payment", "superseded", "amount_mismatch")
SUGGESTED = {"not_settled": "review", "amount_mismatch": "review",
             "duplicate_payment": "refund", "partial_refund": "review",
             "superseded": "review", "suspense": "post", "settlement_mismatch": "review"}
_PAY_KEYS = ("id", "txn_id", "status", "bill_no", "amount", "biller", "account_no")
_LINE_KEYS = ("file_id", "line_no", "channel", "kind", "txn_id", "bill_no", "utr", "amount",
              "fee", "tax", "net", "settlement_id", "settled_on", "outcome", "payment_id")
_LINE_SQL = (f"INSERT INTO recon_lines ({', '.join(_LINE_KEYS)}) VALUES "
             f"({', '.join('?' * len(_LINE_KEYS))})")


def _stamp(value: Any) -> dt.datetime | None:
    """A timestamp read on the driver connection (SQLite: text) as an aware datetime."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return aware(value) if value is not None else None


def _marks(n: int) -> str:
    return "(" + ", ".join("?" * n) + ")"


@dataclass
class Settlement:
    lines: int = 0
    gross: int = 0
    fee: int = 0
    tax: int = 0
    net: int = 0
    complete: bool = True  # every line gave its net

    def add(self, line: Line) -> None:
        sign = -1 if line.kind == "refund" else 1
        self.lines += 1
        self.gross += sign * line.amount
        self.fee += line.fee
        self.tax += line.tax
        if line.net is None:
            self.complete = False
        else:
            self.net += sign * line.net

    @property
    def ok(self) -> bool:
        return not self.complete or self.gross - self.fee - self.tax == self.net


@dataclass
class Decision:
    outcome: str
    payment_id: int | None = None
    detail: str = ""
    bill: Bill | None = None


@dataclass
class Matcher:
    """Decides and writes the outcome of each line of one file (see the module doc)."""

    conn: Connection
    config: Config
    channel: str
    file_id: int
    file_name: str
    now: dt.datetime
    counts: Counter[str] = field(default_factory=Counter)
    settlements: dict[str, Settlement] = field(default_factory=dict)
    # payment ids settled by this batch (earlier batches' lines are in recon_lines
    # already, found by _settled_before: memory stays bounded by the batch)
    settled: set[int] = field(default_factory=set)
    last_day: dt.date | None = None

    def run(self, lines: list[Line]) -> None:
        self.settled = set()
        found = self._payments({ln.txn_id for ln in lines if ln.txn_id})
        before = self._settled_before([p["id"] for p in found.values()])
        rows, exceptions, resolved = [], [], []
        decided: list[tuple[Line, Decision]] = []
        for line in lines:
            self._note_settlement(line)
            d = self._decide(line, found.get(line.txn_id or ""), before)
            decided.append((line, d))
        self._flag_paid_twice(decided)
        for line, d in decided:
            self.counts[d.outcome] += 1
            rows.append(self._line_row(line, d))
            if d.outcome in SUGGESTED:
                exceptions.append(self._exception_row(line, d))
            if d.outcome in RESOLVING and line.txn_id:
                resolved.append((line, d))
        Raw(self.conn).many(_LINE_SQL, rows)
        self._count_settled([d.payment_id for _, d in decided
                             if d.outcome in SETTLES and d.payment_id not in before
                             and d.payment_id is not None])
        if exceptions:
            self.conn.execute(insert(recon_exceptions), exceptions)
        self._close_resolved(resolved)

    # ------------------------------------------------------------------- lookups

    # The per-batch statements run on the driver connection (qrpay.store.raw): building
    # SQLAlchemy statements with 2,000 expanding parameters cost more than the queries.

    def _payments(self, txns: set[str]) -> dict[str, dict[str, Any]]:
        if not txns:
            return {}
        sql = ("SELECT id, txn_id, status, bill_no, amount, biller, account_no FROM payments "
               "WHERE channel = ? AND txn_id IN " + _marks(len(txns)))
        return {r[1]: dict(zip(_PAY_KEYS, r, strict=True))
                for r in Raw(self.conn).all(sql, [self.channel, *txns])}

    def _settled_before(self, ids: list[int]) -> set[int]:
        if not ids:
            return set()
        sql = ("SELECT payment_id FROM recon_lines WHERE payment_id IN " + _marks(len(ids))
               + " AND outcome IN " + _marks(len(SETTLES)))
        return {r[0] for r in Raw(self.conn).all(sql, [*ids, *SETTLES])}

    # ------------------------------------------------------------------- decisions

    def _note_settlement(self, line: Line) -> None:
        if line.settled_on and (self.last_day is None or line.settled_on > self.last_day):
            self.last_day = line.settled_on
        if line.settlement_id and line.kind != "other":
            self.settlements.setdefault(line.settlement_id, Settlement()).add(line)

    def _decide(self, line: Line, pay: dict[str, Any] | None, before: set[int]) -> Decision:
        if line.kind == "other" or not line.settled:
            return Decision("ignored", detail="not a settled payment or refund")
        if line.kind == "refund":
            return self._refund(line, pay)
        if pay is None:
            return self._unposted(line)
        if pay["id"] in before or pay["id"] in self.settled:
            return Decision("already_settled", pay["id"], "settled by an earlier line")
        self.settled.add(pay["id"])
        if pay["status"] == "success":
            if pay["amount"] != line.amount:
                return Decision("amount_mismatch", pay["id"],
                                f"posted {to_decimal_str(pay['amount'])}, settled "
                                f"{to_decimal_str(line.amount)}")
            return Decision("matched", pay["id"])
        if pay["status"] in ("pending", "failed"):
            return self._post(line, pay["bill_no"], stored=True)
        return Decision("suspense", pay["id"],
                        f"settled, but the payment is {pay['status']} here")

    def _unposted(self, line: Line) -> Decision:
        if not line.bill_no:
            return Decision("suspense", detail="no such transaction, and the line names no bill")
        bill = find_bill(self.conn, line.bill_no)
        if bill is None:
            return Decision("suspense", detail=f"no such transaction, and no bill {line.bill_no}")
        return self._post(line, bill.bill_no, bill)

    def _post(self, line: Line, bill_no: str, bill: Bill | None = None, *,
              stored: bool = False) -> Decision:
        """Post the line's money.  A bill a newer bill of the account has superseded
        is paid on the account's newest bill (it carries the old one's arrears), unless
        the transaction was already reported here for the old bill (``stored``: its key
        stays with that bill; the account balance counts it either way)."""
        bill = bill or find_bill(self.conn, bill_no)
        newer = self._newer_bill(bill) if bill else None
        target = (find_bill(self.conn, newer) if newer and not stored else None) or bill
        assert line.txn_id is not None
        currency = self.config.biller(target.biller).currency if target else ""
        p = PaymentIn(channel=self.channel, txn_id=line.txn_id,
                      bill_no=target.bill_no if target else bill_no,
                      amount=line.amount, currency=currency, status="success",
                      paid_at=aware(line.paid_at), utr=line.utr, mode=line.mode,
                      reference=f"recon:{self.file_id}:{line.line_no}")
        try:
            with self.conn.begin_nested():
                result = post_payment(self.conn, self.config, p, now=self.now)
        except QrpayError as exc:
            outcome = "amount_mismatch" if exc.code == "txn_mismatch" else "suspense"
            return Decision(outcome, detail=f"cannot post: {exc.code}: {exc.message}")
        self.settled.add(result.payment_id)
        if newer is not None and bill is not None and target is not None:
            return self._superseded(bill, target, result, stored)
        return Decision("posted", result.payment_id, f"receipt {result.receipt_no}", bill)

    def _superseded(self, old: Bill, target: Bill, result: Any, stored: bool) -> Decision:
        if stored or target.bill_no == old.bill_no:
            return Decision("superseded", result.payment_id,
                            f"bill {old.bill_no} was superseded; the transaction was "
                            f"reported for it before, so it is posted there and counts on "
                            f"account {old.account_no}", old)
        if result.result == "held":
            return Decision("superseded", result.payment_id,
                            f"bill {old.bill_no} was superseded by {target.bill_no}; the "
                            f"payment is more than {target.bill_no} still owes: held for "
                            "review", target)
        credit = self._credit(target, result.payment_id, old.bill_no)
        note = (f"; the newer bill was already paid: credit {to_decimal_str(credit)} on the "
                "account, on the refunds-due list" if credit else "")
        return Decision("superseded", result.payment_id,
                        f"bill {old.bill_no} was superseded by {target.bill_no}: applied to "
                        f"{target.bill_no} (account {target.account_no}), receipt "
                        f"{result.receipt_no}{note}", target)

    def _credit(self, bill: Bill, payment_id: int, old_bill_no: str) -> int:
        """What the account is now in credit on ``bill`` (put on the refunds-due list)."""
        status = bill_status(self.conn, bill, self.now.date())
        if status.balance >= 0:
            return 0
        amount = self.conn.execute(select(payments.c.amount).where(
            payments.c.id == payment_id)).scalar_one()
        credit = min(int(amount), -status.balance)
        if self.conn.execute(select(refunds_due.c.id).where(
                refunds_due.c.payment_id == payment_id)).first() is None:
            self.conn.execute(insert(refunds_due).values(
                biller=bill.biller, account_no=bill.account_no, bill_no=bill.bill_no,
                payment_id=payment_id, amount=credit, created_at=self.now,
                reason=f"late payment for superseded bill {old_bill_no}; "
                       f"{bill.bill_no} was already paid"))
        return credit

    def _newer_bill(self, bill: Bill) -> str | None:
        q = (select(bills.c.bill_no).where(bills.c.biller == bill.biller,
                                           bills.c.account_no == bill.account_no,
                                           bills.c.period > bill.period)
             .order_by(bills.c.period.desc()).limit(1))
        return self.conn.execute(q).scalar()

    def _refund(self, line: Line, pay: dict[str, Any] | None) -> Decision:
        if pay is None:
            return Decision("suspense", detail="refund of a transaction not known here")
        if pay["status"] in ("reversed", "cancelled"):
            return Decision("already_settled", pay["id"], f"payment already {pay['status']}")
        if pay["status"] != "success":
            return Decision("suspense", pay["id"], f"refund of a {pay['status']} payment")
        if line.amount < pay["amount"]:
            return Decision("partial_refund", pay["id"],
                            f"refunded {to_decimal_str(line.amount)} of "
                            f"{to_decimal_str(pay['amount'])}")
        bill = find_bill(self.conn, pay["bill_no"])
        currency = self.config.biller(bill.biller).currency if bill else ""
        p = PaymentIn(channel=self.channel, txn_id=pay["txn_id"], bill_no=pay["bill_no"],
                      amount=pay["amount"], currency=currency, status="reversed",
                      reference=line.refund_id)
        try:
            with self.conn.begin_nested():
                post_payment(self.conn, self.config, p, now=self.now)
        except QrpayError as exc:
            return Decision("suspense", pay["id"], f"cannot reverse: {exc.code}")
        return Decision("refund", pay["id"], f"refund {line.refund_id or ''}".strip())

    def _flag_paid_twice(self, decided: list[tuple[Line, Decision]]) -> None:
        """A matched or posted payment on a bill that another success payment had
        already paid (the bill is now in credit): ``duplicate_payment``, refund due."""
        ids = [d.payment_id for _, d in decided
               if d.outcome in ("matched", "posted") and d.payment_id]
        if not ids:
            return
        raw = Raw(self.conn)
        rows = {r[0]: r[1] for r in raw.all(
            "SELECT id, bill_no FROM payments WHERE id IN " + _marks(len(ids)), ids)}
        bills_seen = sorted(set(rows.values()))
        multi = sorted(r[0] for r in raw.all(
            "SELECT bill_no FROM payments WHERE status = 'success' AND bill_no IN "
            + _marks(len(bills_seen)) + " GROUP BY bill_no HAVING COUNT(*) > 1", bills_seen))
        if multi:  # only bills the ledger shows in credit can have been paid twice
            multi = [r[0] for r in raw.all(
                "SELECT bill_no FROM ledger WHERE kind <> 'carry' AND bill_no IN "
                + _marks(len(multi)) + " GROUP BY bill_no HAVING SUM(amount) < 0", multi)]
        for _, d in decided:
            if d.payment_id in rows and rows[d.payment_id] in set(multi) and d.outcome in (
                    "matched", "posted"):
                self._maybe_duplicate(d, rows[d.payment_id])

    def _maybe_duplicate(self, d: Decision, bill_no: str) -> None:
        bill = find_bill(self.conn, bill_no)
        if bill is None:
            return
        first = self.conn.execute(
            select(func.min(payments.c.id)).where(payments.c.bill_no == bill_no,
                                                  payments.c.status == "success")).scalar()
        status = bill_status(self.conn, bill, self.now.date())
        if d.payment_id == first or status.balance >= 0:
            return
        amount = self.conn.execute(select(payments.c.amount).where(
            payments.c.id == d.payment_id)).scalar_one()
        refund = min(amount, -status.balance)
        d.outcome = "duplicate_payment"
        d.bill = bill
        d.detail = (f"bill {bill_no} was already paid; credit {to_decimal_str(refund)} on "
                    f"account {bill.account_no}, on the refunds-due list")
        exists = self.conn.execute(select(refunds_due.c.id).where(
            refunds_due.c.payment_id == d.payment_id)).first()
        if exists is None:
            self.conn.execute(insert(refunds_due).values(
                biller=bill.biller, account_no=bill.account_no, bill_no=bill_no,
                payment_id=d.payment_id, amount=refund, reason="bill paid twice",
                created_at=self.now))

    # ------------------------------------------------------------------- writing

    def _count_settled(self, ids: list[int]) -> None:
        """Add the payments these lines settled for the first time to ``daily_settled``
        (by the biller-local day each was posted), for the settled/unsettled report."""
        if not ids:
            return
        sums: Counter[tuple[str, dt.date, str]] = Counter()
        counts: Counter[tuple[str, dt.date, str]] = Counter()
        sql = ("SELECT biller, channel, posted_at, amount FROM payments WHERE id IN "
               + _marks(len(ids)))
        for biller, channel, posted_at, amount in Raw(self.conn).all(sql, ids):
            when = _stamp(posted_at) or self.now
            key = (biller, self.config.biller(biller).local(when).date(), channel)
            sums[key] += amount
            counts[key] += 1
        add_to(self.conn, daily_settled,
               [{"biller": b, "day": d, "channel": c, "count": counts[(b, d, c)],
                 "amount": sums[(b, d, c)]} for b, d, c in sums], ("count", "amount"))

    def _line_row(self, line: Line, d: Decision) -> tuple[Any, ...]:
        """The ``recon_lines`` row, in :data:`_LINE_KEYS` order."""
        return (self.file_id, line.line_no, self.channel, line.kind, line.txn_id, line.bill_no,
                line.utr, line.amount, line.fee, line.tax, line.net, line.settlement_id,
                line.settled_on, d.outcome, d.payment_id)

    def _exception_row(self, line: Line, d: Decision) -> dict[str, Any]:
        bill_no = d.bill.bill_no if d.bill else line.bill_no
        return {"outcome": d.outcome, "channel": self.channel, "txn_id": line.txn_id,
                "biller": d.bill.biller if d.bill else None, "bill_no": bill_no,
                "payment_id": d.payment_id, "file_id": self.file_id,
                "line_no": line.line_no, "amount": line.amount,
                "detail": json.dumps({"message": d.detail, "file": self.file_name,
                                      "line": line.line_no, "utr": line.utr,
                                      "settlement_id": line.settlement_id},
                                     ensure_ascii=False),
                "suggested": SUGGESTED[d.outcome], "state": "open", "opened_at": self.now}

    def _close_resolved(self, resolved: list[tuple[Line, Decision]]) -> None:
        by_txn = {line.txn_id: (line, d) for line, d in resolved}
        if not by_txn:
            return
        txns = sorted(t for t in by_txn if t)
        sql = ("SELECT id, txn_id FROM recon_exceptions WHERE state = 'open' AND channel = ? "
               "AND (file_id IS NULL OR file_id <> ?) AND txn_id IN " + _marks(len(txns)))
        for exc_id, txn_id in Raw(self.conn).all(sql, [self.channel, self.file_id, *txns]):
            line, d = by_txn[txn_id]
            self.conn.execute(update(recon_exceptions).where(
                recon_exceptions.c.id == exc_id).values(
                state="closed", closed_at=self.now, closed_by="recon",
                reason=f"{d.outcome} in {self.file_name} line {line.line_no}"))
            self.counts["closed"] += 1
