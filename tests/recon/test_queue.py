"""The exceptions queue's actions (post, mark for refund, write off with a reason, link to
another bill): each in the desk's audit trail and in ``recon_actions``, in the same
transaction; nothing is ever deleted or rewritten but the exception's own closing."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import select

from qrpay.config import Config
from qrpay.desk.audit import entries, readable
from qrpay.errors import QrpayError, ValidationError
from qrpay.recon.queue import act
from qrpay.store import Store
from qrpay.store.schema import (
    audit,
    ledger,
    payments,
    recon_actions,
    recon_exceptions,
    refunds_due,
)

from .conftest import add_bill, pay

T0 = dt.datetime(2026, 11, 21, 6, 0, tzinfo=dt.UTC)
KEPT = (payments, ledger, recon_exceptions, recon_actions, refunds_due, audit)


def open_exception(store: Store, outcome: str, txn_id: str, bill_no: str | None,
                   *, payment_id: int | None = None, biller: str | None = None) -> int:
    with store.begin() as conn:
        return int(conn.execute(recon_exceptions.insert().values(
            outcome=outcome, channel="razorpay", txn_id=txn_id, bill_no=bill_no,
            biller=biller, payment_id=payment_id, amount=123450,
            detail=json.dumps({"message": outcome}), suggested="review", state="open",
            opened_at=T0)).inserted_primary_key[0])


def snapshot(store: Store) -> dict[str, dict[Any, tuple[Any, ...]]]:
    with store.connect() as conn:
        return {t.name: {r[0]: tuple(r) for r in conn.execute(select(t))} for t in KEPT}


def assert_nothing_lost(before: dict[str, dict[Any, tuple[Any, ...]]],
                        after: dict[str, dict[Any, tuple[Any, ...]]]) -> None:
    for name, rows in before.items():
        for key, row in rows.items():
            assert key in after[name], f"{name} row {key} was deleted"
            if name != "recon_exceptions":  # only the exception closes
                assert after[name][key] == row, f"{name} row {key} was rewritten"


def test_every_action_is_in_the_desk_audit_trail_and_nothing_is_deleted(
        store: Store, best_config: Config) -> None:
    add_bill(store, "B2611A00000001")
    add_bill(store, "B2611B00000001")
    add_bill(store, "B2611C00000001")
    paid = pay(store, best_config, "razorpay", "pay_dup", "B2611C00000001", 123450, now=T0)
    cases = [
        ("post", open_exception(store, "suspense", "pay_sus", "B2611A00000001"), None),
        ("refund", open_exception(store, "duplicate_payment", "pay_dup", "B2611C00000001",
                                  payment_id=paid.payment_id, biller="best"), None),
        ("write_off", open_exception(store, "settlement_mismatch", None, None), None),
        ("link", open_exception(store, "suspense", "pay_lnk", None), "B2611B00000001"),
    ]
    for action, exc_id, bill in cases:
        before = snapshot(store)
        with store.begin() as conn:
            act(conn, best_config, exc_id, action, actor="sunil", reason=f"why {action}",
                bill_no=bill, now=T0 + dt.timedelta(hours=1), remote="10.0.0.7")
        assert_nothing_lost(before, snapshot(store))
    with store.connect() as conn:
        trail = list(entries(conn, since=T0))
        excs = conn.execute(select(recon_exceptions).order_by(recon_exceptions.c.id)).all()
        acts = conn.execute(select(recon_actions).order_by(recon_actions.c.id)).all()
    assert [e.action for e in trail] == ["recon_post", "recon_refund", "recon_write_off",
                                         "recon_link"]
    assert all(e.actor == "sunil" and e.remote == "10.0.0.7" for e in trail)
    assert [e.biller for e in trail] == ["best", "best", None, "best"]
    assert [e.detail["exception_id"] for e in trail] == [c[1] for c in cases]
    assert trail[3].detail["bill_no"] == "B2611B00000001"
    line = readable(trail[1])
    assert line.amount == 123450 and line.bill_no == "B2611C00000001"
    assert ("reason", "why refund", False) in line.notes
    assert [(a.action, a.actor) for a in acts] == [(c[0], "sunil") for c in cases]
    assert [(e.state, e.closed_by) for e in excs] == [("closed", "sunil")] * 4
    assert excs[2].reason == "write_off: why write_off"


def test_a_refused_action_writes_nothing(store: Store, best_config: Config) -> None:
    exc_id = open_exception(store, "suspense", "pay_sus", None)
    before = snapshot(store)
    for action, reason, code in (("write_off", "  ", "missing_reason"),
                                 ("delete", "x", "bad_action"),
                                 ("post", "x", "missing_bill")):
        with pytest.raises(QrpayError) as err, store.begin() as conn:
            act(conn, best_config, exc_id, action, actor="sunil", reason=reason, now=T0)
        assert err.value.code == code
        assert isinstance(err.value, ValidationError)
    assert snapshot(store) == before
