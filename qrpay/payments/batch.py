"""A posting batch: any number of payment reports applied in one transaction, the
same way for one report (the desk, a wallet API) and for a group-commit batch of
callbacks.

The caller runs the steps in this order, inside its write transaction::

    batch = Batch(conn, config)
    batch.lock(bill_nos)                 # bills (PostgreSQL: locked) + their ledger sums
    batch.claim(reports)                 # payment rows: new ones inserted, all read
    results = [batch.apply(r) for r in reports]   # decisions, in memory only
    batch.take_receipts()                # one counter update per biller, last lock
    batch.write()                        # every write of the batch, one round trip
    results = [batch.final(r) for r in results]   # receipt numbers filled in

A caller that has read, in this transaction, that a report's transaction is not stored
(the biller API) may :meth:`~Batch.reserve` it instead of claiming it: its payment row is
then kept in memory and inserted once, by :meth:`~Batch.take_receipts`, in the state the
batch left it (receipt number included), in one round trip for the whole batch: one
statement per payment instead of an insert and an update.  Should one of them have been
stored meanwhile by another transaction, :class:`Claimed` is raised and nothing of the
batch may be committed (the caller runs it again, claiming).

Every report sees what the reports before it did: the batch keeps each payment's state
and each bill's ledger sums in memory, and :func:`qrpay.payments.decide.decide` decides
each report on them, in order.  Nothing is written between ``claim`` and ``write``, so a
report refused by ``check`` or ``apply`` (``QrpayError``) leaves nothing to undo and the
rest of the batch goes on.

Locks, in one order for every caller (no deadlock between two server processes or a
desk): the batch's bill rows in bill-number order (one statement), then the payment rows
in key order (one statement), then the receipt counters in biller order.  Reserved
payment rows are inserted after the counters (they are new rows: only a twin of the same
transaction being inserted at the same moment in another transaction can wait on them;
should that twin hold its row and wait for the counter, PostgreSQL breaks the deadlock and
the batch runs again).  On PostgreSQL each step is one round trip (a pipeline); ``ahead``
lets the caller put one statement of its own (the raw callback rows) in front of the
first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection

from qrpay.bills import Bill
from qrpay.clock import aware
from qrpay.config import Biller, Config
from qrpay.errors import Conflict, PaymentError, QrpayError, ValidationError
from qrpay.money import MAX_AMOUNT, to_decimal_str
from qrpay.notify.outbox import ENQUEUE_MANY_SQL, payment_notice_row
from qrpay.payments import statements as sql
from qrpay.payments.decide import NOTHING, POST, RECORD, REVERSE, Decision, Terms, decide
from qrpay.payments.ledger import Sums, charge_rows, entry_row
from qrpay.payments.model import COUNTER_CHANNEL, STATUSES, PaymentIn, PostingResult
from qrpay.payments.receipts import take_receipt_nos
from qrpay.store.raw import Raw, as_date

# paid_at must have a local day in every zone (offsets are under a day): nearer to the
# ends of the datetime range, converting it overflows
PAID_AT_RANGE = (dt.datetime(1, 1, 2, tzinfo=dt.UTC), dt.datetime(9999, 12, 30, tzinfo=dt.UTC))
# the longest text each column takes
LENGTHS = {"channel": 40, "txn_id": 100, "bill_no": 40, "mode": 20, "reference": 100,
           "payer": 200, "utr": 64}

Statement = tuple[str, Sequence[Any]]


def check_shape(p: PaymentIn) -> None:
    """The checks of a report that need nothing stored: PaymentError / ValidationError."""
    if not p.channel or not p.txn_id:
        raise PaymentError("channel and txn_id are required", code="missing_txn_id",
                           field="txn_id")
    if len(p.txn_id) > LENGTHS["txn_id"]:
        raise PaymentError("txn_id is longer than 100 characters", code="invalid_txn_id",
                           field="txn_id")
    if p.status not in STATUSES:
        raise PaymentError(f"status must be one of {', '.join(STATUSES)}, not {p.status!r}",
                           code="bad_status", field="status")
    _check_amount(p.amount)
    if p.paid_at is not None:
        _check_paid_at(p.paid_at)
    for name in ("channel", "bill_no", "mode", "reference", "payer", "utr"):
        value = getattr(p, name)
        if value is not None and len(value) > LENGTHS[name]:
            raise ValidationError(f"{name} is longer than {LENGTHS[name]} characters",
                                  code="bad_field", field=name)


def _check_amount(amount: Any) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise PaymentError("amount must be integer minor units", code="invalid_amount",
                           field="amount")
    if amount <= 0:
        raise PaymentError("amount must be more than zero", code="non_positive_amount",
                           field="amount")
    if amount > MAX_AMOUNT:
        raise PaymentError("amount is larger than any bill", code="amount_too_large",
                           field="amount")


def _check_paid_at(when: dt.datetime) -> None:
    low, high = PAID_AT_RANGE
    if not low <= aware(when) < high:
        raise ValidationError(f"paid_at {when.isoformat()} is out of range",
                              code="bad_paid_at", field="paid_at")


class Claimed(Conflict):
    """A reserved transaction was stored meanwhile by another transaction."""


@dataclass
class Payment:
    """A payment row as the batch has left it so far (a negative ``id``: reserved, not
    inserted yet)."""

    id: int
    channel: str
    txn_id: str
    bill_no: str
    amount: int
    status: str | None  # None: created by this batch's claim, no report applied yet
    receipt_no: str | None
    paid_at: Any
    utr: str | None
    payer: str | None
    posted_at: Any
    reversed_at: Any
    changed: bool = False
    updated_at: Any = None


@dataclass(frozen=True)
class _Entry:
    """A ledger row to write; a payment's receipt number is read at write time."""

    bill: Bill
    kind: str
    amount: int
    payment: Payment | None
    note: str | None
    ts: Any


@dataclass(frozen=True)
class _Notice:
    biller: Biller
    bill: Bill
    payment: Payment
    notice: str  # payment_received, payment_reversed
    ts: Any
    balance: int | None = None  # still due after this payment (the SMS states it)


@dataclass
class Batch:
    """See the module docstring for the steps."""

    conn: Connection
    config: Config
    raw: Raw = field(init=False)
    bills: dict[str, Bill | None] = field(default_factory=dict)
    sums: dict[str, Sums] = field(default_factory=dict)
    payments: dict[tuple[str, str], Payment] = field(default_factory=dict)
    entries: list[_Entry] = field(default_factory=list)
    notices: list[_Notice] = field(default_factory=list)
    posted: list[tuple[str, Payment]] = field(default_factory=list)  # (biller, payment)
    by_id: dict[int, Payment] = field(default_factory=dict)
    # reserved payments (not inserted yet) and the parameters of their claim
    reserved: dict[tuple[str, str], tuple[Payment, tuple[Any, ...]]] = field(
        default_factory=dict)

    def __post_init__(self) -> None:
        self.raw = Raw(self.conn)

    # ------------------------------------------------------------ step 1: the bills

    def lock(self, bill_nos: set[str], ahead: Statement | None = None
             ) -> list[tuple[Any, ...]]:
        """Read every bill of the batch (PostgreSQL: and lock them, in bill-number
        order, in one statement) and then their ledger sums, in one round trip; the sums'
        snapshot is taken after the locks are held, so it sees everything committed for
        these bills.  Unknown numbers are remembered as None.  ``ahead``: one statement
        sent first in the same round trip; its rows are returned."""
        raw = self.raw
        ordered = sorted(b for b in bill_nos if len(b) <= LENGTHS["bill_no"])
        with raw.pipeline():
            first = raw.query(*ahead) if ahead is not None else None
            bills_q = raw.query(sql.bills_locked(len(ordered), raw.pg), ordered) if ordered \
                else None
            sums_q = raw.query(sql.ledger_sums(len(ordered)), ordered) if ordered else None
        self.bills.update(dict.fromkeys(ordered))
        by_bill: dict[str, list[tuple[str, int]]] = {}
        for row in bills_q.rows() if bills_q is not None else []:
            self.bills[row[0]] = _bill_of(row)
            by_bill[row[0]] = []
        for bill_no, kind, amount in sums_q.rows() if sums_q is not None else []:
            if bill_no in by_bill:
                by_bill[bill_no].append((kind, int(amount)))
        self.sums.update({b: Sums.of(rows) for b, rows in by_bill.items()})
        return first.rows() if first is not None else []

    def seed(self, bill: Bill, sums: Sums) -> None:
        """Instead of :meth:`lock`: a bill with its ledger sums that the caller read
        inside this transaction after locking it (PostgreSQL) or under the write lock
        (SQLite), as :meth:`lock` would have read them.  A bill the batch holds already
        keeps the state the batch's own reports left."""
        if self.bills.get(bill.bill_no) is None:
            self.bills[bill.bill_no] = bill
            self.sums[bill.bill_no] = sums

    def check(self, p: PaymentIn) -> tuple[Bill, Biller]:
        """The report's checks against its (locked) bill; raises QrpayError."""
        check_shape(p)
        bill = self.bills.get(p.bill_no)
        if bill is None:
            raise PaymentError(f"no bill {p.bill_no}", code="unknown_bill", field="bill_no")
        biller = self.config.biller(bill.biller)
        if p.channel != COUNTER_CHANNEL and p.channel not in biller.channels:
            raise PaymentError(f"{biller.code} does not take payments through {p.channel}",
                               code="channel_not_allowed", field="channel")
        if p.currency.upper() != biller.currency:
            raise PaymentError(f"currency {p.currency} does not match the bill's "
                               f"{biller.currency}", code="currency_mismatch",
                               field="currency")
        return bill, biller

    # ------------------------------------------------------------ step 2: the payments

    def claim(self, reports: Sequence[tuple[PaymentIn, dt.datetime]]) -> None:
        """Insert a payment row for each transaction not stored yet (the first report
        of each that passes :meth:`check`), in key order, then read the ones that were
        stored already (PostgreSQL: locked, in key order).  A transaction another process
        is inserting at the same moment waits for it and is then read as stored."""
        raw = self.raw
        first: dict[tuple[str, str], tuple[Any, ...]] = {}
        for p, now in reports:
            key = (p.channel, p.txn_id)
            if key in first or key in self.payments:
                continue
            try:
                bill, _ = self.check(p)
            except QrpayError:
                continue
            first[key] = _claim_params(raw, p, bill, now)
        if not first:
            return
        keys = sorted(first)
        created = raw.all(sql.claim_payments(len(keys)), [v for k in keys for v in first[k]])
        for pid, channel, txn_id in created:  # a new row holds what we just wrote
            params = first.pop((channel, txn_id))
            self._add(Payment(int(pid), channel, txn_id, params[3], params[5], None, None,
                              params[10], params[12], params[11], None, None))
        if first:  # stored before: read (PostgreSQL: and lock) them
            for r in raw.all(sql.payments_locked(len(first), raw.pg),
                             [v for key in sorted(first) for v in key]):
                self._add(Payment(*r))

    def reserve(self, p: PaymentIn, now: dt.datetime) -> PostingResult:
        """:meth:`apply` for a transaction the caller read as not stored in this
        transaction: its payment row is inserted by :meth:`take_receipts` (module
        docstring).  A refusal (QrpayError) leaves nothing behind."""
        key = (p.channel, p.txn_id)
        if key in self.payments:
            return self.apply(p, now)
        bill, _ = self.check(p)
        params = _claim_params(self.raw, p, bill, now)
        pay = Payment(-1 - len(self.by_id), p.channel, p.txn_id, bill.bill_no, p.amount,
                      None, None, params[10], params[12], params[11], None, None)
        self.payments[key] = pay
        self.reserved[key] = (pay, params)
        self.by_id[pay.id] = pay  # final() finds it by the id its result carries
        try:
            return self.apply(p, now)
        except QrpayError:
            del self.payments[key], self.reserved[key], self.by_id[pay.id]
            raise

    def _insert_reserved(self) -> None:
        """The reserved payment rows in their final state, one statement, key order."""
        if not self.reserved:
            return
        keys = sorted(self.reserved)
        rows = [_reserved_row(*self.reserved[k]) for k in keys]
        got = [r for r in _returning(self.raw, sql.insert_payment(), rows) if r is not None]
        if len(got) != len(keys):
            raise Claimed("a transaction of the batch was stored meanwhile",
                          code="txn_claimed", field="txn_id")
        for pid, channel, txn_id in got:
            pay, _ = self.reserved.pop((channel, txn_id))
            pay.id, pay.changed = int(pid), False
            self.by_id[pay.id] = pay

    def _add(self, pay: Payment) -> None:
        self.payments[(pay.channel, pay.txn_id)] = pay
        self.by_id[pay.id] = pay

    # ------------------------------------------------------------ step 3: decisions

    def apply(self, p: PaymentIn, now: dt.datetime, *, release: bool = False
              ) -> PostingResult:
        """Decide one report on the state the batch holds and queue its writes.
        Raises QrpayError (the checks, ``txn_mismatch``) before changing anything.
        ``release``: a reviewer releases a held payment (decided as a success after
        ``pending``, without the ceiling)."""
        bill, biller = self.check(p)
        key = (p.channel, p.txn_id)
        if key not in self.payments:
            self.claim([(p, now)])
        pay = self.payments[key]
        if pay.status is not None and not self._applied_to_newer(pay, p, bill):
            _same_payment(pay, p)
        sums = self.sums.get(bill.bill_no, Sums())
        limits = None if p.channel == COUNTER_CHANNEL or release else biller.amount_limits
        terms = Terms(bill, biller.late_payment.grace_days, limits)
        stored = "pending" if release and pay.status == "held" else pay.status
        decision = decide(stored, p.status, pay.amount, sums, terms,
                          biller.today(p.paid_at or now))
        self._queue(decision, biller, bill, pay, p, now)
        return PostingResult(result=decision.result, payment_id=pay.id,
                             status=pay.status or p.status, bill_no=pay.bill_no,
                             amount=pay.amount, receipt_no=pay.receipt_no,
                             bill_state=decision.bill_state, late_fee=decision.late_fee)

    def _applied_to_newer(self, pay: Payment, p: PaymentIn, named: Bill) -> bool:
        """A repeat of a success that names the bill a newer bill of the same account
        superseded, where the payment was applied (reconciliation applies a late payment
        for a superseded bill to the account's newest bill): the same payment, a
        duplicate that writes nothing."""
        if (pay.bill_no == p.bill_no or pay.amount != p.amount or pay.status != "success"
                or p.status != "success"):
            return False
        row = self.raw.one("SELECT biller, account_no, period FROM bills WHERE bill_no = ?",
                           [pay.bill_no])
        if row is None:
            return False
        biller, account_no, period = row
        return (biller, account_no) == (named.biller, named.account_no) and period > named.period

    def _queue(self, d: Decision, biller: Biller, bill: Bill, pay: Payment, p: PaymentIn,
               now: dt.datetime) -> None:
        ts = self.raw.ts(now)
        if d.sums is not None:
            self._charge(bill, ts)
            self.sums[bill.bill_no] = replace(d.sums, has_charge=True)
        if d.action == POST:
            if d.late_fee:
                self.entries.append(_Entry(bill, "late_fee", d.late_fee, pay,
                                           _late_note(bill, biller, p, now), ts))
            self.entries.append(_Entry(bill, "payment", -pay.amount, pay,
                                       f"{p.channel} {p.txn_id}", ts))
            self.notices.append(_Notice(biller, bill, pay, "payment_received", ts,
                                        d.sums.balance if d.sums is not None else None))
            self.posted.append((biller.code, pay))
            pay.paid_at = self.raw.ts(p.paid_at) if p.paid_at else pay.paid_at or ts
            pay.utr, pay.payer = p.utr or pay.utr, p.payer or pay.payer
            pay.posted_at = ts
        elif d.action == REVERSE:
            self.entries.append(_Entry(bill, "reversal", pay.amount, pay,
                                       f"reversed by {p.channel}", ts))
            self.notices.append(_Notice(biller, bill, pay, "payment_reversed", ts))
            pay.reversed_at = ts
        if d.action != NOTHING and not (d.action == RECORD and pay.status is None):
            pay.changed, pay.updated_at = True, ts  # (a new row holds its first report)
        pay.status = d.status

    def _charge(self, bill: Bill, ts: Any) -> None:
        """A bill inserted by other means than the importer is charged first."""
        sums = self.sums.get(bill.bill_no)
        if sums is None or not sums.has_charge:
            self.entries.extend(_Entry(bill, kind, amount, None, note, ts)
                                for kind, amount, note in charge_rows(bill))
            self.sums[bill.bill_no] = replace(sums or Sums(), charged=bill.amount,
                                              has_charge=True)

    # ------------------------------------------------------------ steps 4 and 5

    def take_receipts(self) -> None:
        """The receipt numbers of the batch's postings: one counter update per biller,
        in biller order; then the reserved payment rows (:class:`Claimed` if one was
        stored meanwhile)."""
        by_biller: dict[str, list[Payment]] = {}
        for code, pay in self.posted:
            by_biller.setdefault(code, []).append(pay)
        for code in sorted(by_biller):
            pays = by_biller[code]
            for pay, no in zip(pays, take_receipt_nos(self.raw, code, len(pays)),
                               strict=True):
                pay.receipt_no = no
        self.posted.clear()
        self._insert_reserved()

    def write(self, extra: Sequence[tuple[str, Sequence[Sequence[Any]]]] = ()) -> None:
        """Every write of the batch in one round trip (a pipeline on PostgreSQL): ledger
        rows, payment rows, SMS rows, then ``extra`` (statement, rows) of the caller."""
        assert not self.posted and not self.reserved, "take_receipts first"
        raw = self.raw
        ledger_rows = [entry_row(e.bill, e.kind, e.amount, e.ts,
                                 payment_id=e.payment.id if e.payment else None,
                                 receipt_no=e.payment.receipt_no if e.payment else None,
                                 note=e.note) for e in self.entries]
        changed = [p for p in self.payments.values() if p.changed]
        updates = [(p.status, p.receipt_no, p.paid_at, p.utr, p.payer, p.posted_at,
                    p.reversed_at, p.updated_at, p.id)
                   for p in changed]
        sms = [row for row in (self._notice_row(n) for n in self.notices) if row is not None]
        with raw.pipeline():
            raw.query_many(sql.insert_ledger(), ledger_rows)
            raw.query_many(sql.update_payment(), updates)
            raw.query_many(ENQUEUE_MANY_SQL, sms)
            for statement, rows in extra:
                raw.query_many(statement, rows)
        for p in changed:
            p.changed = False
        self.entries.clear()
        self.notices.clear()

    def _notice_row(self, n: _Notice) -> tuple[object, ...] | None:
        what = "received" if n.notice == "payment_received" else "reversed"
        return payment_notice_row(n.biller, n.bill, notice=n.notice,
                                  dedupe_key=f"payment:{n.payment.id}:{what}",
                                  amount=n.payment.amount, receipt_no=n.payment.receipt_no,
                                  ts=n.ts, balance=n.balance)

    def final(self, res: PostingResult) -> PostingResult:
        """``res`` with the receipt number its payment has after :meth:`take_receipts`
        (and, a reserved payment, the id it was inserted with)."""
        pay = self.by_id.get(res.payment_id)
        if pay is None or (res.receipt_no is not None or pay.receipt_no is None) and (
                res.payment_id == pay.id):
            return res
        return replace(res, payment_id=pay.id, receipt_no=res.receipt_no or pay.receipt_no)


def _bill_of(row: Sequence[Any]) -> Bill:
    return Bill(bill_no=row[0], biller=row[1], account_no=row[2], name=row[3], period=row[4],
                amount=row[5], due_date=as_date(row[6]), late_amount=row[7],
                arrears=row[8] or 0, mobile=row[9], language=row[10])


def _claim_params(raw: Raw, p: PaymentIn, bill: Bill, now: dt.datetime) -> tuple[Any, ...]:
    ts = raw.ts(now)
    return (p.channel, p.txn_id, bill.biller, bill.bill_no, bill.account_no, p.amount,
            p.currency.upper(), p.status, p.mode, p.reference, raw.ts(p.paid_at),
            p.payer, p.utr, p.staff_id, p.shift_id, ts, ts)


def _returning(raw: Raw, statement: str, rows: list[tuple[Any, ...]]
               ) -> list[tuple[Any, ...] | None]:
    """``statement`` (``RETURNING``) for each of ``rows``: its row, or None where it
    returned none (one round trip on PostgreSQL)."""
    if raw.pg:
        return list(raw.query_many(statement, rows).rows())
    return [raw.one(statement, r) for r in rows]


def _reserved_row(pay: Payment, claim: tuple[Any, ...]) -> tuple[Any, ...]:
    """The parameters of :func:`qrpay.payments.statements.insert_payments` for a reserved
    payment: its claim with the state the batch's decision left."""
    assert pay.status is not None, "a reserved payment is applied before it is inserted"
    return (*claim[:7], pay.status, *claim[8:10], pay.paid_at, pay.payer, pay.utr,
            *claim[13:16], pay.updated_at or claim[16], pay.receipt_no, pay.posted_at,
            pay.reversed_at)


def _same_payment(pay: Payment, p: PaymentIn) -> None:
    if pay.bill_no != p.bill_no or pay.amount != p.amount:
        raise Conflict(f"{p.channel} transaction {p.txn_id} was first reported for bill "
                       f"{pay.bill_no} amount {to_decimal_str(pay.amount)}",
                       code="txn_mismatch", field="txn_id")


def _late_note(bill: Bill, biller: Biller, p: PaymentIn, now: dt.datetime) -> str:
    day = biller.today(p.paid_at or now)
    return f"paid {day.isoformat()}, due {bill.due_date.isoformat()}"


def run_one(conn: Connection, config: Config, p: PaymentIn, now: dt.datetime) -> PostingResult:
    """One report as a batch of one (the desk, a wallet API, ``post_payment``)."""
    check_shape(p)
    batch = Batch(conn, config)
    batch.lock({p.bill_no})
    batch.claim([(p, now)])
    res = batch.apply(p, now)
    batch.take_receipts()
    batch.write()
    return batch.final(res)


