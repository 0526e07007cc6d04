"""What one payment report does: a pure function of the stored payment's status, the
incoming report, the bill's ledger sums and the day.  No database, no clock.

The table (``TABLE``): stored status down, incoming status across.

  ==================  ===================  ====================  =====================
  stored \\ incoming   success              failed / pending      reversed
  ==================  ===================  ====================  =====================
  (new)               post -> ``posted``    record -> ``recorded``  record -> ``recorded``
  failed, pending     post -> ``posted``    record -> ``recorded``  record -> ``recorded``
                                           (same: ``duplicate``)
  success             ``duplicate``        ``ignored``           reverse -> ``reversed``
  reversed            ``ignored``          ``ignored``           ``duplicate``
  cancelled           ``ignored``          ``ignored``           ``ignored``
  held                ``duplicate``        ``ignored``           record -> ``recorded``
  refused             ``ignored``          ``ignored``           record -> ``recorded``
  ==================  ===================  ====================  =====================

``post`` turns into ``hold`` (result ``held``, status ``held``: recorded, nothing
credited, for review) when the amount is far above the bill: above the biller's ceiling
(``[billers.amount_limits]``, :meth:`AmountLimits.ceiling`) for what the printed bill
asks on the day.  A second full payment of a paid bill is not "far above the bill" and
is credited as before.  The counter desk asks for a supervisor's approval instead, so its
``Terms.limits`` is None.  A reviewer then releases a held payment (posted as a
``pending`` one would be, without the ceiling) or refuses it (status ``refused``: the money
goes back to the payer outside qrpay); see :mod:`qrpay.payments.review`.
A post after the due date plus the grace days also charges the late fee once
(:func:`qrpay.payments.ledger.late_fee_to_charge`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from qrpay.bills import Bill
from qrpay.config import AmountLimits
from qrpay.payments.ledger import Sums, amount_due_on, late_fee_to_charge

POST, RECORD, REVERSE, HOLD, NOTHING = "post", "record", "reverse", "hold", "nothing"
INCOMING = ("success", "failed", "pending", "reversed")
STORED = (None, "failed", "pending", "success", "reversed", "cancelled", "held", "refused")

# (stored, incoming) -> (result, action); the status after is the incoming one for
# post/record/reverse and the stored one otherwise
TABLE: dict[tuple[str | None, str], tuple[str, str]] = {
    (None, "success"): ("posted", POST),
    (None, "failed"): ("recorded", RECORD),
    (None, "pending"): ("recorded", RECORD),
    (None, "reversed"): ("recorded", RECORD),
    ("failed", "success"): ("posted", POST),
    ("failed", "failed"): ("duplicate", NOTHING),
    ("failed", "pending"): ("recorded", RECORD),
    ("failed", "reversed"): ("recorded", RECORD),
    ("pending", "success"): ("posted", POST),
    ("pending", "failed"): ("recorded", RECORD),
    ("pending", "pending"): ("duplicate", NOTHING),
    ("pending", "reversed"): ("recorded", RECORD),
    ("success", "success"): ("duplicate", NOTHING),
    ("success", "failed"): ("ignored", NOTHING),
    ("success", "pending"): ("ignored", NOTHING),
    ("success", "reversed"): ("reversed", REVERSE),
    ("reversed", "success"): ("ignored", NOTHING),
    ("reversed", "failed"): ("ignored", NOTHING),
    ("reversed", "pending"): ("ignored", NOTHING),
    ("reversed", "reversed"): ("duplicate", NOTHING),
    ("cancelled", "success"): ("ignored", NOTHING),
    ("cancelled", "failed"): ("ignored", NOTHING),
    ("cancelled", "pending"): ("ignored", NOTHING),
    ("cancelled", "reversed"): ("ignored", NOTHING),
    ("held", "success"): ("duplicate", NOTHING),
    ("held", "failed"): ("ignored", NOTHING),
    ("held", "pending"): ("ignored", NOTHING),
    ("held", "reversed"): ("recorded", RECORD),
    ("refused", "success"): ("ignored", NOTHING),
    ("refused", "failed"): ("ignored", NOTHING),
    ("refused", "pending"): ("ignored", NOTHING),
    ("refused", "reversed"): ("recorded", RECORD),
}


@dataclass(frozen=True)
class Terms:
    """What of the bill and its biller a decision needs."""

    bill: Bill
    grace_days: int = 0
    limits: AmountLimits | None = None  # None: no ceiling (the counter desk)


@dataclass(frozen=True)
class Decision:
    result: str  # posted, duplicate, recorded, reversed, ignored, held
    action: str  # post, record, reverse, hold, nothing
    status: str | None  # the payment's status after (None: a new row never stored)
    late_fee: int = 0  # charged with this posting
    sums: Sums | None = None  # the bill's sums after a post or reversal

    @property
    def bill_state(self) -> str | None:
        return self.sums.state if self.sums is not None else None


def decide(stored: str | None, incoming: str, amount: int, sums: Sums, terms: Terms,
           day: dt.date) -> Decision:
    """The decision for a report of ``incoming`` status and ``amount`` on a payment
    stored as ``stored`` (None: not seen before), the bill's ledger ``sums`` before it,
    on the biller's local ``day``."""
    result, action = TABLE[(stored, incoming)]
    sums = sums.for_bill(terms.bill)
    if action == POST:
        return _post(amount, sums, terms, day)
    if action == REVERSE:
        return Decision(result, action, "reversed", sums=sums.paying(-amount))
    if action == RECORD:
        return Decision(result, action, incoming)
    return Decision(result, action, stored)


def _post(amount: int, sums: Sums, terms: Terms, day: dt.date) -> Decision:
    if terms.limits is not None and amount > terms.limits.ceiling(
            amount_due_on(terms.bill, day, terms.grace_days)):
        return Decision("held", HOLD, "held")
    fee = late_fee_to_charge(terms.bill, sums, day, terms.grace_days)
    return Decision("posted", POST, "success", late_fee=fee, sums=sums.paying(amount, fee))
