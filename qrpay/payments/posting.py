"""Posting payments exactly once per ``(channel, txn_id)``.

``post_payment(conn, config, PaymentIn)`` runs inside the caller's write transaction
(``with store.begin() as conn``) and does everything a payment changes in that one
transaction: the ``payments`` row, the ledger entries, the receipt number and the SMS in
the outbox.  The answer is only final once the caller commits.

Exactly once, on both backends:

* the row is claimed with ``INSERT ... ON CONFLICT (channel, txn_id) DO NOTHING
  RETURNING id``; when nothing comes back the row exists and is re-read ``FOR UPDATE``
  (PostgreSQL: the insert waits on the unique index until the first transaction commits,
  then the re-read sees its row; SQLite: ``BEGIN IMMEDIATE`` has serialised writers);
* what happens next depends only on the stored status and the incoming one:

  ==================  ==========================  =========================
  stored \\ incoming   success                     failed / pending / reversed
  ==================  ==========================  =========================
  (new)               post -> ``posted``           record -> ``recorded``
  failed, pending     post -> ``posted``           record -> ``recorded``
  success             ``duplicate``                reversed: ``reversed``;
                                                   failed/pending: ``ignored``
  reversed,cancelled  ``ignored``                  same status: ``duplicate``
  ==================  ==========================  =========================

  A repeat of the same status is always ``duplicate`` with the same receipt number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from qrpay.bills import Bill, find_bill
from qrpay.clock import aware, utcnow
from qrpay.config import Biller, Config
from qrpay.errors import Conflict, PaymentError, QrpayError, ValidationError
from qrpay.money import to_decimal_str
from qrpay.notify.outbox import ENQUEUE_MANY_SQL, enqueue_payment_notice, payment_notice_row
from qrpay.payments import ledger
from qrpay.payments.receipts import take_receipt_no, take_receipt_nos
from qrpay.payments.sql import Pending, Raw, as_date
from qrpay.store.schema import payments

STATUSES = ("success", "failed", "pending", "reversed")
COUNTER_CHANNEL = "counter"  # the counter desk: every biller takes it
MAX_AMOUNT = 10**13  # minor units (1e11 rupees/taka): far above any bill, far below BIGINT
RESULTS = ("posted", "duplicate", "recorded", "reversed", "ignored", "cancelled")
# paid_at must have a local day in every zone (offsets are under a day): nearer to the
# ends of the datetime range, converting it overflows
_PAID_AT_RANGE = (dt.datetime(1, 1, 2, tzinfo=dt.UTC), dt.datetime(9999, 12, 30, tzinfo=dt.UTC))


@dataclass(frozen=True)
class PaymentIn:
    """A payment as a channel or a counter reports it.  ``amount`` in minor units."""

    channel: str
    txn_id: str
    bill_no: str
    amount: int
    currency: str
    status: str = "success"
    paid_at: dt.datetime | None = None
    payer: str | None = None
    utr: str | None = None
    mode: str | None = None
    reference: str | None = None
    staff_id: int | None = None
    shift_id: int | None = None


@dataclass(frozen=True)
class PostingResult:
    result: str  # posted, duplicate, recorded, reversed, ignored, cancelled
    payment_id: int
    status: str  # the stored payment status after this call
    bill_no: str
    amount: int
    receipt_no: str | None
    bill_state: str | None = None
    late_fee: int = 0
    outbox_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"result": self.result, "receipt_no": self.receipt_no,
                "payment_id": self.payment_id, "status": self.status,
                "bill_no": self.bill_no, "amount": to_decimal_str(self.amount),
                "bill_state": self.bill_state}


def _check_shape(p: PaymentIn) -> None:
    if not p.channel or not p.txn_id:
        raise PaymentError("channel and txn_id are required", code="missing_txn_id",
                           field="txn_id")
    if len(p.txn_id) > 100:
        raise PaymentError("txn_id is longer than 100 characters", code="invalid_txn_id",
                           field="txn_id")
    if p.status not in STATUSES:
        raise PaymentError(f"status must be one of {', '.join(STATUSES)}, not {p.status!r}",
                           code="bad_status", field="status")
    if isinstance(p.amount, bool) or not isinstance(p.amount, int):
        raise PaymentError("amount must be integer minor units", code="invalid_amount",
                           field="amount")
    if p.amount <= 0:
        raise PaymentError("amount must be more than zero", code="non_positive_amount",
                           field="amount")
    if p.amount > MAX_AMOUNT:
        raise PaymentError("amount is larger than any bill", code="amount_too_large",
                           field="amount")
    if p.paid_at is not None:
        _check_paid_at(p.paid_at)


def _check_paid_at(when: dt.datetime) -> None:
    low, high = _PAID_AT_RANGE
    if not low <= aware(when) < high:
        raise ValidationError(f"paid_at {when.isoformat()} is out of range",
                              code="bad_paid_at", field="paid_at")


_BILL_SQL = ("SELECT biller, account_no, name, period, amount, due_date, late_amount, "
             "arrears, mobile, language FROM bills WHERE bill_no = ?")
_CLAIM_SQL = (
    "INSERT INTO payments (channel, txn_id, biller, bill_no, account_no, amount, currency, "
    "status, mode, reference, paid_at, payer, utr, staff_id, shift_id, created_at, "
    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (channel, txn_id) DO NOTHING RETURNING id")


# PostgreSQL: the claim and the read of the bill's ledger in one round trip.  The bill row
# is already locked by this transaction, so the statement's snapshot sees every payment
# committed for the bill before (a duplicate of an in-flight claim reads a ledger it
# does not use).
_CLAIM_READ_SQL = ("WITH c AS (" + _CLAIM_SQL + ") SELECT 'c', id FROM c "
                   "UNION ALL SELECT kind, amount FROM ledger WHERE bill_no = ?")


def _find_bill(raw: Raw, bill_no: str, *, lock: bool) -> Bill | None:
    # PostgreSQL: a posting or reversal locks the bill row first, as the counter desk
    # does, so that two transactions for one bill take turns (the late-fee decision
    # must see the other's payment) and lock in the same order.  SQLite's write lock
    # already serialises.
    row = raw.one(_BILL_SQL + (" FOR UPDATE" if lock and raw.pg else ""), (bill_no,))
    if row is None:
        return None
    return _bill_of(bill_no, row)


def _bill_of(bill_no: str, row: tuple[Any, ...]) -> Bill:
    return Bill(bill_no=bill_no, biller=row[0], account_no=row[1], name=row[2], period=row[3],
                amount=row[4], due_date=as_date(row[5]), late_amount=row[6],
                arrears=row[7] or 0, mobile=row[8], language=row[9])


def _bill_and_biller(raw: Raw, config: Config, p: PaymentIn,
                     batch: Batch | None = None) -> tuple[Bill, Biller]:
    if batch is not None and p.bill_no in batch.bills:
        bill = batch.bills[p.bill_no]
    else:
        bill = _find_bill(raw, p.bill_no, lock=p.status in ("success", "reversed"))
    return _check_bill(config, p, bill)


def _check_bill(config: Config, p: PaymentIn, bill: Bill | None) -> tuple[Bill, Biller]:
    if bill is None:
        raise PaymentError(f"no bill {p.bill_no}", code="unknown_bill", field="bill_no")
    biller = config.biller(bill.biller)
    if p.channel != COUNTER_CHANNEL and p.channel not in biller.channels:
        raise PaymentError(f"{biller.code} does not take payments through {p.channel}",
                           code="channel_not_allowed", field="channel")
    if p.currency.upper() != biller.currency:
        raise PaymentError(f"currency {p.currency} does not match the bill's {biller.currency}",
                           code="currency_mismatch", field="currency")
    return bill, biller


def _claim_params(raw: Raw, p: PaymentIn, bill: Bill, now: dt.datetime) -> tuple[Any, ...]:
    return (p.channel, p.txn_id, bill.biller, bill.bill_no, bill.account_no, p.amount,
            p.currency.upper(), p.status, p.mode, p.reference, raw.ts(p.paid_at),
            p.payer, p.utr, p.staff_id, p.shift_id, raw.ts(now), raw.ts(now))


def _new_row(p: PaymentIn, payment_id: int) -> dict[str, Any]:
    """A payment row just inserted: everything in it is what we wrote."""
    return {"id": payment_id, "status": p.status, "bill_no": p.bill_no, "amount": p.amount,
            "receipt_no": None, "paid_at": p.paid_at, "utr": p.utr, "payer": p.payer}


def _claim(conn: Connection, raw: Raw, p: PaymentIn, bill: Bill, now: dt.datetime,
           batch: Batch | None = None) -> tuple[Any, bool, list[tuple[Any, ...]] | None]:
    """The payment row, whether this call created it, and (PostgreSQL, success) the
    bill's ledger rows read in the same statement."""
    if batch is not None:
        hit = batch.claims.pop((p.channel, p.txn_id), None)
        if hit is not None:  # claimed with the whole batch (Batch.claim_all)
            return hit[0], hit[1], None
    params = _claim_params(raw, p, bill, now)
    entries: list[tuple[Any, ...]] | None = None
    read = batch is None or bill.bill_no not in batch.ledger
    if raw.pg and p.status == "success" and read:
        rows = raw.all(_CLAIM_READ_SQL, (*params, bill.bill_no))
        found = next(((r[1],) for r in rows if r[0] == "c"), None)
        entries = [r for r in rows if r[0] != "c"]
    else:
        found = raw.one(_CLAIM_SQL, params)
    if found is not None:  # a new row: everything in it is what we just wrote
        return _new_row(p, int(found[0])), True, entries
    q = select(payments).where(payments.c.channel == p.channel, payments.c.txn_id == p.txn_id)
    if raw.pg:
        q = q.with_for_update()
    return conn.execute(q).one()._mapping, False, entries


def _local_day(biller: Biller, when: dt.datetime) -> dt.date:
    return biller.today(when)


def _result(result: str, row: Any, *, status: str | None = None, receipt_no: str | None = None,
            bill_state: str | None = None, late_fee: int = 0,
            outbox_id: int | None = None) -> PostingResult:
    return PostingResult(result=result, payment_id=row["id"], status=status or row["status"],
                         bill_no=row["bill_no"], amount=row["amount"],
                         receipt_no=receipt_no or row["receipt_no"], bill_state=bill_state,
                         late_fee=late_fee, outbox_id=outbox_id)


_LEDGER_SQL = ("INSERT INTO ledger (biller, account_no, bill_no, kind, amount, payment_id, "
               "receipt_no, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
_POSTED_SQL = ("UPDATE payments SET status = 'success', receipt_no = ?, posted_at = ?, "
               "updated_at = ?, paid_at = ?, utr = ?, payer = ? WHERE id = ?")

_REVERSED_SQL = ("UPDATE payments SET status = 'reversed', reversed_at = ?, updated_at = ? "
                 "WHERE id = ?")


@dataclass(frozen=True)
class _Sums:
    """A bill's own ledger entries summed as :func:`ledger.bill_status` sums them."""

    charged: int
    late_fee: int
    paid: int

    @property
    def balance(self) -> int:
        return self.charged + self.late_fee - self.paid


def _sums(conn: Connection, raw: Raw, bill: Bill, now: dt.datetime,
          rows: list[tuple[Any, ...]] | None = None, pending: int = 0) -> _Sums:
    """``rows``: the bill's ledger if already read; ``pending``: payments of the same
    batch whose ledger rows are not written yet."""
    if rows is None:
        rows = raw.all("SELECT kind, amount FROM ledger WHERE bill_no = ?", (bill.bill_no,))
    if not any(kind == "charge" for kind, _ in rows):
        ledger.charge_bill(conn, bill, now=now)  # bills inserted by other means
        rows = raw.all("SELECT kind, amount FROM ledger WHERE bill_no = ?", (bill.bill_no,))
    charged = late = paid = 0
    for kind, amount in rows:
        if kind in ledger.CHARGE_KINDS:
            charged += amount
        elif kind == "late_fee":
            late += amount
        elif kind in ledger.PAID_KINDS:
            paid -= amount
    return _Sums(charged, late, paid + pending)


_ROW_KEYS = ("id", "status", "bill_no", "amount", "receipt_no", "paid_at", "utr", "payer")


def precheck(config: Config, p: PaymentIn, batch: Batch) -> tuple[Bill, Biller]:
    """The checks ``post_payment`` makes before it writes anything, for a bill read by
    ``batch.lock_bills`` (its errors need no rollback)."""
    _check_shape(p)
    if p.bill_no not in batch.bills:
        raise PaymentError("bill not read with the batch", code="unknown_bill",
                           field="bill_no")
    return _check_bill(config, p, batch.bills[p.bill_no])


@dataclass(frozen=True)
class _Todo:
    biller: Biller
    bill: Bill
    payment_id: int
    amount: int
    note: str
    paid_at: Any
    utr: str | None
    payer: str | None
    ts: Any


@dataclass(frozen=True)
class _Undo:
    """A reversal of a payment posted earlier in the same batch: written in
    :meth:`Batch.finish`, after the posting it reverses, with its receipt number."""

    biller: Biller
    bill: Bill
    payment_id: int
    amount: int
    note: str
    ts: Any


@dataclass
class Batch:
    """Postings of one transaction whose receipt numbers are taken together at the end.

    ``post_payment(..., batch=b)`` decides and claims as usual but leaves the receipt
    number, the payment's ledger entry, the payment row's update and the SMS to
    :meth:`finish`, which takes the numbers with one counter update per biller (so the
    receipt counter is the last lock a batch takes, after all its bill rows) and writes
    the rest with one pipelined ``executemany`` each.  Payments of the batch not yet in
    the ledger count in the next posting of the same bill (its row is locked by this
    transaction, so nobody else can change them).  Call :meth:`finish` after the last
    posting and before commit; ``receipts`` then maps payment id -> receipt number.

    Every report sees what the reports before it in the batch did: ``rows`` keeps each
    transaction's payment row as the batch has left it (status, receipt), and a later
    report of the same transaction is decided on that, never on the stored row (whose
    update for a posting waits for :meth:`finish`).  A reversal of a payment posted in
    the same batch waits for :meth:`finish` too, so that it carries the receipt number
    and its status update comes after the posting's.
    """

    todo: list[_Todo] = field(default_factory=list)
    bills: dict[str, Bill | None] = field(default_factory=dict)  # locked by lock_bills
    # bill_no -> its ledger summed per kind, read right after the lock (used once: a
    # posting that writes to the bill's ledger takes it out)
    ledger: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    # (channel, txn_id) -> (payment row, created) claimed by claim_all, used once
    claims: dict[tuple[str, str], tuple[Any, bool]] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)  # bill_no -> minor units
    receipts: dict[int, str] = field(default_factory=dict)
    rows: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    undos: list[_Undo] = field(default_factory=list)

    def posts(self, payment_id: int) -> bool:
        """Whether this batch posts ``payment_id`` (its writes are still to come)."""
        return any(t.payment_id == payment_id for t in self.todo)

    def reverse_later(self, conn: Connection, raw: Raw, biller: Biller, bill: Bill,
                      row: Any, p: PaymentIn, now: dt.datetime) -> PostingResult:
        """Reverse a payment this batch posts: the entries are written by :meth:`finish`."""
        self.pending[bill.bill_no] = self.pending.get(bill.bill_no, 0) - row["amount"]
        state = _state_now(conn, raw, bill, now, self)
        self.undos.append(_Undo(biller, bill, row["id"], row["amount"],
                                f"reversed by {p.channel}", raw.ts(now)))
        return _result("reversed", row, status="reversed", bill_state=state)

    def lock_bills(self, conn: Connection, bill_nos: set[str],
                   first: Callable[[Raw], Pending] | None = None
                   ) -> list[tuple[Any, ...]]:
        """Read (PostgreSQL: and lock, in bill-number order) every bill of the batch in
        one statement, before any posting, so that concurrent batches never hold each
        other's bills; unknown numbers are remembered as None.  Then read the ledger
        sums of all those bills, in the same round trip (a pipeline on PostgreSQL) but
        a statement of its own, so its snapshot is taken after the locks are held and
        sees everything committed for these bills.

        ``first``: sends a statement ahead of these in the same round trip (the batch's
        raw callback rows); its rows are returned."""
        raw = Raw(conn)
        if not bill_nos:
            return first(raw).rows() if first else []
        ordered = sorted(bill_nos)
        marks = "(" + ", ".join("?" * len(ordered)) + ")"
        q = (_BILL_SQL.replace("SELECT ", "SELECT bill_no, ", 1).replace(
             "bill_no = ?", "bill_no IN " + marks)
             + " ORDER BY bill_no" + (" FOR UPDATE" if raw.pg else ""))
        sums = ("SELECT bill_no, kind, CAST(SUM(amount) AS BIGINT) FROM ledger "
                "WHERE bill_no IN " + marks + " GROUP BY bill_no, kind")
        with raw.pipeline():
            before = first(raw) if first else None
            bills_q = raw.query(q, ordered)
            ledger_q = raw.query(sums, ordered)
        returned = before.rows() if before is not None else []
        bill_rows, ledger_rows = bills_q.rows(), ledger_q.rows()
        self.bills.update(dict.fromkeys(ordered))
        for row in bill_rows:
            self.bills[row[0]] = _bill_of(row[0], row[1:])
            self.ledger[row[0]] = []
        for bill_no, kind, amount in ledger_rows:
            if bill_no in self.ledger:
                self.ledger[bill_no].append((kind, int(amount)))
        return returned

    def claim_all(self, conn: Connection, config: Config,
                  reports: list[tuple[PaymentIn, dt.datetime]]) -> None:
        """Claim every payment of the batch that passes :func:`precheck` in one
        ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` (rows in key order), and read the
        rows that existed already in one ``SELECT ... FOR UPDATE``.  ``post_payment``
        then takes each claim once; a second report of the same key in the batch claims
        as usual.  Only for a batch that rolls back as a whole when any posting fails
        (PostgreSQL without savepoints): a claim is not undone by a savepoint rollback."""
        raw = Raw(conn)
        wanted: dict[tuple[str, str], tuple[PaymentIn, Bill, dt.datetime]] = {}
        for p, now in reports:
            key = (p.channel, p.txn_id)
            if key in wanted or key in self.claims:
                continue
            try:
                bill, _ = precheck(config, p, self)
            except QrpayError:
                continue
            wanted[key] = (p, bill, now)
        if not wanted:
            return
        keys = sorted(wanted)
        params: list[Any] = []
        for key in keys:
            params.extend(_claim_params(raw, *wanted[key]))
        values = "(" + ", ".join("?" * 17) + ")"
        sql = (_CLAIM_SQL.split(" VALUES ", 1)[0] + " VALUES "
               + ", ".join([values] * len(keys))
               + " ON CONFLICT (channel, txn_id) DO NOTHING RETURNING id, channel, txn_id")
        created = {(ch, txn): int(pid) for pid, ch, txn in raw.all(sql, params)}
        old = [key for key in keys if key not in created]
        for key in keys:
            if key in created:
                self.claims[key] = (_new_row(wanted[key][0], created[key]), True)
        if old:
            q = ("SELECT id, status, bill_no, amount, receipt_no, paid_at, utr, payer, "
                 "channel, txn_id FROM payments WHERE (channel, txn_id) IN ("
                 + ", ".join(["(?, ?)"] * len(old)) + ") ORDER BY channel, txn_id"
                 + (" FOR UPDATE" if raw.pg else ""))
            for r in raw.all(q, [v for key in old for v in key]):
                self.claims[(r[8], r[9])] = (dict(zip(_ROW_KEYS, r[:8], strict=True)), False)

    def add(self, todo: _Todo) -> None:
        self.todo.append(todo)
        self.pending[todo.bill.bill_no] = self.pending.get(todo.bill.bill_no, 0) + todo.amount

    def finish(self, conn: Connection,
               after: Callable[[], tuple[str, list[tuple[Any, ...]]]] | None = None
               ) -> None:
        """Take the receipt numbers (one counter update per biller), then send every
        write of the batch in one round trip (a pipeline on PostgreSQL): the counter
        rows stay locked from their update to the commit, so the fewer round trips in
        between, the shorter the other server process waits.  ``after``: called once
        ``receipts`` is filled, gives one more ``executemany`` (statement, rows) for
        that round trip."""
        raw = Raw(conn)
        if not self.todo:
            if after is not None:
                raw.many(*after())
            return
        by_biller: dict[str, list[_Todo]] = {}
        for todo in self.todo:
            by_biller.setdefault(todo.biller.code, []).append(todo)
        for code in sorted(by_biller):
            todos = by_biller[code]
            for todo, no in zip(todos, take_receipt_nos(raw, code, len(todos)), strict=True):
                self.receipts[todo.payment_id] = no
        entries, updates, sms = [], [], []
        for t in self.todo:
            no = self.receipts[t.payment_id]
            entries.append((t.bill.biller, t.bill.account_no, t.bill.bill_no, "payment",
                            -t.amount, t.payment_id, no, t.note, t.ts))
            updates.append((no, t.ts, t.ts, t.paid_at, t.utr, t.payer, t.payment_id))
            notice = payment_notice_row(t.biller, t.bill, notice="payment_received",
                                        dedupe_key=f"payment:{t.payment_id}:received",
                                        amount=t.amount, receipt_no=no, ts=t.ts)
            if notice is not None:
                sms.append(notice)
        reversed_ = []
        for u in self.undos:
            no = self.receipts[u.payment_id]
            entries.append((u.bill.biller, u.bill.account_no, u.bill.bill_no, "reversal",
                            u.amount, u.payment_id, no, u.note, u.ts))
            reversed_.append((u.ts, u.ts, u.payment_id))
            notice = payment_notice_row(u.biller, u.bill, notice="payment_reversed",
                                        dedupe_key=f"payment:{u.payment_id}:reversed",
                                        amount=u.amount, receipt_no=no, ts=u.ts)
            if notice is not None:
                sms.append(notice)
        extra = after() if after is not None else None
        with raw.pipeline():
            raw.query_many(_LEDGER_SQL, entries)
            raw.query_many(_POSTED_SQL, updates)
            raw.query_many(_REVERSED_SQL, reversed_)
            raw.query_many(ENQUEUE_MANY_SQL, sms)
            if extra is not None:
                raw.query_many(*extra)
        self.todo.clear()
        self.undos.clear()
        self.pending.clear()


def _post(conn: Connection, raw: Raw, biller: Biller, bill: Bill, row: Any, p: PaymentIn,
          now: dt.datetime, entries: list[tuple[Any, ...]] | None,
          batch: Batch | None) -> PostingResult:
    """Post a success: one read of the bill's ledger gives the status before and after
    (the same rules as ``ledger.bill_status``); the receipt number is taken after every
    read and decision, just before the writes that carry it (with ``batch``: at the end
    of the batch, see :class:`Batch`)."""
    before = _sums(conn, raw, bill, now, entries,
                   batch.pending.get(bill.bill_no, 0) if batch is not None else 0)
    day = _local_day(biller, p.paid_at or now)
    late_fee = 0
    if day > bill.due_date and before.late_fee == 0 and before.balance > 0:
        late_fee = ledger.late_fee_for(bill)
    amount = row["amount"]
    ts = raw.ts(now)
    if late_fee:
        raw.run(_LEDGER_SQL, (bill.biller, bill.account_no, bill.bill_no, "late_fee", late_fee,
                              row["id"], None, f"paid {day.isoformat()}, due "
                              f"{bill.due_date.isoformat()}", ts))
    paid = before.paid + amount
    state = ledger.derive_state(before.charged, paid,
                                before.charged + before.late_fee + late_fee - paid)
    if batch is not None:
        batch.add(_Todo(biller, bill, row["id"], amount, f"{p.channel} {p.txn_id}",
                        raw.ts(p.paid_at or row["paid_at"] or now), p.utr or row["utr"],
                        p.payer or row["payer"], ts))
        return _result("posted", row, status="success", bill_state=state, late_fee=late_fee)
    receipt_no = take_receipt_no(raw, biller.code)
    raw.run(_LEDGER_SQL, (bill.biller, bill.account_no, bill.bill_no, "payment", -amount,
                          row["id"], receipt_no, f"{p.channel} {p.txn_id}", ts))
    raw.run(_POSTED_SQL, (receipt_no, ts, ts, raw.ts(p.paid_at or row["paid_at"] or now),
                          p.utr or row["utr"], p.payer or row["payer"], row["id"]))
    outbox_id = enqueue_payment_notice(conn, biller, bill, notice="payment_received",
                                       dedupe_key=f"payment:{row['id']}:received",
                                       amount=amount, receipt_no=receipt_no, now=now)
    return _result("posted", row, status="success", receipt_no=receipt_no,
                   bill_state=state, late_fee=late_fee, outbox_id=outbox_id)


def _undo(conn: Connection, biller: Biller, bill: Bill, row: Any, *, kind: str, status: str,
          note: str, now: dt.datetime, batch: Batch | None = None) -> PostingResult:
    """Reverse (bank reversal) or cancel (counter) a posted payment; the receipt stays."""
    ledger.append(conn, biller=bill.biller, account_no=bill.account_no, bill_no=bill.bill_no,
                  kind=kind, amount=row["amount"], payment_id=row["id"],
                  receipt_no=row["receipt_no"], note=note, now=now)
    conn.execute(payments.update().where(payments.c.id == row["id"]).values(
        status=status, reversed_at=now, updated_at=now))
    outbox_id = None
    if kind == "reversal":  # the consumer did not see it coming; a counter cancel they did
        outbox_id = enqueue_payment_notice(conn, biller, bill, notice="payment_reversed",
                                           dedupe_key=f"payment:{row['id']}:reversed",
                                           amount=row["amount"],
                                           receipt_no=row["receipt_no"], now=now)
    if batch is not None:  # the batch's postings not yet in the ledger count too
        state = _state_now(conn, Raw(conn), bill, now, batch)
    else:
        state = ledger.bill_status(conn, bill, _local_day(biller, now)).state
    return _result("reversed" if kind == "reversal" else "cancelled", row, status=status,
                   bill_state=state, outbox_id=outbox_id)


def _state_now(conn: Connection, raw: Raw, bill: Bill, now: dt.datetime, batch: Batch) -> str:
    sums = _sums(conn, raw, bill, now, None, batch.pending.get(bill.bill_no, 0))
    return ledger.derive_state(sums.charged, sums.paid, sums.balance)


def _record(conn: Connection, row: Any, status: str, now: dt.datetime) -> PostingResult:
    if row["status"] != status:
        conn.execute(payments.update().where(payments.c.id == row["id"]).values(
            status=status, updated_at=now))
    return _result("recorded", row, status=status)


def _same_payment(row: Any, p: PaymentIn) -> None:
    if row["bill_no"] != p.bill_no or row["amount"] != p.amount:
        raise Conflict(f"{p.channel} transaction {p.txn_id} was first reported for bill "
                       f"{row['bill_no']} amount {to_decimal_str(row['amount'])}",
                       code="txn_mismatch", field="txn_id")


def post_payment(conn: Connection, config: Config, p: PaymentIn, *,
                 now: dt.datetime | None = None, batch: Batch | None = None) -> PostingResult:
    """Apply one payment report; see the module docstring for the rules.

    Raises PaymentError (``unknown_bill``, ``channel_not_allowed`` (a channel not in the
    bill's biller's ``channels``; ``counter`` is always allowed), ``currency_mismatch``,
    ``non_positive_amount``, ``amount_too_large``, ``invalid_amount``, ``bad_status``,
    ``missing_txn_id``) before touching anything, and
    Conflict ``txn_mismatch`` when a known transaction comes back with another bill or
    amount.  With ``batch`` a new posting's receipt number is taken later, in
    :meth:`Batch.finish` (``receipt_no`` is None in the result until then).
    """
    now = now or utcnow()
    _check_shape(p)
    raw = Raw(conn)
    bill, biller = _bill_and_biller(raw, config, p, batch)
    key = (p.channel, p.txn_id)
    if batch is not None and key in batch.rows:
        # reported before in this batch: decide on the row as the batch left it (the
        # stored row may not show it yet, see Batch)
        row, created, entries = batch.rows[key], False, None
    else:
        row, created, entries = _claim(conn, raw, p, bill, now, batch)
    if batch is not None:
        # the batch's ledger read serves one posting of the bill: a posting, late fee or
        # reversal writes to that ledger, so a later report of the bill reads it again
        found = batch.ledger.pop(bill.bill_no, None)
        entries = found if entries is None else entries
    res = _apply(conn, raw, biller, bill, row, created, p, now, entries, batch)
    if batch is not None:
        batch.rows[key] = {**dict(row), "status": res.status,
                           "receipt_no": res.receipt_no or row["receipt_no"]}
    return res


def _apply(conn: Connection, raw: Raw, biller: Biller, bill: Bill, row: Any, created: bool,
           p: PaymentIn, now: dt.datetime, entries: list[tuple[Any, ...]] | None,
           batch: Batch | None) -> PostingResult:
    prior = None if created else row["status"]
    if prior is not None:
        _same_payment(row, p)
    if p.status == "success":
        if prior in (None, "failed", "pending"):
            return _post(conn, raw, biller, bill, row, p, now, entries, batch)
        return _result("duplicate" if prior == "success" else "ignored", row)
    if prior == p.status:
        return _result("duplicate", row)
    if p.status == "reversed" and prior == "success":
        if batch is not None and batch.posts(row["id"]):
            return batch.reverse_later(conn, raw, biller, bill, row, p, now)
        return _undo(conn, biller, bill, row, kind="reversal", status="reversed",
                     note=f"reversed by {p.channel}", now=now, batch=batch)
    if prior in (None, "failed", "pending"):
        return _record(conn, row, p.status, now)
    return _result("ignored", row)


def cancel_payment(conn: Connection, config: Config, payment_id: int, *, reason: str,
                   now: dt.datetime | None = None) -> PostingResult:
    """Cancel a posted payment (counter desk): a ``cancel`` ledger entry, status
    ``cancelled``, the receipt number stays on the payment.  Cancelling twice is a
    ``duplicate``; cancelling anything but a posted payment is Conflict ``not_posted``."""
    now = now or utcnow()
    q = select(payments).where(payments.c.id == payment_id)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    found = conn.execute(q).first()
    if found is None:
        raise PaymentError(f"no payment {payment_id}", code="unknown_payment",
                           field="payment_id")
    row = found._mapping
    if row["status"] == "cancelled":
        return _result("duplicate", row)
    if row["status"] != "success":
        raise Conflict(f"payment {payment_id} is {row['status']}, not posted",
                       code="not_posted", field="payment_id")
    bill = find_bill(conn, row["bill_no"])
    if bill is None:
        raise PaymentError(f"no bill {row['bill_no']}", code="unknown_bill", field="bill_no")
    return _undo(conn, config.biller(bill.biller), bill, row, kind="cancel",
                 status="cancelled", note=f"cancelled: {reason}", now=now)


def get_payment(conn: Connection, channel: str, txn_id: str) -> dict[str, Any] | None:
    """The stored payment for ``(channel, txn_id)`` as a dict, or None."""
    row = conn.execute(select(payments).where(payments.c.channel == channel,
                                              payments.c.txn_id == txn_id)).first()
    return dict(row._mapping) if row else None
