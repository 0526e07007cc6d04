"""The amount a biller accepts for a bill today: one rule, every dialect maps it.

=============  =====================================  ==============================
rule           accepted amount                        refused as
=============  =====================================  ==============================
``exact``      the amount due now                     ``amount_differs``
``exact_down`` ``min_amount`` (or 0.01) .. due now    ``below_minimum`` /
                                                      ``amount_differs`` (above due)
``exact_up``   due now or more (advance)              ``below_minimum``
``any``        any positive amount                    -
``range``      ``min_amount`` .. ``max_amount``       ``below_minimum`` /
                                                      ``amount_differs``
=============  =====================================  ==============================

After the due date "due now" includes the late amount (``BillStatus.due_now``); a
biller with ``cutoff_days`` refuses payments after ``due_date + cutoff_days``
(``after_cutoff``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from qrpay.biller.policy import BillerPolicy
from qrpay.errors import PaymentError
from qrpay.money import to_decimal_str


@dataclass(frozen=True)
class Bounds:
    rule: str
    due: int  # minor units due now
    minimum: int
    maximum: int | None  # None: no upper bound

    def check(self, amount: int) -> None:
        if amount < self.minimum:
            code = "amount_differs" if self.rule == "exact" else "below_minimum"
            raise PaymentError(f"{to_decimal_str(amount)} is less than the "
                               f"{to_decimal_str(self.minimum)} accepted", code=code,
                               field="amount", under=True)
        if self.maximum is not None and amount > self.maximum:
            raise PaymentError(f"{to_decimal_str(amount)} is more than the "
                               f"{to_decimal_str(self.maximum)} accepted",
                               code="amount_differs", field="amount", under=False)


def bounds(policy: BillerPolicy, due: int) -> Bounds:
    """What ``policy`` accepts when ``due`` (minor units, > 0) is due now."""
    rule = policy.amount_rule
    if rule == "exact":
        return Bounds(rule, due, due, due)
    if rule == "exact_down":
        return Bounds(rule, due, min(policy.min_amount or 1, due), due)
    if rule == "exact_up":
        return Bounds(rule, due, due, None)
    if rule == "range":
        return Bounds(rule, due, policy.min_amount or 1, policy.max_amount)
    return Bounds(rule, due, 1, None)


def past_cutoff(policy: BillerPolicy, due_date: dt.date, today: dt.date) -> bool:
    if policy.cutoff_days is None:
        return False
    return today > due_date + dt.timedelta(days=policy.cutoff_days)


def check_cutoff(policy: BillerPolicy, due_date: dt.date, today: dt.date) -> None:
    if past_cutoff(policy, due_date, today):
        raise PaymentError(f"the bill was due on {due_date.isoformat()}; this biller takes "
                           "no payment for it after its cut-off", code="after_cutoff",
                           field="due_date")
