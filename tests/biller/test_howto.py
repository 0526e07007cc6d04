""""How to pay" from wallets on the bill page: per channel of the profile's list, the app
path and the USSD path with the account number to type, in the page's language; seen in
headless Chromium on a real server."""

from __future__ import annotations

import urllib.parse

import pytest
from playwright.sync_api import sync_playwright

from qrpay.biller.howto import howto
from qrpay.config import Config
from qrpay.payload import bill_url
from qrpay.store import Store
from tests.biller.conftest import add, bd_bill, in_bill

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_howto_lists_app_and_ussd_paths_in_bengali(breb_config: Config) -> None:
    bill = bd_bill("701410102", biller="khulna-pbs")
    got = howto(breb_config, breb_config.biller("khulna-pbs"), bill, "bn")
    assert got is not None
    assert got.title == "মোবাইল ওয়ালেট থেকে পরিশোধ করুন"
    assert any("*247#" in line and "৭০১৪১০১০২" in line for line in got.lines)
    assert any(line.startswith("Rocket (DBBL) অ্যাপ") for line in got.lines)
    en = howto(breb_config, breb_config.biller("khulna-pbs"), bill, "en")
    assert en is not None and "bKash app: Pay Bill → Palli Bidyut → Khulna Palli Bidyut " \
        "Samity → account number 701410102" in en.lines


def test_no_howto_for_indian_billers(best_config: Config) -> None:
    assert howto(best_config, best_config.biller("best"), in_bill(), "hi") is None


@pytest.mark.browser
def test_bill_page_shows_howto_in_chromium(live: str, breb: Config, store: Store) -> None:
    bill = add(store, bd_bill("701410102", biller="khulna-pbs"))[0]
    full = bill_url(bill, breb.biller(bill.biller), breb, bill.amount)
    parts = urllib.parse.urlsplit(full)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        for lang, words in (("bn", "হিসাব নম্বর ৭০১৪১০১০২"), ("en", "account number 701410102")):
            page.goto(f"{live}{parts.path}?{parts.query}&lang={lang}")
            block = page.locator("#channels.howto")
            assert block.is_visible()
            assert words in block.inner_text()
        browser.close()
