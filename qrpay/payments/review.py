"""Payments held for review: a channel reported a payment far above the bill
(:mod:`qrpay.payments.decide`, ``[billers.amount_limits]``), so it was recorded with
status ``held`` and nothing was credited.  A reviewer lists them, then releases one (it
is posted now, as the original report would have been: ledger entry, receipt number,
SMS) or refuses it (status ``refused``: the money goes back to the payer outside qrpay;
nothing is credited, a later report of the transaction is ignored).

Each call runs inside the caller's write transaction, like ``post_payment``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, select

from qrpay.clock import utcnow
from qrpay.config import Config
from qrpay.errors import Conflict
from qrpay.payments.batch import Batch
from qrpay.payments.model import PaymentIn, PostingResult
from qrpay.payments.posting import payment_row
from qrpay.store.schema import payments


def held_payments(conn: Connection, biller: str | None = None) -> list[dict[str, Any]]:
    """Every payment waiting for review (oldest first), optionally of one biller."""
    q = select(payments).where(payments.c.status == "held").order_by(payments.c.id)
    if biller is not None:
        q = q.where(payments.c.biller == biller)
    return [dict(r._mapping) for r in conn.execute(q)]


def _held(conn: Connection, payment_id: int) -> Any:
    return payment_row(conn, payment_id)


def _report(row: Any) -> PaymentIn:
    return PaymentIn(channel=row["channel"], txn_id=row["txn_id"], bill_no=row["bill_no"],
                     amount=row["amount"], currency=row["currency"], status="success",
                     paid_at=row["paid_at"], payer=row["payer"], utr=row["utr"],
                     mode=row["mode"], reference=row["reference"])


def release_held(conn: Connection, config: Config, payment_id: int, *,
                 now: dt.datetime | None = None) -> PostingResult:
    """Post a held payment now.  Conflict ``not_held`` for any other payment."""
    now = now or utcnow()
    p = _report(_held(conn, payment_id))
    batch = Batch(conn, config)
    batch.lock({p.bill_no})  # bill, then payment: the posting path's lock order
    batch.claim([(p, now)])
    pay = batch.payments.get((p.channel, p.txn_id))
    if pay is None or pay.status != "held":
        raise Conflict(f"payment {payment_id} is not held for review", code="not_held",
                       field="payment_id")
    res = batch.apply(p, now, release=True)
    batch.take_receipts()
    batch.write()
    return batch.final(res)


def refuse_held(conn: Connection, payment_id: int, *, reason: str,
                now: dt.datetime | None = None) -> PostingResult:
    """Refuse a held payment (status ``refused``); ``reason`` goes into its reference
    when it has none.  Conflict ``not_held`` for any other payment."""
    now = now or utcnow()
    row = payment_row(conn, payment_id, lock=True)
    if row["status"] != "held":
        raise Conflict(f"payment {payment_id} is not held for review", code="not_held",
                       field="payment_id")
    conn.execute(payments.update().where(payments.c.id == payment_id).values(
        status="refused", updated_at=now,
        reference=row["reference"] or f"refused: {reason}"[:100]))
    return PostingResult(result="refused", payment_id=payment_id, status="refused",
                         bill_no=row["bill_no"], amount=row["amount"], receipt_no=None)
