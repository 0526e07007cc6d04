from __future__ import annotations

import dataclasses
import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from qrpay.config import Config
from qrpay.errors import Conflict, PaymentError
from qrpay.payments.ledger import account_balance, bill_entries, bill_status
from qrpay.payments.posting import PaymentIn, cancel_payment, post_payment
from qrpay.store import Store, open_store
from qrpay.store.schema import ledger, outbox, payments

from .conftest import DUE, add_bill

ON_TIME = dt.datetime(2024, 6, 10, 6, 0, tzinfo=dt.UTC)
LATE = dt.datetime(2024, 6, 20, 6, 0, tzinfo=dt.UTC)


def pay(store: Store, config: Config, *, txn: str = "T1", amount: int = 123450,
        status: str = "success", bill_no: str = "B2405100000001", currency: str = "INR",
        paid_at: dt.datetime = ON_TIME, channel: str = "upi"):
    with store.begin() as conn:
        return post_payment(conn, config, PaymentIn(
            channel=channel, txn_id=txn, bill_no=bill_no, amount=amount, currency=currency,
            status=status, paid_at=paid_at))


def count(store: Store, table, *where) -> int:
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def status_of(store: Store, bill, day: dt.date = DUE):
    with store.connect() as conn:
        return bill_status(conn, bill, day)


def test_full_payment_posts_once_with_receipt_and_one_sms(store: Store,
                                                          best_config: Config) -> None:
    bill = add_bill(store)
    first = pay(store, best_config)
    again = pay(store, best_config)
    assert (first.result, again.result) == ("posted", "duplicate")
    assert first.receipt_no == again.receipt_no == "BEST-000000001"
    assert first.bill_state == "paid"
    assert count(store, ledger, ledger.c.kind == "payment") == 1
    assert count(store, outbox) == 1
    assert status_of(store, bill).receipts == ("BEST-000000001",)


def test_less_than_due_is_part_payment(store: Store, best_config: Config) -> None:
    bill = add_bill(store, amount=100000)
    assert pay(store, best_config, amount=40000).bill_state == "part_paid"
    st = status_of(store, bill)
    assert (st.state, st.paid, st.due_now) == ("part_paid", 40000, 60000)


def test_more_than_due_is_credit_on_account(store: Store, best_config: Config) -> None:
    bill = add_bill(store, amount=100000)
    pay(store, best_config, amount=105000)  # within the ceiling (far above: held)
    st = status_of(store, bill)
    assert (st.state, st.balance, st.due_now) == ("credit", -5000, 0)
    with store.connect() as conn:
        assert account_balance(conn, "best", bill.account_no) == -5000


def test_payment_after_due_date_adds_late_fee_once(store: Store, best_config: Config) -> None:
    bill = add_bill(store, amount=100000, late_amount=105000)
    first = pay(store, best_config, txn="T1", amount=50000, paid_at=LATE)
    second = pay(store, best_config, txn="T2", amount=55000, paid_at=LATE)
    assert (first.late_fee, second.late_fee) == (5000, 0)
    st = status_of(store, bill, LATE.date())
    assert (st.state, st.late_fee, st.due_now) == ("paid", 5000, 0)


def test_payment_on_due_date_in_local_time_has_no_late_fee(store: Store,
                                                           best_config: Config) -> None:
    add_bill(store, amount=100000, late_amount=105000)
    # 20:00 UTC on the 15th is 01:30 on the 16th in Mumbai: late.  18:00 UTC is 23:30: not.
    on_time = dt.datetime(2024, 6, 15, 18, 0, tzinfo=dt.UTC)
    assert pay(store, best_config, amount=100000, paid_at=on_time).late_fee == 0


def test_failure_or_pending_after_success_never_unpays(store: Store,
                                                       best_config: Config) -> None:
    bill = add_bill(store)
    pay(store, best_config)
    assert pay(store, best_config, status="failed").result == "ignored"
    assert pay(store, best_config, status="pending").result == "ignored"
    assert status_of(store, bill).state == "paid"


def test_success_after_failure_posts(store: Store, best_config: Config) -> None:
    bill = add_bill(store)
    assert pay(store, best_config, status="failed").result == "recorded"
    assert pay(store, best_config, status="pending").result == "recorded"
    assert status_of(store, bill).state == "unpaid"
    assert pay(store, best_config).result == "posted"
    assert status_of(store, bill).state == "paid"


def test_reversal_has_its_own_entry_and_keeps_the_receipt(store: Store,
                                                          best_config: Config) -> None:
    bill = add_bill(store)
    posted = pay(store, best_config)
    rev = pay(store, best_config, status="reversed")
    again = pay(store, best_config, status="reversed")
    assert (rev.result, again.result) == ("reversed", "duplicate")
    assert rev.receipt_no == posted.receipt_no
    with store.connect() as conn:
        kinds = [e.kind for e in bill_entries(conn, bill.bill_no)]
    assert kinds == ["charge", "payment", "reversal"]
    st = status_of(store, bill)
    assert (st.state, st.receipts) == ("unpaid", ())
    assert pay(store, best_config).result == "ignored"
    assert count(store, outbox) == 2  # received + reversed


def test_counter_cancel_reopens_the_bill(store: Store, best_config: Config) -> None:
    bill = add_bill(store)
    posted = pay(store, best_config, channel="counter")
    with store.begin() as conn:
        res = cancel_payment(conn, best_config, posted.payment_id, reason="wrong bill")
        assert cancel_payment(conn, best_config, posted.payment_id,
                              reason="again").result == "duplicate"
    assert (res.result, res.receipt_no) == ("cancelled", posted.receipt_no)
    assert status_of(store, bill).state == "unpaid"


def test_unknown_bill_is_rejected_with_code(store: Store, best_config: Config) -> None:
    with pytest.raises(PaymentError) as exc:
        pay(store, best_config, bill_no="B9999999999999")
    assert exc.value.code == "unknown_bill"
    assert count(store, payments) == 0


@pytest.mark.parametrize(("change", "code"), [
    ({"currency": "BDT"}, "currency_mismatch"),
    ({"amount": 0}, "non_positive_amount"),
    ({"amount": -5}, "non_positive_amount"),
    ({"status": "captured"}, "bad_status"),
])
def test_bad_payment_fields_have_precise_codes(store: Store, best_config: Config,
                                               change: dict, code: str) -> None:
    add_bill(store)
    with pytest.raises(PaymentError) as exc:
        pay(store, best_config, **change)
    assert exc.value.code == code


def test_same_txn_with_another_amount_is_a_conflict(store: Store, best_config: Config) -> None:
    add_bill(store)
    pay(store, best_config)
    with pytest.raises(Conflict) as exc:
        pay(store, best_config, amount=100)
    assert exc.value.code == "txn_mismatch"


def test_float_amount_is_refused(store: Store, best_config: Config) -> None:
    add_bill(store)
    with store.begin() as conn, pytest.raises(PaymentError) as exc:
        post_payment(conn, best_config, PaymentIn(channel="upi", txn_id="F", currency="INR",
                                                  bill_no="B2405100000001",
                                                  amount=1234.5))  # type: ignore[arg-type]
    assert exc.value.code == "invalid_amount"


def test_receipts_are_gap_free_under_concurrency(db_url: str, store: Store,
                                                 best_config: Config) -> None:
    for i in range(8):
        add_bill(store, bill_no=f"B24051000000{i:02d}", amount=1000)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        s = open_store(db_url, upgrade=False)
        try:
            for k in range(3):
                try:
                    with s.begin() as conn:
                        post_payment(conn, best_config, PaymentIn(
                            channel="upi", txn_id=f"T{i}-{k}", amount=1000, currency="INR",
                            bill_no=f"B24051000000{i:02d}"))
                        if k == 1:  # rolled back after its receipt number was taken
                            raise RuntimeError("crash before commit")
                except RuntimeError:
                    pass
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            s.dispose()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with store.connect() as conn:
        receipts = sorted(conn.execute(select(payments.c.receipt_no)).scalars())
    assert receipts == [f"BEST-{n:09d}" for n in range(1, 17)]


def test_bills_without_importer_charge_are_charged_at_posting(store: Store,
                                                              best_config: Config) -> None:
    bill = add_bill(store, charge=False, amount=1000)
    pay(store, best_config, amount=1000)
    with store.connect() as conn:
        kinds = [e.kind for e in bill_entries(conn, bill.bill_no)]
    assert kinds == ["charge", "payment"]
    assert dataclasses.replace(status_of(store, bill)).state == "paid"


def only_channels(config: Config, *names: str) -> Config:
    best = dataclasses.replace(config.biller("best"), channels=names)
    return dataclasses.replace(config, billers={**config.billers, "best": best})


def test_channel_not_among_the_billers_channels_is_refused(store: Store,
                                                           best_config: Config) -> None:
    add_bill(store)
    config = only_channels(best_config, "razorpay")
    for channel in ("upi", "bkash"):
        with pytest.raises(PaymentError) as exc:
            pay(store, config, channel=channel)
        assert (exc.value.code, exc.value.field) == ("channel_not_allowed", "channel")
    assert count(store, payments) == 0
    assert pay(store, config, channel="razorpay").result == "posted"


def test_counter_channel_is_always_allowed(store: Store, best_config: Config) -> None:
    add_bill(store)
    res = pay(store, only_channels(best_config, "razorpay"), channel="counter")
    assert (res.result, res.status) == ("posted", "success")


def test_amount_beyond_any_bill_is_refused_before_storing(store: Store,
                                                         best_config: Config) -> None:
    add_bill(store)
    with pytest.raises(PaymentError) as exc:
        pay(store, best_config, amount=10**19)
    assert exc.value.code == "amount_too_large"
    assert count(store, payments) == 0
