"""Desk pages in-process: access rules, CSRF, exactly-once collect, cancel, shift close,
audit rows, verdict refusals, session expiry and logout."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import sqlite3
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import func, select, update

from qrpay.config import Config
from qrpay.desk import sessions, staff
from qrpay.desk.audit import entries
from qrpay.desk.shift import open_shift_for
from qrpay.payload import bill_payload
from qrpay.payments.ledger import bill_entries
from qrpay.store import Store
from qrpay.store.schema import payments, staff_sessions
from qrpay.web.desk import PROTECTED
from tests.desk.conftest import Desk, add_user, can_write_now, insert_bill, make_bill

MakeDesk = Callable[[], Desk]
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def bill(store: Store):  # type: ignore[no-untyped-def]
    return insert_bill(store, make_bill())


@pytest.fixture
def payload(bill, best_config: Config) -> str:  # type: ignore[no-untyped-def]
    return bill_payload(bill, best_config.biller("best"), best_config)


@pytest.fixture
def cashier(store: Store, make_desk: MakeDesk) -> Desk:
    add_user(store, "asha")
    desk = make_desk()
    assert desk.login("asha") == 303
    return desk


@pytest.fixture
def supervisor(store: Store, make_desk: MakeDesk) -> Desk:
    add_user(store, "meera", "supervisor")
    desk = make_desk()
    assert desk.login("meera") == 303
    return desk


def count_payments(store: Store) -> int:
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(payments)).scalar_one()


def actions(store: Store) -> list[str]:
    with store.connect() as conn:
        return [e.action for e in entries(conn, since=EPOCH)]


def concrete(path: str) -> str:
    return path.replace("{receipt_no}", "BEST-000000001").replace("{shift_id:int}", "1")


def collect_receipt(desk: Desk, payload: str, amount: str = "1234.50") -> str:
    r = desk.collect(desk.scan(payload).text, amount)
    assert r.status_code == 303, r.text
    return r.headers["location"].rsplit("/", 1)[-1]


# ------------------------------------------------------------------------------ access

@pytest.mark.parametrize(("method", "path", "role"), PROTECTED)
def test_every_staff_route_refuses_anonymous(make_desk: MakeDesk, method: str, path: str,
                                             role: str) -> None:
    anon = make_desk()
    r = anon.client.request(method, concrete(path), data={"csrf": "x"},
                            follow_redirects=False)
    if method == "GET":
        assert r.status_code == 303 and r.headers["location"] == "/desk/login"
    else:
        assert r.status_code == 401


@pytest.mark.parametrize(("method", "path"),
                         [(m, p) for m, p, role in PROTECTED if role != "cashier"])
def test_supervisor_routes_refuse_a_cashier(cashier: Desk, method: str, path: str) -> None:
    r = cashier.client.request(method, concrete(path), data={"csrf": cashier.csrf},
                               follow_redirects=False)
    assert r.status_code == 403
    assert 'data-code="forbidden"' in r.text


def test_wrong_role_attempt_is_audited(cashier: Desk, store: Store) -> None:
    cashier.client.get("/desk/audit")
    assert "refused" in actions(store)


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_collect_without_right_csrf_token_is_refused_and_posts_nothing(
        cashier: Desk, store: Store, payload: str, token: str | None) -> None:
    page = cashier.scan(payload).text
    cashier.csrf = token  # type: ignore[assignment]
    data = {"bill_no": "B2611100000001", "amount": "1234.50", "mode": "cash",
            "txn_id": re.search(r'name="txn_id" value="([^"]+)"', page).group(1)}  # type: ignore[union-attr]
    if token is not None:
        data["csrf"] = token
    r = cashier.client.post("/desk/collect", data=data, follow_redirects=False)
    assert r.status_code == 403 and 'data-code="csrf_failed"' in r.text
    assert count_payments(store) == 0


def test_login_form_without_its_nonce_is_refused(make_desk: MakeDesk, store: Store) -> None:
    add_user(store, "asha")
    desk = make_desk()
    r = desk.client.post("/desk/login", data={"username": "asha", "password": "x" * 9},
                         follow_redirects=False)
    assert r.status_code == 403
    assert "login" not in actions(store)


def test_session_cookie_is_httponly_strict_and_scoped(make_desk: MakeDesk, store: Store) -> None:
    add_user(store, "asha")
    desk = make_desk()
    page = desk.client.get("/desk/login")
    nonce = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = desk.client.post("/desk/login", data={"username": "asha", "password":
                                              "counter-pass-1", "csrf": nonce},
                         follow_redirects=False)
    cookie = next(v for k, v in r.headers.multi_items()
                  if k == "set-cookie" and v.startswith("qrpay_desk="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/desk" in cookie


# ------------------------------------------------------------------------------ login

def test_lockout_after_repeated_failures_refuses_right_password(
        make_desk: MakeDesk, store: Store) -> None:
    add_user(store, "asha")
    desk = make_desk()
    codes = [desk.login("asha", "wrong-password") for _ in range(5)]
    assert codes == [401] * 5
    assert desk.login("asha") == 401
    # the visitor is told what an unknown name is told; the audit trail knows it was locked
    assert 'data-code="bad_credentials"' in desk.last_login_page
    assert actions(store).count("login_failed") == 6


def test_password_check_at_login_leaves_the_store_free_for_writers(
        make_desk: MakeDesk, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    add_user(store, "asha")
    free: list[bool] = []
    real = staff._verify

    def verify(password_hash: str, password: str) -> bool:
        free.append(can_write_now(store))  # e.g. a payment callback arriving meanwhile
        return real(password_hash, password)

    monkeypatch.setattr(staff, "_verify", verify)
    assert make_desk().login("asha") == 303
    assert free == [True]


def test_desk_pages_load_while_another_writer_holds_the_store(
        cashier: Desk, store: Store) -> None:
    held, served = threading.Event(), threading.Event()
    let_go_early: list[bool] = []

    def hold() -> None:  # a long write (a bulk import, a posting) in another process
        if store.is_sqlite:
            raw = sqlite3.connect(store.url.split("///", 1)[1], isolation_level=None)
            raw.execute("BEGIN IMMEDIATE")
        else:
            raw = store.engine.raw_connection()  # type: ignore[assignment]
            raw.cursor().execute("LOCK TABLE staff_sessions, staff IN EXCLUSIVE MODE")
        held.set()
        let_go_early.append(not served.wait(20))
        raw.rollback()
        raw.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(20)
    try:
        r = cashier.client.get("/desk", follow_redirects=False)
    finally:
        served.set()
        holder.join()
    assert r.status_code == 200 and 'id="scan-form"' in r.text
    assert let_go_early == [False]  # the page did not wait for the writer


def test_session_last_seen_moves_when_a_minute_old(cashier: Desk, store: Store) -> None:
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    with store.begin() as conn:
        conn.execute(update(staff_sessions).values(last_seen=old))
    assert cashier.client.get("/desk").status_code == 200
    with store.connect() as conn:
        seen = conn.execute(select(staff_sessions.c.last_seen)).scalar_one()
    assert (seen if seen.tzinfo else seen.replace(tzinfo=dt.UTC)) > old


def test_logout_ends_the_session_server_side(cashier: Desk, store: Store) -> None:
    stolen = dict(cashier.client.cookies)
    assert cashier.post("/desk/logout").status_code == 303
    cashier.client.cookies.update(stolen)  # the old cookie, replayed
    r = cashier.client.get("/desk", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/desk/login"
    assert "logout" in actions(store)


def test_idle_session_expires_server_side(cashier: Desk, store: Store) -> None:
    old = dt.datetime.now(dt.UTC) - sessions.IDLE_TIMEOUT - dt.timedelta(minutes=1)
    with store.begin() as conn:
        conn.execute(update(staff_sessions).values(last_seen=old))
    r = cashier.client.get("/desk", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/desk/login"


def test_language_switch_changes_page_language_and_sticks(cashier: Desk) -> None:
    r = cashier.client.get("/desk?lang=bn")
    assert '<html lang="bn">' in r.text and "বিল স্ক্যান করুন" in r.text
    assert '<html lang="bn">' in cashier.client.get("/desk").text
    assert '<html lang="en">' in cashier.client.get("/desk?lang=en").text


# ------------------------------------------------------------------------------ scan

def test_genuine_scan_shows_bill_due_now_and_collect_form(cashier: Desk, payload: str) -> None:
    r = cashier.scan(payload)
    assert 'data-verdict="genuine"' in r.text and 'data-state="unpaid"' in r.text
    assert 'id="collect-form"' in r.text and 'value="1234.50"' in r.text


@pytest.mark.parametrize(("mutate", "verdict"), [
    (lambda p: p.replace("am=1234.50", "am=12.50"), "altered"),
    (lambda p: p.replace("bestelectricity@sbi", "crook@ybl"), "altered"),
    (lambda p: "upi://pay?pa=crook@ybl&pn=Crook&am=1234.50&cu=INR&tr=B2611100000001",
     "foreign"),
    (lambda p: "hello", "invalid"),
])
def test_altered_foreign_and_invalid_scans_are_refused_without_collect_form(
        cashier: Desk, payload: str, mutate: Callable[[str], str], verdict: str) -> None:
    r = cashier.scan(mutate(payload))
    assert f'data-refused="{verdict}"' in r.text
    assert 'id="collect-form"' not in r.text


def test_typed_bill_number_with_bengali_digits_finds_the_bill(cashier: Desk, bill) -> None:  # type: ignore[no-untyped-def]
    r = cashier.scan("B২৬১১১০০০০০০০১")
    assert 'data-verdict="typed"' in r.text and 'id="collect-form"' in r.text


def test_other_billers_bill_is_refused(cashier: Desk, store: Store) -> None:
    insert_bill(store, make_bill("2611104231245", biller="dhaka-pbs-1"))
    r = cashier.scan("2611104231245")
    assert 'data-refused="wrong_biller"' in r.text and 'id="collect-form"' not in r.text


def test_photo_of_the_qr_is_decoded_on_the_server(cashier: Desk, payload: str) -> None:
    from qrpay.qr import png_bytes

    image = png_bytes(payload, scale=2)  # about 2 px per module: needs the upscale
    r = cashier.client.post("/desk/scan/image", data={"csrf": cashier.csrf},
                            files={"image": ("bill.png", image, "image/png")})
    assert 'data-verdict="genuine"' in r.text and "B2611100000001" in r.text


def test_upload_that_is_not_an_image_is_refused(cashier: Desk) -> None:
    r = cashier.client.post("/desk/scan/image", data={"csrf": cashier.csrf},
                            files={"image": ("x.png", b"not an image", "image/png")})
    assert r.status_code == 422 and 'data-code="bad_image"' in r.text


# ------------------------------------------------------------------------------ collect

def test_collect_posts_once_even_when_the_form_is_submitted_twice(
        cashier: Desk, store: Store, payload: str) -> None:
    page = cashier.scan(payload).text
    first = cashier.collect(page, "1234.50")
    second = cashier.collect(page, "1234.50")
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert count_payments(store) == 1
    with store.connect() as conn:
        kinds = [e.kind for e in bill_entries(conn, "B2611100000001")]
    assert kinds.count("payment") == 1


def test_receipt_page_and_pdf_carry_the_receipt_number(cashier: Desk, payload: str) -> None:
    import pypdfium2

    from qrpay.qr import decode_image

    receipt_no = collect_receipt(cashier, payload)
    assert receipt_no == "BEST-000000001"
    page = cashier.client.get(f"/desk/receipt/{receipt_no}")
    assert 'id="receipt-no">BEST-000000001<' in page.text and "data:image/svg+xml" in page.text
    pdf = cashier.client.get(f"/desk/receipt/{receipt_no}/pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    doc = pypdfium2.PdfDocument(pdf.content)
    text = doc[0].get_textpage().get_text_range()
    image = doc[0].render(scale=4).to_pil()
    assert "BEST-000000001" in text and "1,234.50" in text
    assert decode_image(image) == ["BEST-000000001"]


def test_paid_bill_warns_and_needs_explicit_confirm(cashier: Desk, store: Store,
                                                    payload: str) -> None:
    collect_receipt(cashier, payload)
    again = cashier.scan(payload).text
    assert 'data-state="paid"' in again and 'id="paid-warning"' in again
    refused = cashier.collect(again, "100")
    assert refused.status_code == 409 and 'data-code="already_paid"' in refused.text
    assert count_payments(store) == 1
    # Everything paid on a settled bill is more than due: the excess is confirmed too.
    held = cashier.collect(again, "100", confirm_paid="1")
    assert held.status_code == 409 and 'data-code="over_due"' in held.text
    assert cashier.collect(again, "100", confirm_paid="1",
                           confirm_excess="10000").status_code == 303
    assert count_payments(store) == 2


def test_card_payment_needs_a_reference(cashier: Desk, store: Store, payload: str) -> None:
    r = cashier.collect(cashier.scan(payload).text, "1234.50", mode="card")
    assert r.status_code == 422 and 'data-code="missing_reference"' in r.text
    assert count_payments(store) == 0


def test_scanning_the_receipt_qr_opens_the_receipt(cashier: Desk, payload: str) -> None:
    receipt_no = collect_receipt(cashier, payload)
    r = cashier.scan(receipt_no)
    assert r.status_code == 303 and r.headers["location"] == f"/desk/receipt/{receipt_no}"


# ------------------------------------------------------------------------------ cancel

def test_cancel_writes_reversing_entry_and_bill_is_due_again(
        cashier: Desk, supervisor: Desk, store: Store, payload: str) -> None:
    receipt_no = collect_receipt(cashier, payload)
    r = supervisor.post(f"/desk/receipt/{receipt_no}/cancel", {"reason": "wrong bill"})
    assert r.status_code == 303
    with store.connect() as conn:
        entries_ = [(e.kind, e.amount) for e in bill_entries(conn, "B2611100000001")]
        status = conn.execute(select(payments.c.status)).scalar_one()
    assert ("payment", -123450) in entries_ and ("cancel", 123450) in entries_
    assert status == "cancelled" and count_payments(store) == 1  # never deleted
    again = cashier.scan(payload).text
    assert 'data-state="unpaid"' in again and 'id="due-now">₹ 1,234.50<' in again
    assert 'id="cancelled"' in supervisor.client.get(f"/desk/receipt/{receipt_no}").text


def test_cancel_needs_a_reason(cashier: Desk, supervisor: Desk, payload: str) -> None:
    receipt_no = collect_receipt(cashier, payload)
    r = supervisor.post(f"/desk/receipt/{receipt_no}/cancel", {"reason": " "})
    assert r.status_code == 422 and 'data-code="missing_reason"' in r.text


def test_cancel_after_the_shift_closed_is_refused(cashier: Desk, supervisor: Desk,
                                                  payload: str) -> None:
    receipt_no = collect_receipt(cashier, payload)
    assert cashier.post("/desk/shift/close", {"declared_cash": "1234.50"}).status_code == 303
    r = supervisor.post(f"/desk/receipt/{receipt_no}/cancel", {"reason": "too late"})
    assert r.status_code == 409 and 'data-code="shift_closed"' in r.text


# ------------------------------------------------------------------------------ shift

def test_close_shift_totals_per_cashier_and_mode_and_cash_difference(
        cashier: Desk, supervisor: Desk, store: Store, best_config: Config) -> None:
    second = insert_bill(store, make_bill("B2611100000002", amount=50000))
    third = insert_bill(store, make_bill("B2611100000003", amount=20000))
    pay = {b.bill_no: bill_payload(b, best_config.biller("best"), best_config)
           for b in (second, third)}
    collect_receipt(cashier, pay["B2611100000002"], "500")
    r = supervisor.collect(supervisor.scan(pay["B2611100000003"]).text, "200", mode="card",
                           reference="APPR-77")
    assert r.status_code == 303
    page = cashier.client.get("/desk/shift").text
    assert 'id="expected-cash">₹ 500.00<' in page and 'id="shift-total">₹ 700.00<' in page
    with store.connect() as conn:
        shift_id = open_shift_for(conn, "best", "C1").id  # type: ignore[union-attr]
    short = {"declared_cash": "450", "shift_id": str(shift_id)}
    assert cashier.post("/desk/shift/close", short).status_code == 409  # not confirmed
    closed = cashier.post("/desk/shift/close", {**short, "confirm_short": "5000",
                                                "note": "Rs 50 given back as change"})
    assert closed.status_code == 303
    summary = cashier.client.get(closed.headers["location"]).text
    assert 'data-open="no"' in summary and 'data-minor="-5000"' in summary
    assert closed.headers["location"] == f"/desk/shift/{shift_id}"
    book = cashier.client.get(f"/desk/shift/{shift_id}/daybook.csv")
    rows = list(csv.DictReader(io.StringIO(book.content.decode("utf-8-sig"))))
    assert [(r["bill_no"], r["mode"], r["amount"], r["cashier"]) for r in rows] == [
        ("B2611100000002", "cash", "500.00", "asha"),
        ("B2611100000003", "card", "200.00", "meera")]
    # the shift is closed: no more collecting on it
    page = cashier.scan(pay["B2611100000002"]).text
    assert 'data-code="shift_closed"' in page and 'id="collect-form"' not in page
    later = cashier.post("/desk/collect", {"bill_no": "B2611100000002", "amount": "1",
                                           "mode": "cash", "confirm_paid": "1",
                                           "txn_id": "D" + "k" * 24})
    assert later.status_code == 409 and 'data-code="shift_closed"' in later.text
    assert "shift_close" in actions(store)


def test_audit_rows_cover_every_staff_action(cashier: Desk, supervisor: Desk, store: Store,
                                             payload: str) -> None:
    receipt_no = collect_receipt(cashier, payload)
    supervisor.post(f"/desk/receipt/{receipt_no}/cancel", {"reason": "duplicate"})
    cashier.post("/desk/shift/close", {"declared_cash": "0"})
    cashier.post("/desk/logout")
    seen = actions(store)
    for action in ("shift_open", "login", "scan", "collect", "cancel", "shift_close",
                   "logout"):
        assert action in seen, action
    with store.connect() as conn:
        collect = next(e for e in entries(conn, since=EPOCH) if e.action == "collect")
    assert (collect.actor, collect.biller, collect.counter) == ("asha", "best", "C1")
    assert collect.remote and collect.detail["receipt_no"] == receipt_no
