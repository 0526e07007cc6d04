"""The counter desk in headless Chromium against a real uvicorn server: log in, scan by
typing the payload + Enter as a USB scanner does, collect, see the receipt, scan the same
bill again (now paid), close the shift.  Screenshots go to test-artifacts/desk/."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from qrpay.config import Config
from qrpay.payload import bill_payload
from qrpay.store import Store
from qrpay.web.app import create_app
from tests.desk.conftest import ARTIFACTS, PASSWORD, add_user, insert_bill, make_bill

pytestmark = pytest.mark.browser
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(best_config: Config, store: Store) -> Iterator[str]:
    """A real uvicorn server on a random loopback port, in a thread of this process."""
    app = create_app(best_config, store, start_sender=False)
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                        lifespan="on"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(server: str) -> Iterator:  # type: ignore[type-arg]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 360, "height": 740},
                                      device_scale_factor=2, is_mobile=True, has_touch=True,
                                      base_url=server)
        pg = context.new_page()
        pg.set_default_timeout(10_000)
        yield pg
        context.close()
        browser.close()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def fits_small_screen(page) -> bool:  # type: ignore[no-untyped-def]
    return bool(page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth + 1"))


def focus_returns_to_scan_box(page) -> bool:  # type: ignore[no-untyped-def]
    # Polled with evaluate(): wait_for_function() needs eval, which the CSP forbids.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if page.evaluate("document.activeElement.id") == "scan":
            return True
        page.wait_for_timeout(50)
    return False


def scanner_types(page, text: str) -> None:  # type: ignore[no-untyped-def]
    """What a USB scanner does: keystrokes into whatever has focus, then Enter."""
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def test_cashier_scans_collects_prints_and_closes_shift(page, store: Store,  # type: ignore[no-untyped-def]
                                                        best_config: Config) -> None:
    bill = insert_bill(store, make_bill())
    add_user(store, "asha")
    payload = bill_payload(bill, best_config.biller("best"), best_config)

    page.goto("/desk/login?lang=en")
    page.fill("#username", "asha")
    page.fill("#password", PASSWORD)
    shot(page, "01-login")
    page.click("#login")
    page.wait_for_url("**/desk")
    assert page.evaluate("document.activeElement.id") == "scan"
    page.click("h1")  # focus wanders off; the scan box takes it back
    assert focus_returns_to_scan_box(page)
    shot(page, "02-desk")

    scanner_types(page, payload)
    result = page.wait_for_selector("#result")
    assert result.get_attribute("data-verdict") == "genuine"
    assert page.text_content("#due-now").strip() == "₹ 1,234.50"
    assert fits_small_screen(page)
    shot(page, "03-bill")

    page.click("#collect")
    page.wait_for_url("**/desk/receipt/*")
    assert page.text_content("#receipt-no") == "BEST-000000001"
    assert page.get_attribute("#receipt", "data-status") == "success"
    assert fits_small_screen(page)
    shot(page, "04-receipt")

    page.click("#next")
    page.wait_for_url("**/desk")
    scanner_types(page, payload)
    page.wait_for_selector("#result")
    assert page.get_attribute("#state", "data-state") == "paid"
    assert page.is_visible("#paid-warning")
    shot(page, "05-scanned-again-paid")

    page.goto("/desk/shift")
    assert page.text_content("#expected-cash").strip() == "₹ 1,234.50"
    page.fill("#declared", "1234.50")
    page.click("#close")
    page.wait_for_url("**/desk/shift/*")
    assert page.get_attribute("#shift", "data-open") == "no"
    assert page.get_attribute("#difference", "data-minor") == "0"
    shot(page, "06-shift-closed")

    page.goto("/desk?lang=bn")
    assert page.get_attribute("html", "lang") == "bn"
    assert fits_small_screen(page)
    shot(page, "07-desk-bengali")
