"""Posting payments exactly once per ``(channel, txn_id)``: the entry points every
channel uses (QR callbacks through the group-commit writer, the counter desk, wallets'
biller API, reconciliation).

``post_payment(conn, config, PaymentIn)`` runs inside the caller's write transaction
(``with store.begin() as conn``) and does everything a payment changes in that one
transaction: the ``payments`` row, the ledger entries, the receipt number and the SMS in
the outbox.  The answer is only final once the caller commits.  It is a posting batch of
one (:mod:`qrpay.payments.batch`); what a report does is decided by the table in
:mod:`qrpay.payments.decide`:

  ==================  ==========================  =========================
  stored \\ incoming   success                     failed / pending / reversed
  ==================  ==========================  =========================
  (new)               post -> ``posted``           record -> ``recorded``
  failed, pending     post -> ``posted``           record -> ``recorded``
  success             ``duplicate``                reversed: ``reversed``;
                                                   failed/pending: ``ignored``
  reversed,cancelled  ``ignored``                  same status: ``duplicate``
  held                ``duplicate``                reversed: ``recorded``
  ==================  ==========================  =========================

  A repeat of the same status is always ``duplicate`` with the same receipt number.  A
  channel payment far above what the bill still owes is ``held`` (recorded for review,
  nothing credited; ``[billers.amount_limits]``).

Exactly once, on both backends: the bill row is locked first (PostgreSQL ``FOR
UPDATE``; SQLite: ``BEGIN IMMEDIATE`` has serialised writers), then the payment row is
claimed with ``INSERT ... ON CONFLICT (channel, txn_id) DO NOTHING`` and read ``FOR
UPDATE`` (a claim in flight elsewhere waits for that transaction, then reads its row).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, select

from qrpay.bills import find_bill
from qrpay.clock import utcnow
from qrpay.config import Config
from qrpay.errors import Conflict, PaymentError
from qrpay.payments import ledger
from qrpay.payments.batch import MAX_AMOUNT, run_one
from qrpay.payments.model import COUNTER_CHANNEL, RESULTS, STATUSES, PaymentIn, PostingResult
from qrpay.store.schema import payments

__all__ = ["COUNTER_CHANNEL", "MAX_AMOUNT", "RESULTS", "STATUSES", "PaymentIn",
           "PostingResult", "cancel_payment", "get_payment", "post_payment"]


def post_payment(conn: Connection, config: Config, p: PaymentIn, *,
                 now: dt.datetime | None = None) -> PostingResult:
    """Apply one payment report; see the module docstring for the rules.

    Raises PaymentError (``unknown_bill``, ``channel_not_allowed`` (a channel not in the
    bill's biller's ``channels``; ``counter`` is always allowed), ``currency_mismatch``,
    ``non_positive_amount``, ``amount_too_large``, ``invalid_amount``, ``bad_status``,
    ``missing_txn_id``), ValidationError ``bad_paid_at`` / ``bad_field`` before touching
    anything, and Conflict ``txn_mismatch`` when a known transaction comes back with
    another bill or amount.
    """
    return run_one(conn, config, p, now or utcnow())


def _result(result: str, row: Any, *, status: str | None = None,
            bill_state: str | None = None) -> PostingResult:
    return PostingResult(result=result, payment_id=row["id"], status=status or row["status"],
                         bill_no=row["bill_no"], amount=row["amount"],
                         receipt_no=row["receipt_no"], bill_state=bill_state)


def payment_row(conn: Connection, payment_id: int, *, lock: bool = False) -> Any:
    """The stored payment ``payment_id`` (read ``FOR UPDATE`` on PostgreSQL with ``lock``;
    SQLite writers are serialised already); PaymentError ``unknown_payment`` if none."""
    q = select(payments).where(payments.c.id == payment_id)
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    found = conn.execute(q).first()
    if found is None:
        raise PaymentError(f"no payment {payment_id}", code="unknown_payment",
                           field="payment_id")
    return found._mapping


def cancel_payment(conn: Connection, config: Config, payment_id: int, *, reason: str,
                   now: dt.datetime | None = None) -> PostingResult:
    """Cancel a posted payment (counter desk): a ``cancel`` ledger entry, status
    ``cancelled``, the receipt number stays on the payment.  Cancelling twice is a
    ``duplicate``; cancelling anything but a posted payment is Conflict ``not_posted``."""
    now = now or utcnow()
    row = payment_row(conn, payment_id, lock=True)
    if row["status"] == "cancelled":
        return _result("duplicate", row)
    if row["status"] != "success":
        raise Conflict(f"payment {payment_id} is {row['status']}, not posted",
                       code="not_posted", field="payment_id")
    bill = find_bill(conn, row["bill_no"])
    if bill is None:
        raise PaymentError(f"no bill {row['bill_no']}", code="unknown_bill", field="bill_no")
    biller = config.biller(bill.biller)
    ledger.append(conn, biller=bill.biller, account_no=bill.account_no, bill_no=bill.bill_no,
                  kind="cancel", amount=row["amount"], payment_id=row["id"],
                  receipt_no=row["receipt_no"], note=f"cancelled: {reason}", now=now)
    conn.execute(payments.update().where(payments.c.id == row["id"]).values(
        status="cancelled", reversed_at=now, updated_at=now))
    state = ledger.bill_status(conn, bill, biller.today(now),
                               biller.late_payment.grace_days).state
    return _result("cancelled", row, status="cancelled", bill_state=state)


def get_payment(conn: Connection, channel: str, txn_id: str) -> dict[str, Any] | None:
    """The stored payment for ``(channel, txn_id)`` as a dict, or None."""
    row = conn.execute(select(payments).where(payments.c.channel == channel,
                                              payments.c.txn_id == txn_id)).first()
    return dict(row._mapping) if row else None
