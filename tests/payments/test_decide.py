"""The decision function, table-driven and without a database, and a hypothesis state
machine holding the exactly-once invariants over any history of reports."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from qrpay.config import AmountLimits
from qrpay.payments.decide import (
    HOLD,
    INCOMING,
    NOTHING,
    POST,
    RECORD,
    REVERSE,
    STORED,
    TABLE,
    Terms,
    decide,
)
from qrpay.payments.ledger import Sums

from .conftest import DUE, make_bill

BILL = make_bill(amount=100000, late_amount=105000)
TERMS = Terms(BILL)
CHARGED = Sums(charged=100000, has_charge=True)
ON_TIME = DUE
LATE = DUE + dt.timedelta(days=1)

# stored, incoming -> result, action, status after (the docstring's table, row by row)
CASES = [
    (None, "success", "posted", POST, "success"),
    (None, "failed", "recorded", RECORD, "failed"),
    (None, "pending", "recorded", RECORD, "pending"),
    (None, "reversed", "recorded", RECORD, "reversed"),
    ("failed", "success", "posted", POST, "success"),
    ("failed", "failed", "duplicate", NOTHING, "failed"),
    ("failed", "pending", "recorded", RECORD, "pending"),
    ("pending", "success", "posted", POST, "success"),
    ("pending", "pending", "duplicate", NOTHING, "pending"),
    ("pending", "failed", "recorded", RECORD, "failed"),
    ("pending", "reversed", "recorded", RECORD, "reversed"),
    ("success", "success", "duplicate", NOTHING, "success"),
    ("success", "failed", "ignored", NOTHING, "success"),
    ("success", "pending", "ignored", NOTHING, "success"),
    ("success", "reversed", "reversed", REVERSE, "reversed"),
    ("reversed", "success", "ignored", NOTHING, "reversed"),
    ("reversed", "reversed", "duplicate", NOTHING, "reversed"),
    ("reversed", "failed", "ignored", NOTHING, "reversed"),
    ("cancelled", "success", "ignored", NOTHING, "cancelled"),
    ("cancelled", "reversed", "ignored", NOTHING, "cancelled"),
    ("held", "success", "duplicate", NOTHING, "held"),
    ("held", "reversed", "recorded", RECORD, "reversed"),
    ("held", "failed", "ignored", NOTHING, "held"),
]


@pytest.mark.parametrize(("stored", "incoming", "result", "action", "after"), CASES)
def test_decision_table(stored: str | None, incoming: str, result: str, action: str,
                        after: str) -> None:
    d = decide(stored, incoming, 50000, CHARGED, TERMS, ON_TIME)
    assert (d.result, d.action, d.status) == (result, action, after)


def test_table_covers_every_stored_status_and_report() -> None:
    assert set(TABLE) == {(s, i) for s in STORED for i in INCOMING}


@pytest.mark.parametrize(("sums", "day", "fee", "state"), [
    (CHARGED, ON_TIME, 0, "part_paid"),
    (CHARGED, LATE, 5000, "part_paid"),
    (dataclasses.replace(CHARGED, late_fee=5000), LATE, 0, "part_paid"),  # charged once
    (dataclasses.replace(CHARGED, paid=100000), LATE, 0, "credit"),  # nothing owed: no fee
])
def test_post_charges_the_late_fee_once_and_only_when_owed(sums: Sums, day: dt.date,
                                                          fee: int, state: str) -> None:
    d = decide(None, "success", 50000, sums, TERMS, day)
    assert (d.late_fee, d.bill_state) == (fee, state)


@pytest.mark.parametrize(("grace", "day", "fee"), [
    (0, DUE + dt.timedelta(days=1), 5000),
    (3, DUE + dt.timedelta(days=3), 0),
    (3, DUE + dt.timedelta(days=4), 5000),
])
def test_grace_days_move_the_first_late_day(grace: int, day: dt.date, fee: int) -> None:
    d = decide(None, "success", 50000, CHARGED, Terms(BILL, grace_days=grace), day)
    assert d.late_fee == fee


def test_amount_far_above_the_bill_is_held_not_posted() -> None:
    limits = AmountLimits(ceiling_percent_bp=1000, ceiling_amount=10000)
    terms = Terms(BILL, limits=limits)
    assert decide(None, "success", 110000, CHARGED, terms, ON_TIME).result == "posted"
    held = decide(None, "success", 110001, CHARGED, terms, ON_TIME)
    assert (held.result, held.action, held.status, held.sums) == ("held", HOLD, "held", None)
    # late: the bill asks for its late amount, so the ceiling moves with it
    assert decide(None, "success", 115000, CHARGED, terms, LATE).result == "posted"
    # a second full payment of a paid bill is credited, not held
    paid = dataclasses.replace(CHARGED, paid=100000)
    assert decide(None, "success", 100000, paid, terms, ON_TIME).bill_state == "credit"


def test_reversal_gives_the_amount_back() -> None:
    paid = dataclasses.replace(CHARGED, paid=100000)
    d = decide("success", "reversed", 100000, paid, TERMS, ON_TIME)
    assert d.sums is not None and (d.sums.paid, d.bill_state) == (0, "unpaid")


class ExactlyOnce(RuleBasedStateMachine):
    """Any history of reports of a few transactions on one bill, applied with
    :func:`decide` as a batch applies them (each on the state the previous left):
    at most one posting per transaction, a reversal only of a posting and at most one,
    receipts 1..N, and the bill's sums equal to what the payments in force paid."""

    AMOUNTS = {"T1": 40000, "T2": 30000, "T3": 50000, "T4": 500000}

    def __init__(self) -> None:
        super().__init__()
        self.status: dict[str, str | None] = dict.fromkeys(self.AMOUNTS)
        self.sums = CHARGED
        self.posts = dict.fromkeys(self.AMOUNTS, 0)
        self.reversals = dict.fromkeys(self.AMOUNTS, 0)
        self.receipts: dict[str, int] = {}
        self.terms = Terms(BILL, grace_days=2, limits=AmountLimits())

    @rule(txn=st.sampled_from(sorted(AMOUNTS)), incoming=st.sampled_from(INCOMING),
          late=st.booleans())
    def report(self, txn: str, incoming: str, late: bool) -> None:
        day = DUE + dt.timedelta(days=5 if late else 0)
        d = decide(self.status[txn], incoming, self.AMOUNTS[txn], self.sums, self.terms, day)
        if d.action == POST:
            self.posts[txn] += 1
            self.receipts[txn] = len(self.receipts) + 1
        if d.action == REVERSE:
            self.reversals[txn] += 1
        if d.sums is not None:
            self.sums = d.sums
        self.status[txn] = d.status
        if self.status[txn] == "success":
            assert d.result in ("posted", "duplicate", "ignored")

    @invariant()
    def at_most_one_posting_and_one_reversal(self) -> None:
        for txn in self.AMOUNTS:
            assert self.posts[txn] <= 1
            assert self.reversals[txn] <= self.posts[txn]
            assert (self.status[txn] == "success") == (self.posts[txn] == 1
                                                       and self.reversals[txn] == 0)

    @invariant()
    def receipts_gap_free(self) -> None:
        assert sorted(self.receipts.values()) == list(range(1, len(self.receipts) + 1))

    @invariant()
    def sums_match_the_payments_in_force(self) -> None:
        in_force = sum(a for t, a in self.AMOUNTS.items() if self.status[t] == "success")
        assert self.sums.paid == in_force
        assert self.sums.late_fee in (0, 5000)

    @invariant()
    def far_above_the_bill_is_never_credited(self) -> None:
        assert self.posts["T4"] == 0


TestExactlyOnce = ExactlyOnce.TestCase
TestExactlyOnce.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
