"""The values of the posting path: a payment report in, a posting result out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from qrpay.money import to_decimal_str

STATUSES = ("success", "failed", "pending", "reversed")
COUNTER_CHANNEL = "counter"  # the counter desk: every biller takes it
RESULTS = ("posted", "duplicate", "recorded", "reversed", "ignored", "cancelled", "held",
           "refused")


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
    result: str  # one of RESULTS
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
