"""Bill pages in headless Chromium (Playwright) against a real uvicorn server."""

from __future__ import annotations

import dataclasses
import io
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from PIL import Image
from pyzbar.pyzbar import decode

from qrpay.bills import Bill
from qrpay.config import Config, load_config
from qrpay.payload import bill_url, resolve
from qrpay.payments.posting import PaymentIn, post_payment
from qrpay.store import Store, open_store
from qrpay.web.app import create_app
from tests.conftest import SAMPLES, TEST_SECRETS

from .conftest import ARTIFACTS, bd_bill, free_port, insert_bills, make_bill

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MOBILE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
          "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PERSONAL = ("ज्ञानेश्वर", "दादर", "9812345678", "100000001", "1,234.50")

HINDI = make_bill("B2611100000001")
PAID = make_bill("B2611100000002", account_no="100000002")
BENGALI = bd_bill("2611104231245")


@dataclasses.dataclass
class Site:
    best: str
    breb: str
    best_config: Config
    breb_config: Config

    def url(self, config: Config, bill: Bill) -> str:
        base = self.best if config is self.best_config else self.breb
        full = bill_url(bill, config.biller(bill.biller), config, bill.amount)
        parts = urllib.parse.urlsplit(full)
        return f"{base}{parts.path}?{parts.query}"


def _serve(app: Any, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    return server, thread


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    mp = pytest.MonkeyPatch()
    for key, value in TEST_SECRETS.items():
        mp.setenv(key, value)
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'site.db'}"
    store: Store = open_store(url, upgrade=True)
    best = dataclasses.replace(load_config(SAMPLES / "best.toml"), database_url=url)
    breb = dataclasses.replace(load_config(SAMPLES / "breb.toml"), database_url=url)
    insert_bills(store, [HINDI, PAID, BENGALI])
    with store.begin() as conn:
        post_payment(conn, best, PaymentIn(channel="upi", txn_id="PAID-1",
                                           bill_no=PAID.bill_no, amount=PAID.amount,
                                           currency="INR"))
    servers = []
    ports = []
    for config in (best, breb):
        ports.append(free_port())
        servers.append(_serve(create_app(config, store, start_sender=False), ports[-1]))
    yield Site(f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}", best, breb)
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)
    store.dispose()
    mp.undo()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (make system-deps)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def open_page(browser: Any, url: str, **context: Any) -> tuple[Any, list[str]]:
    ctx = browser.new_context(**context)
    page = ctx.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(url, wait_until="load")
    return page, problems


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_mobile_hindi_page_shows_amount_status_and_upi_pay_link(browser: Any,
                                                                site: Site) -> None:
    page, problems = open_page(browser, site.url(site.best_config, HINDI), **MOBILE)
    shot(page, "bill-page-hi-mobile.png")
    assert page.locator("#amount-due").inner_text() == "₹ 1,234.50"
    assert page.locator("#bill-state").inner_text() == "भुगतान बाकी"
    pay = page.locator("#pay")
    assert pay.is_visible()
    href = pay.get_attribute("href")
    assert href.startswith("upi://pay?")
    assert urllib.parse.parse_qs(href.split("?", 1)[1])["am"] == ["1234.50"]
    assert not page.locator("#qr-panel").is_visible()
    assert problems == []
    page.context.close()


def test_paid_page_shows_receipt_number_in_hindi(browser: Any, site: Site) -> None:
    page, _ = open_page(browser, site.url(site.best_config, PAID), **MOBILE)
    shot(page, "bill-page-hi-paid.png")
    assert page.locator("#bill-state").inner_text() == "भुगतान हो गया"
    assert "रसीद संख्या" in page.locator("#receipts").inner_text()
    assert page.locator("#pay").count() == 0
    page.context.close()


def test_mobile_bengali_page_shows_amount_in_bengali_digits_and_channels(
        browser: Any, site: Site) -> None:
    page, problems = open_page(browser, site.url(site.breb_config, BENGALI), **MOBILE)
    shot(page, "bill-page-bn-mobile.png")
    assert page.locator("#amount-due").inner_text() == "৳ ৯২৯.৭২"
    assert page.locator("#bill-state").inner_text() == "অপরিশোধিত"
    channels = page.locator("#channels").inner_text()
    assert "bKash" in channels and "Rocket" in channels
    assert page.locator("a[href^='upi:']").count() == 0
    assert problems == []
    page.context.close()


def test_desktop_page_shows_a_scannable_qr_with_the_amount(browser: Any, site: Site) -> None:
    page, problems = open_page(browser, site.url(site.best_config, HINDI), **DESKTOP)
    shot(page, "bill-page-hi-desktop.png")
    qr = page.locator("#qr")
    assert qr.is_visible()
    assert not page.locator("#pay").is_visible()
    assert page.evaluate("document.getElementById('qr').naturalWidth") > 0
    png = qr.screenshot()
    payload = decode(Image.open(io.BytesIO(png)))[0].data.decode()
    res = resolve(payload, site.best_config)
    assert (res.verdict, res.amount) == ("genuine", 123450)
    assert problems == []
    page.context.close()


def test_without_token_page_shows_nothing_personal(browser: Any, site: Site) -> None:
    url = site.best + f"/b/{HINDI.bill_no}"
    for name, target in (("no-token", url), ("bad-token", url + "?t=k1.AAAAAAAAAAAA")):
        page, _ = open_page(browser, target, **MOBILE)
        shot(page, f"bill-page-{name}.png")
        text = page.locator("body").inner_text()
        assert page.locator("#neutral").is_visible()
        for personal in PERSONAL:
            assert personal not in text
        assert page.locator("img, a[href^='upi:']").count() == 0
        page.context.close()
