"""The admin pages in headless Chromium: a supervisor logs in at the desk and sees the
month's collections, the daily chart and the gauge (SVG images that load under the
page's CSP), acts on an exception; a cashier gets 403.  Screenshots in
test-artifacts/admin/ in English, Hindi and Bengali."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest

from qrpay.config import Config
from qrpay.store import Store
from qrpay.store.schema import recon_exceptions
from tests.desk.conftest import PASSWORD, ROOT, add_user
from tests.desk.test_browser import CHROMIUM_ARGS, server  # noqa: F401 - fixture
from tests.recon.conftest import add_bill, pay

pytestmark = pytest.mark.browser
ART = ROOT / "test-artifacts" / "admin"
SUSPENSE = {"en": "Matches nothing (suspense)", "hi": "किसी से मेल नहीं (उचंत)",
            "bn": "কিছুর সঙ্গে মেলেনি (সাসপেন্স)"}


@pytest.fixture
def browser_page(server: str) -> Iterator:  # noqa: F811
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900},
                                      base_url=server)
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()
        browser.close()


def login(page, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/desk/login?lang=en")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url("**/desk")


def seed(store: Store, config: Config) -> None:
    now = dt.datetime.now(dt.UTC)
    for n, (ch, mode) in enumerate([("razorpay", "card"), ("razorpay", "upi"),
                                    ("phonepe", "wallet"), ("upi", "upi")]):
        bill = f"B2611{'ABCD'[n]}00000001"
        add_bill(store, bill)
        pay(store, config, ch, f"t{n}", bill, 123450 + n * 1000, now=now, mode=mode)
    with store.begin() as conn:
        conn.execute(recon_exceptions.insert().values(
            outcome="suspense", channel="razorpay", txn_id="pay_lost", amount=50000,
            detail=json.dumps({"message": "no such transaction", "file": "s.csv"}),
            line_no=7, suggested="post", state="open", opened_at=now))
        for outcome, txn in (("superseded", "pay_old"), ("stuck_pending", "pay_slow"),
                             ("amount_mismatch", "pay_diff")):
            conn.execute(recon_exceptions.insert().values(
                outcome=outcome, channel="phonepe", txn_id=txn, amount=123450,
                detail=json.dumps({"message": outcome}), suggested="review", state="open",
                opened_at=now))


def image_loaded(page, selector: str) -> bool:  # type: ignore[no-untyped-def]
    return bool(page.eval_on_selector(selector, "i => i.complete && i.naturalWidth > 100"))


@pytest.mark.parametrize("lang", ["en", "hi", "bn"])
def test_supervisor_sees_collections_and_charts(browser_page, store: Store,
                                                best_config: Config, lang: str) -> None:
    page = browser_page
    seed(store, best_config)
    add_user(store, "sunil", role="supervisor")
    login(page, "sunil")
    page.goto(f"/admin?lang={lang}")
    page.wait_for_url("**/desk/admin?lang=*")
    page.wait_for_load_state("networkidle")
    bengali = lang == "bn"  # Bengali pages in Bengali digits
    assert page.text_content("#month-count").strip() == ("৪" if bengali else "4")
    assert page.text_content("#month-amount").strip() == (
        "₹ ৪,৯৯৮.০০" if bengali else "₹ 4,998.00")
    assert page.text_content("#digital-share").strip() == ("১০০.০%" if bengali else "100.0%")
    assert image_loaded(page, "#chart-per-day") and image_loaded(page, "#chart-gauge")
    assert page.is_visible("#exceptions li[data-outcome=suspense]")
    assert page.text_content("#exceptions li[data-outcome=suspense]").startswith(
        SUSPENSE[lang])
    ART.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ART / f"dashboard-{lang}.png"), full_page=True)
    page.goto(f"/desk/admin/recon?lang={lang}")
    assert page.text_content("tr[data-outcome=suspense] td.outcome").strip() == SUSPENSE[lang]
    page.screenshot(path=str(ART / f"recon-{lang}.png"), full_page=True)
    if lang == "en":
        row = page.locator("tr[data-outcome=suspense]").first
        row.locator("input[name=reason]").fill("posted by hand after the bank confirmed")
        row.locator("input[name=bill_no]").fill("B2611A00000001")
        row.locator("select[name=action]").select_option("link")
        row.locator("button").click()
        page.wait_for_selector("#done")
        assert "linked" in page.text_content("#done") or "posted" in page.text_content("#done")


def test_cashier_cannot_open_admin(browser_page, store: Store) -> None:
    page = browser_page
    add_user(store, "asha")
    login(page, "asha")
    response = page.goto("/desk/admin")
    assert response is not None and response.status == 403
    page.screenshot(path=str(ART / "cashier-forbidden.png"))
    assert page.goto("/desk/admin/recon").status == 403
