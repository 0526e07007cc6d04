"""``[billers.late_payment] grace_days``: one profile value moves the first late day in
every place that shows or takes the amount due: posting (the late fee), the read model
and the bill page, the desk's status, the dynamic QR and the e-bill."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from qrpay.bills import Bill
from qrpay.config import Config
from qrpay.desk.counter import _status as desk_status
from qrpay.ebill.view import labels_for, make_view
from qrpay.payload import bill_payload, bill_url
from qrpay.payments.posting import PaymentIn, post_payment
from qrpay.payments.reads import Reader
from qrpay.store import Store, utcnow

from .conftest import insert_bill, make_bill

AMOUNT, LATE = 123450, 125000


def with_grace(config: Config, days: int) -> Config:
    best = config.biller("best")
    late = dataclasses.replace(best.late_payment, grace_days=days)
    billers = {**config.billers, "best": dataclasses.replace(best, late_payment=late)}
    return dataclasses.replace(config, billers=billers)


def two_days_late(config: Config) -> Bill:
    """A bill whose due date was two days ago on the biller's calendar."""
    today = config.biller("best").today()
    return make_bill(due_date=today - dt.timedelta(days=2))


@pytest.mark.parametrize(("grace", "expected"), [(0, LATE), (1, LATE), (2, AMOUNT),
                                                 (5, AMOUNT)])
def test_grace_days_decide_the_amount_everywhere(store: Store, best_config: Config,
                                                 app_for: Any, grace: int,
                                                 expected: int) -> None:
    config = with_grace(best_config, grace)
    biller = config.biller("best")
    bill = insert_bill(store, two_days_late(config))
    today = biller.today()

    # the read model (bill page, API, chat) and the desk
    found = Reader(store, config).bill_and_status(bill.bill_no, lambda b: today)
    assert found is not None and found[1].due_now == expected
    with store.connect() as conn:
        assert desk_status(conn, config, bill, utcnow()).due_now == expected

    # the dynamic QR and the e-bill on that day
    amount = f"{expected // 100}.{expected % 100:02d}"
    assert f"am={amount}&" in bill_payload(bill, biller, config, on=today)
    view = make_view(bill, biller, config, labels_for(biller, "en"), on=today)
    assert view.qr_amount_minor == expected
    # the printed bill states the first late day when there are grace days
    assert bool(view.late_from) == (grace > 0)

    # the bill page
    url = bill_url(bill, biller, config, bill.amount).split("example", 1)[1]
    with TestClient(app_for(config), raise_server_exceptions=False) as client:
        page = client.get(url + "&lang=en")
    assert page.status_code == 200
    due = re.search(r'id="amount-due">([^<]*)<', page.text)
    assert due is not None and re.sub(r"\D", "", due.group(1)) == str(expected)
    assert ("Amount due (with late fee)" in page.text) == (expected == LATE)

    # posting: the late fee is charged only once the grace days are over
    with store.begin() as conn:
        res = post_payment(conn, config, PaymentIn(
            channel="upi", txn_id="G1", bill_no=bill.bill_no, amount=expected,
            currency="INR"))
    assert (res.late_fee, res.bill_state) == (expected - AMOUNT, "paid")
