"""The admin pages over HTTP (Starlette's test client): supervisors only, charts as SVG,
exports, the exceptions queue's actions (audited, nothing deleted)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from qrpay.config import Config
from qrpay.recon.queue import list_exceptions
from qrpay.store import Store
from qrpay.store.schema import payments, recon_actions, recon_exceptions
from qrpay.web.app import create_app
from tests.desk.conftest import PASSWORD, add_user, csrf_of
from tests.recon.conftest import add_bill, pay


@pytest.fixture
def client(best_config: Config, store: Store):
    app = create_app(best_config, store, start_sender=False)
    with TestClient(app, base_url="http://testserver") as c:
        yield c


def login(client: TestClient, username: str) -> None:
    page = client.get("/desk/login")
    r = client.post("/desk/login", data={"username": username, "password": PASSWORD,
                                         "csrf": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303


def test_cashier_cannot_open_admin_pages(client, store: Store) -> None:
    from qrpay.web.admin import PROTECTED

    add_user(store, "asha")
    login(client, "asha")
    assert len(PROTECTED) == 5
    for method, path, role in PROTECTED:
        assert role == "supervisor"
        url = path.replace("{kind}", "per_day").replace("{exc_id:int}", "1").replace(
            "export.per_day", "export.csv")
        r = client.request(method, url)
        assert r.status_code == 403, url
        assert "forbidden" in r.text


def test_anonymous_is_sent_to_login(client) -> None:
    r = client.get("/admin", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/desk/admin"
    r = client.get("/desk/admin", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/desk/login"


def test_supervisor_dashboard_chart_and_exports(client, store: Store,
                                                best_config: Config) -> None:
    add_user(store, "sunil", role="supervisor")
    add_bill(store, "B2611A00000001")
    now = dt.datetime.now(dt.UTC)
    pay(store, best_config, "razorpay", "pay_1", "B2611A00000001", 123450, now=now)
    login(client, "sunil")
    period = best_config.billers["best"].today().strftime("%Y-%m")
    r = client.get(f"/desk/admin?period={period}&lang=en")
    assert r.status_code == 200
    assert 'id="month-amount">₹ 1,234.50' in r.text
    svg = client.get(f"/desk/admin/chart/per_day.svg?period={period}&lang=hi")
    assert svg.status_code == 200 and svg.text.startswith("<svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    csv = client.get(f"/desk/admin/export.csv?period={period}&by=channel")
    assert csv.status_code == 200 and "razorpay,1,1234.50" in csv.text
    assert client.get(f"/desk/admin/export.pdf?period={period}").content.startswith(b"%PDF")
    assert client.get(f"/desk/admin/export.xlsx?period={period}").content[:2] == b"PK"
    assert client.get("/desk/admin?period=2026-13").status_code == 422


def test_exception_actions_are_audited(client, store: Store, best_config: Config) -> None:
    add_user(store, "sunil", role="supervisor")
    add_bill(store, "B2611B00000001")
    now = dt.datetime.now(dt.UTC)
    with store.begin() as conn:
        conn.execute(recon_exceptions.insert().values(
            outcome="suspense", channel="razorpay", txn_id="pay_x", bill_no=None,
            amount=123450, detail=json.dumps({"message": "no bill"}), suggested="post",
            state="open", opened_at=now))
    login(client, "sunil")
    page = client.get("/desk/admin/recon")
    assert page.status_code == 200 and "pay_x" in page.text
    exc_id = list_exceptions(store.engine.connect())[0].id
    no_csrf = client.post(f"/desk/admin/recon/{exc_id}", data={"action": "link",
                                                              "reason": "x"})
    assert no_csrf.status_code == 403
    r = client.post(f"/desk/admin/recon/{exc_id}", data={
        "csrf": csrf_of(page.text), "action": "link", "bill_no": "B2611B00000001",
        "reason": "consumer sent the receipt"}, follow_redirects=False)
    assert r.status_code == 303
    with store.connect() as conn:
        exc = conn.execute(select(recon_exceptions)).one()
        action = conn.execute(select(recon_actions)).one()
        paid = conn.execute(select(payments)).one()
    assert exc.state == "closed" and exc.closed_by == "sunil"
    assert (action.action, action.actor) == ("link", "sunil")
    assert (paid.txn_id, paid.bill_no, paid.status) == ("pay_x", "B2611B00000001", "success")
    trail = client.get("/desk/audit?lang=en")  # the desk's own audit trail shows it
    assert 'data-action="recon_link"' in trail.text
    assert "Linked to another bill (reconciliation)" in trail.text
    again = client.post(f"/desk/admin/recon/{exc_id}", data={
        "csrf": csrf_of(page.text), "action": "write_off", "reason": "x"})
    assert again.status_code == 409  # closed: nothing happens twice


def test_every_outcome_and_action_has_wording_in_every_language() -> None:
    from qrpay.recon import OUTCOMES
    from qrpay.recon.match import SUGGESTED
    from qrpay.recon.queue import ACTIONS
    from qrpay.templating import texts

    en = texts("admin", "en")
    assert set(OUTCOMES) <= set(en["outcomes"])
    assert set(ACTIONS) | set(SUGGESTED.values()) <= set(en["actions"])
    for lang in ("hi", "bn"):
        words = texts("admin", lang)  # falls back to English key by key: none may
        for group in ("outcomes", "actions", "sources"):
            untranslated = [k for k in en[group] if words[group][k] == en[group][k]]
            assert not untranslated, (lang, group, untranslated)


@pytest.mark.parametrize(("lang", "label", "action"), [
    ("en", "Matches nothing (suspense)", "Post to the bill"),
    ("hi", "किसी से मेल नहीं (उचंत)", "बिल पर दर्ज करें"),
    ("bn", "কিছুর সঙ্গে মেলেনি (সাসপেন্স)", "বিলে জমা করুন")])
def test_queue_and_dashboard_show_outcomes_and_actions_in_the_language(
        client, store: Store, lang: str, label: str, action: str) -> None:
    add_user(store, "sunil", role="supervisor")
    with store.begin() as conn:
        conn.execute(recon_exceptions.insert().values(
            outcome="suspense", channel="razorpay", txn_id="pay_x", bill_no=None,
            amount=123450, detail=json.dumps({"message": "no bill"}), suggested="post",
            state="open", opened_at=dt.datetime.now(dt.UTC)))
    login(client, "sunil")
    queue = client.get(f"/desk/admin/recon?lang={lang}").text
    assert label in queue and f'<option value="post" selected>{action}</option>' in queue
    assert ">suspense<" not in queue and ">suspense (" not in queue
    board = client.get(f"/desk/admin?lang={lang}").text
    assert f'<li data-outcome="suspense">{label}:' in board
