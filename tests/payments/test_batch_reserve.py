"""A reserved payment (``Batch.reserve``: the caller read its transaction as not stored)
is inserted once, by ``take_receipts``, in the state the batch left it, receipt number
included; a refusal leaves nothing behind; one stored meanwhile by another transaction
raises ``Claimed`` (the caller runs the batch again, claiming)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from qrpay.config import Config
from qrpay.errors import PaymentError
from qrpay.payments.batch import Batch, Claimed
from qrpay.payments.model import PaymentIn
from qrpay.payments.posting import post_payment
from qrpay.store import Store
from qrpay.store.schema import ledger, outbox, payments

from .conftest import add_bill

NOW = dt.datetime(2024, 6, 10, 6, 0, tzinfo=dt.UTC)
BILL = "B2405100000001"


def report(txn_id: str = "T1", amount: int = 123450) -> PaymentIn:
    return PaymentIn(channel="upi", txn_id=txn_id, bill_no=BILL, amount=amount,
                     currency="INR", payer="ravi@okaxis", utr="412345678901")


def test_a_reserved_payment_is_inserted_once_in_its_final_state(
        store: Store, best_config: Config) -> None:
    add_bill(store)
    with store.begin() as conn:
        batch = Batch(conn, best_config)
        batch.lock({BILL})
        res = batch.reserve(report(), NOW)
        assert res.result == "posted" and res.payment_id < 0  # no row yet
        assert conn.execute(select(payments.c.id)).first() is None
        batch.take_receipts()
        batch.write()
        final = batch.final(res)
    with store.connect() as conn:
        row = conn.execute(select(payments)).one()
        entry = conn.execute(select(ledger).where(ledger.c.kind == "payment")).one()
        sms = conn.execute(select(outbox.c.dedupe_key)).scalars().all()
    assert final.payment_id == row.id and final.receipt_no == row.receipt_no == "BEST-000000001"
    assert (row.status, row.amount, row.utr, row.payer) == (
        "success", 123450, "412345678901", "ravi@okaxis")
    assert row.posted_at is not None and row.paid_at is not None
    assert (entry.payment_id, entry.receipt_no, entry.amount) == (row.id, row.receipt_no,
                                                                 -123450)
    assert sms == [f"payment:{row.id}:received"]


def test_a_refused_reservation_leaves_nothing(store: Store, best_config: Config) -> None:
    add_bill(store)
    with store.begin() as conn:
        batch = Batch(conn, best_config)
        batch.lock({BILL})
        with pytest.raises(PaymentError):
            batch.reserve(PaymentIn(channel="upi", txn_id="T1", bill_no=BILL, amount=100,
                                    currency="BDT"), NOW)
        assert not batch.payments and not batch.reserved
        batch.take_receipts()
        batch.write()
    with store.connect() as conn:
        assert conn.execute(select(payments.c.id)).first() is None


def test_a_reservation_stored_meanwhile_raises_claimed(store: Store,
                                                       best_config: Config) -> None:
    add_bill(store)
    with store.begin() as conn:
        batch = Batch(conn, best_config)
        batch.lock({BILL})
        batch.reserve(report(), NOW)
        # the same transaction posted meanwhile (here: in this transaction, which is
        # what another transaction's commit looks like to the insert)
        post_payment(conn, best_config, report(), now=NOW)
        with pytest.raises(Claimed):
            batch.take_receipts()
        conn.rollback()
    with store.connect() as conn:
        assert conn.execute(select(payments.c.id)).first() is None
