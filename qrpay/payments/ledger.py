"""The ledger: an append-only record per account; balances and bill status derive from it.

Every row is signed minor units, positive = the consumer owes more:

=============  ======  ==========================================================
kind           sign    written by
=============  ======  ==========================================================
``charge``     \\+ / -  :func:`charge_bill` (the importer), the bill's payable amount
``adjustment`` \\+ / -  :func:`adjust_bill` when a re-import changes the amount
``carry``      -       :func:`charge_bill`, minus the arrears the bill carries
``late_fee``   \\+      posting, when a payment arrives after the due date
``payment``    -       posting (callbacks and the counter desk)
``reversal``   \\+      posting of a ``reversed`` callback for a posted payment
``cancel``     \\+      counter cancellation of a counter payment
=============  ======  ==========================================================

Rows are never updated or deleted; a correction is a new row.

This module owns the rules every reader and writer of the ledger uses: the entry kinds,
the sums of a bill's entries (:class:`Sums`), the late-fee rule (:func:`is_late`,
:func:`amount_due_on`, :func:`late_fee_to_charge`, with the profile's
``late_payment.grace_days``), the state of a bill (:func:`status_of`) and the
building of ledger rows (:func:`entry_row`).  Posting, the read model, the importer, the
e-bill, the bill page and the desk all call these; none sums kinds or compares dates
itself.

A bill's own entries (``bill_no`` = the bill) give its status; ``carry`` is left out
there because the printed amount already includes the arrears.  The account balance is
the sum of every entry of the account: there the ``carry`` row cancels the arrears that
earlier bills' unpaid balances already hold, so nothing is counted twice (this assumes
the utility's arrears equal what the earlier bills left unpaid; a difference shows up as
a balance the utility should reconcile).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, func, select

from qrpay.bills import Bill
from qrpay.config import LatePayment
from qrpay.store import utcnow
from qrpay.store.schema import ledger, payments

KINDS = ("charge", "adjustment", "carry", "late_fee", "payment", "reversal", "cancel")
CHARGE_KINDS = ("charge", "adjustment")
PAID_KINDS = ("payment", "reversal", "cancel")  # their negated sum is what was paid
STATES = ("unpaid", "part_paid", "paid", "credit", "nothing_due")
ENTRY_COLUMNS = ("biller", "account_no", "bill_no", "kind", "amount", "payment_id",
                 "receipt_no", "note", "created_at")


@dataclass(frozen=True)
class Sums:
    """A bill's own ledger entries summed (``carry`` left out: the printed amount already
    includes the arrears).  ``paid`` is the net of payments, reversals and cancels."""

    charged: int = 0
    late_fee: int = 0
    paid: int = 0
    has_charge: bool = False

    @classmethod
    def of(cls, rows: Iterable[tuple[str, int]]) -> Sums:
        """From ``(kind, amount)`` rows: single entries or sums grouped by kind."""
        charged = late = paid = 0
        has_charge = False
        for kind, amount in rows:
            if kind in CHARGE_KINDS:
                charged += int(amount)
                has_charge = has_charge or kind == "charge"
            elif kind == "late_fee":
                late += int(amount)
            elif kind in PAID_KINDS:
                paid -= int(amount)
        return cls(charged, late, paid, has_charge)

    def for_bill(self, bill: Bill) -> Sums:
        """A bill never charged in the ledger counts as charged ``bill.amount``."""
        return self if self.has_charge else replace(self, charged=bill.amount)

    @property
    def balance(self) -> int:
        return self.charged + self.late_fee - self.paid

    @property
    def state(self) -> str:
        return derive_state(self.charged, self.paid, self.balance)

    def paying(self, amount: int, late_fee: int = 0) -> Sums:
        return replace(self, paid=self.paid + amount, late_fee=self.late_fee + late_fee)


def is_late(bill: Bill, day: dt.date, grace_days: int = 0) -> bool:
    """Whether the late amount applies on ``day`` (the biller's local date): after the
    due date and the profile's ``late_payment.grace_days`` after it."""
    return bill.is_late(day, grace_days)


def late_from(bill: Bill, grace_days: int = 0) -> dt.date:
    """The first day the late amount applies."""
    return bill.late_from(grace_days)


def amount_due_on(bill: Bill, day: dt.date, grace_days: int = 0) -> int:
    """What the printed bill asks for on ``day``: its late amount once late."""
    return bill.amount_due_on(day, grace_days)


def late_fee_to_charge(bill: Bill, sums: Sums, day: dt.date, grace_days: int = 0) -> int:
    """The late fee a payment on ``day`` adds to the bill: once, when late and still owed."""
    if is_late(bill, day, grace_days) and sums.late_fee == 0 and sums.balance > 0:
        return late_fee_for(bill)
    return 0


def entry_row(bill: Bill, kind: str, amount: int, ts: Any, *, payment_id: int | None = None,
              receipt_no: str | None = None, note: str | None = None) -> tuple[Any, ...]:
    """One ledger row in :data:`ENTRY_COLUMNS` order (``ts`` bound for the backend)."""
    if kind not in KINDS:
        raise ValueError(f"unknown ledger kind {kind!r}")
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise TypeError("ledger amounts are integer minor units")
    return (bill.biller, bill.account_no, bill.bill_no, kind, amount, payment_id, receipt_no,
            note, ts)


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    biller: str
    account_no: str
    bill_no: str | None
    kind: str
    amount: int
    payment_id: int | None
    receipt_no: str | None
    note: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class PaymentSummary:
    """One payment against a bill, as a status page or receipt shows it."""

    receipt_no: str | None
    channel: str
    txn_id: str
    amount: int
    status: str  # success, reversed, cancelled
    paid_at: dt.datetime | None


@dataclass(frozen=True)
class BillStatus:
    """Where a bill stands on a day, derived from the ledger.

    ``balance`` is what is still owed on the bill's own entries (negative: a credit);
    ``due_now`` adds the late fee not yet charged when ``on`` is after the due date and
    never goes below zero; ``paid`` is the net of payments, reversals and cancellations;
    ``receipts`` are the receipt numbers of payments still in force.
    """

    bill_no: str
    state: str
    due_now: int
    paid: int
    balance: int
    charged: int
    late_fee: int
    receipts: tuple[str, ...]
    payments: tuple[PaymentSummary, ...]

    @property
    def is_settled(self) -> bool:
        return self.state in {"paid", "credit", "nothing_due"}


def append(conn: Connection, *, biller: str, account_no: str, kind: str, amount: int,
           bill_no: str | None = None, payment_id: int | None = None,
           receipt_no: str | None = None, note: str | None = None,
           now: dt.datetime | None = None) -> int:
    """Append one entry; return its id.  Rows get into the ledger through this or as
    :func:`entry_row` tuples (the posting batch's one multi-row write)."""
    if kind not in KINDS:
        raise ValueError(f"unknown ledger kind {kind!r}")
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise TypeError("ledger amounts are integer minor units")
    result = conn.execute(ledger.insert().values(
        biller=biller, account_no=account_no, bill_no=bill_no, kind=kind, amount=amount,
        payment_id=payment_id, receipt_no=receipt_no, note=note,
        created_at=now or utcnow()))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _sum(conn: Connection, bill_no: str, kinds: tuple[str, ...]) -> int:
    q = select(func.coalesce(func.sum(ledger.c.amount), 0)).where(
        ledger.c.bill_no == bill_no, ledger.c.kind.in_(kinds))
    return int(conn.execute(q).scalar_one())


def _has_charge(conn: Connection, bill_no: str) -> bool:
    q = select(ledger.c.id).where(ledger.c.bill_no == bill_no,
                                  ledger.c.kind == "charge").limit(1)
    return conn.execute(q).first() is not None


def charge_rows(bill: Bill) -> list[tuple[str, int, str]]:
    """``(kind, amount, note)`` of the entries that charge a bill not charged before:
    its payable amount and, when it carries arrears, minus the arrears."""
    rows = [("charge", bill.amount, f"bill {bill.period}")]
    if bill.arrears:
        rows.append(("carry", -bill.arrears, "arrears carried into this bill"))
    return rows


def charge_bill(conn: Connection, bill: Bill, *, now: dt.datetime | None = None) -> int:
    """Charge ``bill`` to its account: the importer calls this for every bill it creates.

    Writes a ``charge`` of ``bill.amount`` and, when the bill carries arrears, a ``carry``
    of ``-bill.arrears``.  Idempotent: on a bill already charged it behaves like
    :func:`adjust_bill` (writes only the difference, usually nothing).  Returns the change
    in the bill's charged amount.
    """
    if _has_charge(conn, bill.bill_no):
        return adjust_bill(conn, bill, now=now)
    for kind, amount, note in charge_rows(bill):
        append(conn, biller=bill.biller, account_no=bill.account_no, bill_no=bill.bill_no,
               kind=kind, amount=amount, note=note, now=now)
    return bill.amount


def adjust_bill(conn: Connection, bill: Bill, old_amount: int | None = None, *,
                now: dt.datetime | None = None) -> int:
    """Bring the ledger in line with a re-imported ``bill``; return the amount change.

    The difference is computed from the ledger itself (so calling it twice writes once);
    ``old_amount``, the amount the importer replaced, only goes into the entry's note.
    A bill never charged before is charged.
    """
    if not _has_charge(conn, bill.bill_no):
        return charge_bill(conn, bill, now=now)
    delta = bill.amount - _sum(conn, bill.bill_no, CHARGE_KINDS)
    if delta:
        note = "re-import" if old_amount is None else f"re-import, was {old_amount}"
        append(conn, biller=bill.biller, account_no=bill.account_no, bill_no=bill.bill_no,
               kind="adjustment", amount=delta, note=note, now=now)
    carry_delta = -bill.arrears - _sum(conn, bill.bill_no, ("carry",))
    if carry_delta:
        append(conn, biller=bill.biller, account_no=bill.account_no, bill_no=bill.bill_no,
               kind="carry", amount=carry_delta, note="arrears changed on re-import",
               now=now)
    return delta


def _entry(row: Any) -> LedgerEntry:
    m = row._mapping
    return LedgerEntry(id=m["id"], biller=m["biller"], account_no=m["account_no"],
                       bill_no=m["bill_no"], kind=m["kind"], amount=m["amount"],
                       payment_id=m["payment_id"], receipt_no=m["receipt_no"],
                       note=m["note"], created_at=m["created_at"])


def bill_entries(conn: Connection, bill_no: str) -> list[LedgerEntry]:
    rows = conn.execute(select(ledger).where(ledger.c.bill_no == bill_no).order_by(ledger.c.id))
    return [_entry(r) for r in rows]


def account_balance(conn: Connection, biller: str, account_no: str) -> int:
    """What the account owes over all its bills (negative: credit on account)."""
    q = select(func.coalesce(func.sum(ledger.c.amount), 0)).where(
        ledger.c.biller == biller, ledger.c.account_no == account_no)
    return int(conn.execute(q).scalar_one())


def printed_late_amount(bill: Bill, terms: LatePayment) -> int:
    """The late amount a bill states: its own, else the profile's ``late_payment`` rule
    applied to its amount (what the importer stores for a bill file without one)."""
    return bill.late_amount if bill.late_amount is not None else terms.late_amount(bill.amount)


def late_fee_for(bill: Bill) -> int:
    """The surcharge a payment after the due date adds: ``late_amount - amount``."""
    if bill.late_amount is None or bill.late_amount <= bill.amount:
        return 0
    return bill.late_amount - bill.amount


def _payment_summaries(conn: Connection, bill_no: str) -> tuple[PaymentSummary, ...]:
    q = (select(payments.c.receipt_no, payments.c.channel, payments.c.txn_id,
                payments.c.amount, payments.c.status, payments.c.paid_at)
         .where(payments.c.bill_no == bill_no, payments.c.receipt_no.is_not(None))
         .order_by(payments.c.id))
    return tuple(PaymentSummary(*row) for row in conn.execute(q))


def derive_state(charged: int, paid: int, balance: int) -> str:
    """A bill's ``state`` from its sums (``charged``, net ``paid``, ``balance``), as
    :func:`bill_status` derives it; for readers that sum the ledger themselves."""
    if paid <= 0:
        return "nothing_due" if balance <= 0 and charged <= 0 else "unpaid"
    if balance < 0:
        return "credit"
    return "paid" if balance == 0 else "part_paid"


_state = derive_state  # the old private name; use derive_state


def bill_status(conn: Connection, bill: Bill, on: dt.date, grace_days: int = 0) -> BillStatus:
    """The bill's state on ``on`` (the biller's local date), from its ledger entries.

    A bill with no ``charge`` entry yet (not imported through the importer) counts as
    charged ``bill.amount``.  ``grace_days``: the biller's ``late_payment.grace_days``.
    """
    sums = Sums.of((e.kind, e.amount) for e in bill_entries(conn, bill.bill_no))
    return status_of(bill, on, sums, _payment_summaries(conn, bill.bill_no), grace_days)


def status_of(bill: Bill, on: dt.date, sums: Sums, summaries: tuple[PaymentSummary, ...],
              grace_days: int = 0) -> BillStatus:
    """The status rules, from the :class:`Sums` of a bill's ledger entries."""
    sums = sums.for_bill(bill)
    balance = sums.balance
    pending_late = late_fee_to_charge(bill, sums, on, grace_days)
    return BillStatus(
        bill_no=bill.bill_no, state=sums.state,
        due_now=max(balance + pending_late, 0), paid=sums.paid, balance=balance,
        charged=sums.charged, late_fee=sums.late_fee,
        receipts=tuple(p.receipt_no for p in summaries
                       if p.status == "success" and p.receipt_no),
        payments=summaries,
    )
