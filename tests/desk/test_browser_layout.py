"""Issue 10 items 1-5 in headless Chromium: on a 1366x768 counter PC the collect button is
on screen without scrolling (two columns), and on a 360 px phone nothing overflows, in
English, Hindi and Bengali; no English words left on the Hindi and Bengali desk.
Screenshots go to test-artifacts/desk/layout-*.png."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from qrpay.store import Store
from tests.desk.conftest import ARTIFACTS, PASSWORD, add_user, insert_bill, make_bill
from tests.desk.test_browser import CHROMIUM_ARGS, fits_small_screen, server  # noqa: F401

pytestmark = pytest.mark.browser
VIEWPORTS = {"pc": {"width": 1366, "height": 768}, "phone": {"width": 360, "height": 740}}
# Latin words allowed on a Hindi or Bengali desk: names, codes and the language switch.
LATIN_ALLOWED = {"QR", "PDF", "CSV", "Enter", "English", "meera", "Asia", "Kolkata", "BEST"}
WORD = re.compile(r"[A-Za-z]{3,}")


@pytest.fixture
def browser() -> Iterator:  # type: ignore[type-arg]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


def _page(browser, base_url: str, kind: str):  # type: ignore[no-untyped-def]
    phone = kind == "phone"
    context = browser.new_context(viewport=VIEWPORTS[kind], base_url=base_url,
                                  device_scale_factor=2 if phone else 1, is_mobile=phone,
                                  has_touch=phone)
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"layout-{name}.png"), full_page=True)


def _login(page, lang: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"/desk/login?lang={lang}")
    page.fill("#username", "meera")
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url("**/desk")


def _scan(page, number: str) -> None:  # type: ignore[no-untyped-def]
    if not page.url.endswith("/desk"):
        page.goto("/desk")
    page.fill("#scan", number)
    page.press("#scan", "Enter")
    page.wait_for_selector("#result")


def _above_the_fold(page, selector: str) -> bool:  # type: ignore[no-untyped-def]
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] + box["height"] <= page.viewport_size["height"]


def _english_left(page) -> list[str]:  # type: ignore[no-untyped-def]
    text = page.inner_text("main") + " " + page.inner_text("header")
    return sorted({w for w in WORD.findall(text) if w not in LATIN_ALLOWED})


@pytest.mark.parametrize("lang", ["en", "hi", "bn"])
@pytest.mark.parametrize("kind", ["pc", "phone"])
def test_desk_pages_fit_and_collect_is_above_the_fold(browser, server: str, store: Store,  # type: ignore[no-untyped-def]  # noqa: F811
                                                      lang: str, kind: str) -> None:
    name = "রহিমা মিয়া" if lang == "bn" else "ज्ञानेश्वर देशपांडे"
    insert_bill(store, make_bill("B2611104231245", name=name))
    insert_bill(store, make_bill("B2610104231245", name=name))
    add_user(store, "meera", "supervisor")
    page = _page(browser, server, kind)
    _login(page, lang)
    tag = f"{kind}-{lang}"

    _scan(page, "१०४२३१२४५" if lang == "hi" else "১০৪২৩১২৪৫")  # the account, typed
    if lang != "en":
        assert _english_left(page) == []
    if kind == "pc":
        assert _above_the_fold(page, "#collect"), "collect button below the fold"
    assert fits_small_screen(page)
    _shot(page, f"{tag}-1-bill")

    page.fill("#amount", "1300")
    page.click("#collect")
    page.wait_for_selector("#hold")
    assert page.get_attribute("#hold", "data-code") == "over_due"
    if kind == "pc":
        assert _above_the_fold(page, "#collect")
    _shot(page, f"{tag}-2-over-due")
    page.check("#confirm-excess")
    page.click("#collect")
    page.wait_for_url("**/desk/receipt/*")
    assert fits_small_screen(page)
    if lang != "en":
        assert _english_left(page) == []
    _shot(page, f"{tag}-3-receipt")

    page.fill("#reason", "wrong bill" if lang == "en" else "गलत बिल")
    page.click("#cancel")
    page.wait_for_selector("#cancelled")
    _shot(page, f"{tag}-4-cancelled")

    _scan(page, "B2611104231245")  # paid nothing now: the October bill is earlier, unpaid
    page.click("#collect")
    page.wait_for_url("**/desk/receipt/*")
    page.goto("/desk/shift")
    page.fill("#declared", "1000")
    page.click("#close")
    page.wait_for_selector("#hold")
    assert fits_small_screen(page)
    _shot(page, f"{tag}-5-shift-short")
    page.check("#confirm-short")
    page.fill("#note", "counted twice" if lang == "en" else "दो बार गिना")
    page.click("#close")
    page.wait_for_selector("#closed-at")
    assert fits_small_screen(page)
    _shot(page, f"{tag}-6-shift-closed")

    page.goto("/desk/audit")
    assert fits_small_screen(page)
    _shot(page, f"{tag}-7-audit")
    if lang != "en":
        assert _english_left(page) == []


@pytest.mark.parametrize("lang", ["en", "bn"])
def test_a_cashier_asking_for_approval_still_sees_collect_on_a_counter_pc(  # type: ignore[no-untyped-def]
        browser, server: str, store: Store, lang: str) -> None:  # noqa: F811
    """Above the ceiling a cashier types a supervisor's name and password: the hold panel
    sits beside the form (its fields in the form by form=), so on 1366x768 the fields and
    the collect button are on screen without scrolling, and the approval posts."""
    insert_bill(store, make_bill("B2611104231245"))
    add_user(store, "asha")
    add_user(store, "meera", "supervisor")
    page = _page(browser, server, "pc")
    page.goto(f"/desk/login?lang={lang}")
    page.fill("#username", "asha")
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url("**/desk")
    _scan(page, "104231245")
    page.fill("#amount", "6234.50")  # due 1,234.50: 5,000 over, above due + 10 % or 100
    page.click("#collect")
    page.wait_for_selector("#hold")
    assert page.get_attribute("#hold", "data-code") == "needs_approval"
    for selector in ("#confirm-excess", "#approver", "#approver-password", "#collect"):
        assert _above_the_fold(page, selector), f"{selector} below the fold"
    assert fits_small_screen(page)
    _shot(page, f"pc-{lang}-approval")
    page.check("#confirm-excess")
    page.fill("#approver", "meera")
    page.fill("#approver-password", PASSWORD)
    page.click("#collect")
    page.wait_for_url("**/desk/receipt/*")
    assert page.text_content("#receipt-amount").strip() == "₹ 6,234.50"


@pytest.fixture
def breb_server(breb_config, store: Store) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A real uvicorn server for the BREB profile (Bengali digits, taka)."""
    import threading
    import time

    import uvicorn

    from qrpay.web.app import create_app
    from tests.desk.test_browser import free_port

    app = create_app(breb_config, store, start_sender=False)
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


@pytest.mark.parametrize("kind", ["pc", "phone"])
def test_breb_desk_shows_taka_in_bengali_digits(browser, breb_server: str, store: Store,  # type: ignore[no-untyped-def]
                                                kind: str) -> None:
    insert_bill(store, make_bill("2611104231245", biller="dhaka-pbs-1", name="রহিমা মিয়া",
                                 amount=92972, late_amount=97621))
    add_user(store, "meera", "supervisor", biller="dhaka-pbs-1")
    page = _page(browser, breb_server, kind)
    _login(page, "bn")
    _scan(page, "১০৪২৩১২৪৫")
    assert page.text_content("#due-now").strip() == "৳ ৯২৯.৭২"
    assert fits_small_screen(page)
    if kind == "pc":
        assert _above_the_fold(page, "#collect")
    assert _english_left(page) == []
    _shot(page, f"{kind}-breb-bn-1-bill")
