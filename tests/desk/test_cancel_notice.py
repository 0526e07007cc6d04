"""Issue 10 item 2: cancelling a counter receipt tells the consumer (who was told "payment
received") with the amount due now, once; the stamp reads "CANCELLED: <reason>"."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from qrpay.store import Store
from qrpay.store.schema import outbox
from tests.desk.conftest import Desk, add_user, insert_bill, make_bill


def _notices(store: Store) -> list[tuple[str, str, str]]:
    with store.connect() as conn:
        return [(r.template, r.recipient, r.body) for r in conn.execute(
            select(outbox).order_by(outbox.c.id))]


def _collect_and_cancel(store: Store, make_desk: Callable[[], Desk]) -> tuple[Desk, str]:
    insert_bill(store, make_bill())
    add_user(store, "meera", "supervisor")
    desk = make_desk()
    assert desk.login("meera") == 303
    r = desk.collect(desk.scan("B2611100000001").text, "1234.50")
    receipt_no = r.headers["location"].rsplit("/", 1)[-1]
    for _ in range(2):  # a double submit cancels once and sends once
        desk.post(f"/desk/receipt/{receipt_no}/cancel", {"reason": "wrong bill"})
    return desk, receipt_no


def test_cancel_sends_the_cancellation_sms_with_the_amount_due_now(
        store: Store, make_desk: Callable[[], Desk]) -> None:
    _collect_and_cancel(store, make_desk)
    sent = _notices(store)
    assert [t for t, _, _ in sent] == ["payment_received", "payment_cancelled"]
    _, recipient, body = sent[1]
    assert recipient == "919812345678"
    assert "BEST-000000001" in body and "रद्द" in body
    assert body.count("₹ 1,234.50") == 2  # the amount cancelled and the amount due now


def test_stamp_reads_cancelled_and_the_reason_once(store: Store,
                                                   make_desk: Callable[[], Desk]) -> None:
    desk, receipt_no = _collect_and_cancel(store, make_desk)
    page = desk.client.get(f"/desk/receipt/{receipt_no}?lang=en").text
    assert 'id="cancelled">CANCELLED: wrong bill · by meera</p>' in page
    assert "CANCELLED: cancelled" not in page


@pytest.mark.parametrize(("lang", "stamp"), [("hi", "रद्द: wrong bill · रद्द किया: meera"),
                                             ("bn", "বাতিল: wrong bill · বাতিল করেছেন: meera")],
                         ids=["hi", "bn"])
def test_stamp_names_who_cancelled_in_the_desks_language(store: Store,
                                                         make_desk: Callable[[], Desk],
                                                         lang: str, stamp: str) -> None:
    """Not ``(by meera)`` in English on the Hindi and Bengali desk (issue 10 item 5)."""
    desk, receipt_no = _collect_and_cancel(store, make_desk)
    page = desk.client.get(f"/desk/receipt/{receipt_no}?lang={lang}").text
    assert f'id="cancelled">{stamp}</p>' in page
    assert "(by " not in page
