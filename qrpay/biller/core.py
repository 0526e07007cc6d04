"""The three questions every channel asks the biller: inquiry, payment, status.

Framework-free: a dialect (``qrpay.biller.dialects``) turns its wire format into these
calls and their answers (or :class:`~qrpay.errors.QrpayError` codes) back into its own
vocabulary.

* :func:`inquire` (read-only): identifier -> the bill(s) due, with the amount rule.
* :func:`pay` (inside a write transaction: :mod:`qrpay.biller.service` runs it in the
  group-commit writer, :mod:`qrpay.biller.writer`): posts through
  :func:`qrpay.payments.posting.post_payment`, exactly once per ``(channel, txn_id)``.
  A repeat of the same transaction answers the original result (``duplicate``), even
  when the bill has since been paid or a newer bill imported; the bill row is locked
  before the policy is checked, so concurrent repeats wait for the first and then see
  it.  Refusals: ``customer_not_found``, ``bill_not_found``, ``several_accounts``,
  ``already_paid`` (policy ``refuse``), ``below_minimum``, ``amount_differs``,
  ``after_cutoff``, ``txn_mismatch`` (the same transaction id with another bill or
  amount).  With ``already_paid = "credit"`` a payment of a settled bill is posted, kept
  in ``channel_credits`` and put on finance's ``refunds_due`` list (refund or carry).
* :func:`status`: ``(channel, txn_id)`` -> what happened, after commit.

In a batch of the writer's shared jobs (:mod:`qrpay.biller.writer`) :func:`pay` posts
into the batch's one :class:`~qrpay.payments.batch.Batch`, and its receipt number is
known only once every payment of the batch is decided: a dialect builds its answer with
:func:`answered` (now, or in a :class:`~qrpay.biller.writer.Later`).  Inquiries inside
such a batch see the ledger sums the batch's earlier payments left.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from sqlalchemy import Connection, select, text

from qrpay.biller.lookup import (
    Found,
    Identifier,
    bill_numbers,
    bills_query,
    find_bills,
    found_in,
)
from qrpay.biller.policy import BillerPolicy, api_profile
from qrpay.biller.rules import Bounds, bounds, check_cutoff, past_cutoff
from qrpay.biller.writer import LOCKED, Careful, Later, Shared, shared
from qrpay.bills import Bill, find_bill
from qrpay.clock import aware, utcnow
from qrpay.config import Biller, Config
from qrpay.errors import Conflict, NotFound, PaymentError, QrpayError
from qrpay.ids import mobile
from qrpay.payments.batch import Batch, Payment, check_shape
from qrpay.payments.ledger import (
    BillStatus,
    Sums,
    amount_due_on,
    bill_status,
    is_late,
    status_of,
)
from qrpay.payments.model import PostingResult
from qrpay.payments.posting import PaymentIn, get_payment, post_payment
from qrpay.store.raw import Pending, Raw
from qrpay.store.schema import channel_credits, refunds_due


def issued_at(bill: Bill, now: dt.datetime) -> dt.datetime:
    """When a bill counts as issued for the channels (BBPS ``generatedOn``, GSMA
    ``creationDate``): the first day after its month (UTC midnight), never in the future
    and always before the due date (NPCI's rules for ``generatedOn``)."""
    year, month = int(bill.period[:4]), int(bill.period[5:7])
    start = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=dt.UTC)
    due_at = dt.datetime.combine(bill.due_date, dt.time(), tzinfo=dt.UTC)
    return min(start, now, due_at - dt.timedelta(days=1))


@dataclass(frozen=True)
class BillDue:
    """One bill as an inquiry answers it."""

    bill: Bill
    biller: Biller
    status: BillStatus
    policy: BillerPolicy
    today: dt.date
    sums: Sums | None = None  # the ledger sums the status was derived from, when read so

    @property
    def due_now(self) -> int:
        return self.status.due_now

    @property
    def late(self) -> bool:
        return is_late(self.bill, self.today, self.biller.late_payment.grace_days)

    @property
    def past_cutoff(self) -> bool:
        return past_cutoff(self.policy, self.bill.due_date, self.today)

    @property
    def bounds(self) -> Bounds | None:
        """The accepted amounts, or None when nothing is due."""
        return bounds(self.policy, self.due_now) if self.due_now > 0 else None

    @property
    def breakdown(self) -> tuple[tuple[str, int], ...]:
        heads = list(self.bill.charges)
        late_fee = self.due_now - self.bill.amount if self.late else 0
        if late_fee > 0 and self.status.paid == 0:
            heads.append(("late_fee", late_fee))
        return tuple(heads)


@dataclass(frozen=True)
class Inquiry:
    ident: Identifier
    period: str | None = None  # YYYY-MM
    allowed: tuple[str, ...] = ()  # billers the caller may reach (empty: all)


@dataclass(frozen=True)
class InquiryResult:
    bills: tuple[BillDue, ...]

    @property
    def several(self) -> bool:
        return len({(b.bill.biller, b.bill.account_no) for b in self.bills}) > 1

    @property
    def first(self) -> BillDue:
        return self.bills[0]


def _allowed(config: Config, channel: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    takes = tuple(code for code, b in config.billers.items() if channel in b.channels)
    return tuple(c for c in takes if not allowed or c in allowed)


def _prefixes(config: Config) -> dict[str, tuple[str, ...]]:
    profile = api_profile(config)
    return {code: profile.policy(code).account_prefixes for code in config.billers}


def _due(conn: Connection, config: Config, bill: Bill, now: dt.datetime,
         sums: Sums | None = None) -> BillDue:
    """``bill`` as due at ``now``; ``sums``: its ledger sums if already read."""
    biller = config.biller(bill.biller)
    today = biller.today(now)
    grace = biller.late_payment.grace_days
    state = shared(conn)
    if state is not None and state.posting is not None and bill.bill_no in state.posting.sums:
        sums = state.posting.sums[bill.bill_no]  # what this batch's payments left
    status = (bill_status(conn, bill, today, grace) if sums is None
              else status_of(bill, today, sums, (), grace))
    return BillDue(bill=bill, biller=biller, status=status,
                   policy=api_profile(config).policy(bill.biller), today=today, sums=sums)


def inquire(conn: Connection, config: Config, channel: str, q: Inquiry, *,
            now: dt.datetime | None = None) -> InquiryResult:
    """The bills ``q`` names among the billers that take ``channel``."""
    now = now or utcnow()
    allowed = _allowed(config, channel, q.allowed)
    if not allowed:
        raise NotFound("no biller takes this channel", code="customer_not_found")
    found = find_bills(conn, config, q.ident, period=q.period, allowed=allowed,
                       prefixes=_prefixes(config))
    return _answer(conn, config, found, now)


def _answer(conn: Connection, config: Config, found: list[Found], now: dt.datetime
            ) -> InquiryResult:
    return InquiryResult(tuple(_due(conn, config, f.bill, now, f.sums) for f in found))


def bills_named(conn: Connection, config: Config, channel: str, ident: Identifier,
                period: str | None = None, allowed: tuple[str, ...] = ()
                ) -> Callable[[], tuple[str, ...]]:
    """The bill numbers a payment naming ``ident`` may post to (read, not locked): what a
    PostgreSQL batch locks up front (:mod:`qrpay.biller.writer`).  The read is sent now,
    in the writer's pipeline; the function returned gives the numbers once it is done."""
    reach = _allowed(config, channel, allowed)
    if not reach:
        return tuple
    return bill_numbers(conn, config, ident, period=period, allowed=reach,
                        prefixes=_prefixes(config))


@dataclass(frozen=True)
class PayRequest:
    channel: str
    txn_id: str
    ident: Identifier
    amount: int  # minor units
    period: str | None = None
    payer: str | None = None
    paid_at: dt.datetime | None = None
    allowed: tuple[str, ...] = ()


@dataclass(frozen=True)
class PayResult:
    result: str  # posted | duplicate
    payment_id: int
    receipt_no: str | None  # None only until a shared batch took its receipts
    bill: Bill
    amount: int
    bill_state: str | None
    credit: int  # minor units taken as a credit on the account (already-paid policy)
    posted_at: dt.datetime | None
    txn_id: str
    pending: Payment | None = field(default=None, compare=False, repr=False)

    def receipted(self) -> PayResult:
        """With the receipt number its shared batch gave the payment."""
        if self.pending is None:
            return self
        assert self.pending.receipt_no is not None, "the batch takes receipts first"
        return replace(self, receipt_no=self.pending.receipt_no,
                       payment_id=self.pending.id, pending=None)


T = TypeVar("T")


def answered(result: PayResult, build: Callable[[PayResult], T]) -> T | Later:
    """``build(result)`` once ``result`` has its receipt number: now, or (a payment of a
    shared batch) as the batch's :class:`~qrpay.biller.writer.Later`."""
    if result.pending is None:
        return build(result)
    return Later(lambda: build(result.receipted()))


def matches(bill: Bill, ident: Identifier) -> bool:
    """Whether ``ident`` (as typed) names ``bill``'s account."""
    from qrpay.biller.lookup import compact

    value = compact(ident.value, ident.kind)
    if ident.kind == "bill":
        return bill.bill_no == value
    if ident.kind == "account":
        return bill.account_no == value
    if ident.kind == "meter":
        return (bill.meter_no or "") == value
    country = _country(bill)
    return country is not None and mobile.is_valid(ident.value, country) and (
        mobile.validate(ident.value, country) == bill.mobile)


def _country(bill: Bill) -> str | None:
    """The country of the bill's stored (E.164) mobile number, by the numbering plans of
    :mod:`qrpay.ids.mobile`."""
    stored = bill.mobile or ""
    return next((plan.country for plan in mobile.PLANS.values()
                 if stored.startswith(f"+{plan.code}")), None)


def _repeat(conn: Connection, row: dict[str, Any], req: PayRequest) -> PayResult:
    """The answer to a transaction already stored: the original, or ``txn_mismatch``."""
    bill = find_bill(conn, row["bill_no"])
    if bill is None or row["amount"] != req.amount or not matches(bill, req.ident):
        raise Conflict(f"transaction {req.txn_id} was first paid for another bill or amount",
                       code="txn_mismatch", field="txn_id")
    if row["status"] != "success" or not row["receipt_no"]:
        raise Conflict(f"transaction {req.txn_id} is {row['status']}",
                       code="txn_not_posted", field="txn_id")
    credit = conn.execute(select(channel_credits.c.amount).where(
        channel_credits.c.payment_id == row["id"])).scalar()
    return PayResult(result="duplicate", payment_id=row["id"], receipt_no=row["receipt_no"],
                     bill=bill, amount=row["amount"], bill_state=None, credit=int(credit or 0),
                     posted_at=row["posted_at"], txn_id=req.txn_id)


_STORED_SQL = ("SELECT id, status, bill_no, amount, receipt_no, posted_at FROM payments "
               "WHERE channel = ? AND txn_id = ?")
_STORED_KEYS = ("id", "status", "bill_no", "amount", "receipt_no", "posted_at")


def existing(conn: Connection, channel: str, txn_id: str) -> dict[str, Any] | None:
    """The stored payment of ``(channel, txn_id)``, if any (the columns a repeat needs)."""
    return _stored(Raw(conn).one(_STORED_SQL, (channel, txn_id)))


def _stored(row: tuple[Any, ...] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    out = dict(zip(_STORED_KEYS, row, strict=True))
    if isinstance(out["posted_at"], str):
        out["posted_at"] = aware(dt.datetime.fromisoformat(out["posted_at"]))
    return out


def _lock(conn: Connection, config: Config, req: PayRequest, bill: Bill) -> Found | None:
    """PostgreSQL: lock the bill row, then read it again (the lock waited for whoever
    held it; this statement sees what they committed).  SQLite's write transaction
    already excludes everyone else, and so did a PostgreSQL batch that locked the bill
    before its first read (:mod:`qrpay.biller.writer`): nothing to do."""
    if conn.dialect.name != "postgresql" or bill.bill_no in conn.info.get(LOCKED, ()):
        return None
    conn.execute(text("SELECT 1 FROM bills WHERE bill_no = :b FOR UPDATE"), {"b": bill.bill_no})
    return find_bills(conn, config, Identifier("bill", bill.bill_no), allowed=req.allowed)[0]


def _check_ceiling(due: BillDue, amount: int) -> None:
    """The posting path holds a channel payment above the biller's ceiling
    (``[billers.amount_limits]``) for review; a wallet is told so before it pays."""
    grace = due.biller.late_payment.grace_days
    ceiling = due.biller.amount_limits.ceiling(amount_due_on(due.bill, due.today, grace))
    if amount > ceiling:
        raise PaymentError("the amount is above what this biller takes through a channel",
                           code="amount_differs", field="amount")


def _accept(due: BillDue, amount: int) -> int:
    """Check ``amount`` against the policy; return the part taken as a credit."""
    check_cutoff(due.policy, due.bill.due_date, due.today)
    _check_ceiling(due, amount)
    if due.due_now > 0:
        b = due.bounds
        assert b is not None
        b.check(amount)
        return 0
    if due.policy.already_paid == "refuse":
        raise PaymentError(f"bill {due.bill.bill_no} is already paid", code="already_paid",
                           field="bill_no")
    return amount


def _list_credit(conn: Connection, req: PayRequest, bill: Bill, payment_id: int,
                 credit: int, now: dt.datetime) -> None:
    """A payment of a settled bill taken as a credit: kept for the channel's repeats
    (``channel_credits``) and put on finance's refunds-due list (refund it, or carry it
    to the next bill)."""
    conn.execute(channel_credits.insert().values(
        payment_id=payment_id, channel=req.channel, txn_id=req.txn_id, biller=bill.biller,
        bill_no=bill.bill_no, account_no=bill.account_no, amount=credit, created_at=now))
    conn.execute(refunds_due.insert().values(
        biller=bill.biller, account_no=bill.account_no, bill_no=bill.bill_no,
        payment_id=payment_id, amount=credit, created_at=now,
        reason=f"bill already paid: {req.channel} {req.txn_id} taken as a credit"))


def _one_account(found: tuple[BillDue, ...], req: PayRequest) -> BillDue:
    if len({(d.bill.biller, d.bill.account_no) for d in found}) > 1:
        raise PaymentError("this number has several accounts: pay by account number",
                           code="several_accounts", field=req.ident.kind)
    return found[0]


def pay(conn: Connection, config: Config, req: PayRequest, *,
        now: dt.datetime | None = None) -> PayResult:
    """Post ``req`` once; call inside a write transaction (``store.begin()``)."""
    now = now or utcnow()
    state = shared(conn)
    stored, found = _stored_and_found(conn, config, req, now)
    _not_claimed_here(state, req)  # (a payment row reserved in memory is not stored yet)
    if stored is not None:
        return _repeat(conn, stored, req)
    if found is None:  # the identifier names nothing: inquire says why
        found = list(inquire(conn, config, req.channel,
                             Inquiry(req.ident, req.period, req.allowed), now=now).bills)
    due = _one_account(tuple(found), req)
    fresh = _lock(conn, config, req, due.bill)
    if fresh is not None:
        stored = existing(conn, req.channel, req.txn_id)  # a twin committed meanwhile
        if stored is not None:
            _not_claimed_here(state, req)
            return _repeat(conn, stored, req)
        due = _due(conn, config, fresh.bill, now, fresh.sums)
    credit = _accept(due, req.amount)
    p = PaymentIn(channel=req.channel, txn_id=req.txn_id, bill_no=due.bill.bill_no,
                  amount=req.amount, currency=due.biller.currency, paid_at=req.paid_at,
                  payer=req.payer, mode="wallet")
    if state is None:
        posted, pending = post_payment(conn, config, p, now=now), None
    else:
        posted, pending = _post_shared(state, config, p, due, now, claim=bool(credit))
    if posted.result not in ("posted", "duplicate") or (
            posted.receipt_no is None and pending is None):
        raise PaymentError(f"the payment was {posted.result}, not posted",
                           code="amount_differs" if posted.result == "held" else "not_posted",
                           field="amount")
    if credit:
        if state is not None:
            state.wrote += 1
        _list_credit(conn, req, due.bill, posted.payment_id, credit, now)
    return PayResult(result=posted.result, payment_id=posted.payment_id,
                     receipt_no=posted.receipt_no, bill=due.bill, amount=req.amount,
                     bill_state=posted.bill_state, credit=credit, posted_at=now,
                     txn_id=req.txn_id, pending=pending)


Reads = tuple[Pending, Pending | None]


def _send_reads(conn: Connection, config: Config, req: PayRequest) -> Reads:
    """What :func:`pay` reads first: the stored payment of the request's transaction and
    the bills its identifier names (None where the identifier cannot be looked up), sent
    now (in the caller's pipeline, if one is open)."""
    raw = Raw(conn)
    reach = _allowed(config, req.channel, req.allowed)
    try:
        query = bills_query(config, req.ident, allowed=reach, prefixes=_prefixes(config)) \
            if reach else None
    except QrpayError:
        query = None
    return (raw.query(_STORED_SQL, (req.channel, req.txn_id)),
            raw.query(*query) if query is not None else None)


def prefetch(conn: Connection, config: Config, req: PayRequest) -> None:
    """In a batch of shared jobs, after its bills are locked, the writer calls this for
    each of its payments in one pipeline (:mod:`qrpay.biller.writer`): the reads
    :func:`pay` starts with are sent for the whole batch in one round trip, and
    :func:`pay` takes them instead of reading.  (Nothing a payment of the batch decides
    is written before the batch's end, and what the batch's earlier payments did is in
    its memory: the reads are what :func:`pay` would have read.)"""
    state = shared(conn)
    if state is not None:
        state.reads[(req.channel, req.txn_id)] = _send_reads(conn, config, req)


def _stored_and_found(conn: Connection, config: Config, req: PayRequest, now: dt.datetime
                      ) -> tuple[dict[str, Any] | None, list[BillDue] | None]:
    """The stored payment of the request's transaction and the bills its identifier
    names, prefetched by the batch (:func:`prefetch`) or read now in one round trip (a
    pipeline); the bills are None where the identifier cannot be looked up (the caller
    asks :func:`inquire`, which raises the reason)."""
    state = shared(conn)
    reads = state.reads.pop((req.channel, req.txn_id), None) if state is not None else None
    if reads is None:
        with Raw(conn).pipeline():
            reads = _send_reads(conn, config, req)
    stored_q, bills_q = reads
    stored_rows = stored_q.rows()
    stored = _stored(stored_rows[0] if stored_rows else None)
    if stored is not None or bills_q is None:
        return stored, None
    found = found_in(bills_q.rows(), req.ident, req.period)
    return None, list(_answer(conn, config, found, now).bills)


def _not_claimed_here(state: Shared | None, req: PayRequest) -> None:
    """A transaction claimed by an earlier payment of this shared batch has no receipt
    yet: the batch runs again the careful way, where the retry sees it as stored."""
    if state is not None and state.posting is not None and (
            (req.channel, req.txn_id) in state.posting.payments):
        raise Careful()


def _post_shared(state: Shared, config: Config, p: PaymentIn, due: BillDue,
                 now: dt.datetime, *, claim: bool) -> tuple[PostingResult, Payment]:
    """``p`` decided in the shared batch (written, and given its receipt number, at
    the batch's end); the bill as this payment read it (locked) seeds the batch.  The
    transaction was read as not stored in this transaction: its payment row is reserved
    (inserted at the batch's end with its receipt number), unless ``claim`` (a credit,
    whose rows name the payment at once)."""
    batch = state.posting
    if batch is None:
        batch = state.posting = Batch(state.conn, config)
    check_shape(p)
    if due.sums is not None:
        batch.seed(due.bill, due.sums)
    elif due.bill.bill_no not in batch.bills:
        batch.lock({due.bill.bill_no})
    if claim:
        state.wrote += 1  # the claim inserts the payment row
        batch.claim([(p, now)])
        res = batch.apply(p, now)
    else:
        res = batch.reserve(p, now)
        if res.result != "posted":  # refused below, its decision kept by the batch:
            state.wrote += 1  # only the careful way undoes it
    return res, batch.payments[(p.channel, p.txn_id)]


@dataclass(frozen=True)
class StatusResult:
    txn_id: str
    status: str  # success, failed, pending, reversed, cancelled
    receipt_no: str | None
    amount: int
    bill: Bill | None
    paid_at: dt.datetime | None
    posted_at: dt.datetime | None


def status(conn: Connection, channel: str, txn_id: str) -> StatusResult:
    """What became of ``(channel, txn_id)``; NotFound ``txn_not_found`` if nothing."""
    row = get_payment(conn, channel, txn_id)
    if row is None:
        raise NotFound(f"no transaction {txn_id}", code="txn_not_found", field="txn_id")
    return StatusResult(txn_id=txn_id, status=row["status"], receipt_no=row["receipt_no"],
                        amount=row["amount"], bill=find_bill(conn, row["bill_no"]),
                        paid_at=row["paid_at"], posted_at=row["posted_at"])


def credits_due(conn: Connection, biller: str | None = None) -> list[dict[str, Any]]:
    """Payments accepted as credits (the bill was already paid), newest first: what
    finance refunds or carries forward."""
    q = select(channel_credits).order_by(channel_credits.c.id.desc())
    if biller:
        q = q.where(channel_credits.c.biller == biller)
    return [dict(r._mapping) for r in conn.execute(q)]
