"""Counter collect under concurrency: one bill is collected once, whoever comes second
(another desk, or an online payment callback) sees it paid."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from qrpay.config import Config
from qrpay.desk import counter, shift
from qrpay.desk.staff import Staff, add_staff
from qrpay.errors import Conflict
from qrpay.payments.posting import PaymentIn, post_payment
from qrpay.store import Store
from qrpay.store.schema import payments
from tests.desk.conftest import insert_bill, make_bill, race

NOW = dt.datetime.now(dt.UTC)
AMOUNT = 123450


def cashier(store: Store, name: str, counter_name: str) -> tuple[Staff, int]:
    with store.begin() as conn:
        who = add_staff(conn, name, "counter-pass-1", role="cashier", biller="best",
                        counter=counter_name)
        opened, _ = shift.join_or_open(conn, who, NOW)
    return who, opened.id


def collector(config: Config, who: Staff, shift_id: int, bill_no: str, key: str):  # type: ignore[no-untyped-def]
    form = counter.CollectIn(bill_no, "D" + key * 24, AMOUNT, "cash")
    return lambda conn: counter.collect(conn, config, who, shift_id, form, NOW)


def posted(store: Store, bill_no: str) -> int:
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(payments).where(
            payments.c.bill_no == bill_no, payments.c.status == "success")).scalar_one()


@pytest.fixture
def bill_no(store: Store) -> str:
    return insert_bill(store, make_bill(amount=AMOUNT)).bill_no


def test_two_desks_collecting_one_bill_at_once_post_it_once(
        store: Store, best_config: Config, bill_no: str) -> None:
    asha, s1 = cashier(store, "asha", "C1")
    meera, s2 = cashier(store, "meera", "C2")
    first, second = race(store, collector(best_config, asha, s1, bill_no, "a"),
                         collector(best_config, meera, s2, bill_no, "m"))
    assert isinstance(first, counter.Collected)
    assert isinstance(second, Conflict) and second.code == "already_paid"
    assert posted(store, bill_no) == 1


def test_desk_collect_racing_an_online_payment_sees_the_bill_paid(
        store: Store, best_config: Config, bill_no: str) -> None:
    asha, s1 = cashier(store, "asha", "C1")
    online = PaymentIn("upi", "UPI-RACE-1", bill_no, AMOUNT, "INR")
    first, second = race(store, lambda conn: post_payment(conn, best_config, online),
                         collector(best_config, asha, s1, bill_no, "a"))
    assert getattr(first, "result", None) == "posted"
    assert isinstance(second, Conflict) and second.code == "already_paid"
    assert posted(store, bill_no) == 1


def test_double_submit_of_one_form_racing_gets_the_same_receipt(
        store: Store, best_config: Config, bill_no: str) -> None:
    asha, s1 = cashier(store, "asha", "C1")
    submit = collector(best_config, asha, s1, bill_no, "a")
    first, second = race(store, submit, submit)
    assert isinstance(first, counter.Collected) and isinstance(second, counter.Collected)
    assert second.receipt_no == first.receipt_no and second.duplicate
    assert posted(store, bill_no) == 1
