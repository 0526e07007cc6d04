from __future__ import annotations

import io
import urllib.parse

import pytest
from PIL import Image
from pyzbar.pyzbar import decode
from starlette.testclient import TestClient

from qrpay.bills import Bill
from qrpay.config import Config
from qrpay.payload import bill_url, resolve
from qrpay.payments.posting import PaymentIn, post_payment
from qrpay.store import Store

from .conftest import PAST_DUE, bd_bill, insert_bill, make_bill

PERSONAL = ("ज्ञानेश्वर", "दादर", "9812345678", "100000001", "1,234.50")


def page_path(config: Config, bill: Bill, amount: int | None = None) -> str:
    url = bill_url(bill, config.biller(bill.biller), config,
                   bill.amount if amount is None else amount)
    parts = urllib.parse.urlsplit(url)
    return f"{parts.path}?{parts.query}"


def pay(store: Store, config: Config, bill: Bill, amount: int, txn: str = "T1") -> str:
    with store.begin() as conn:
        res = post_payment(conn, config, PaymentIn(
            channel="upi", txn_id=txn, bill_no=bill.bill_no, amount=amount,
            currency="INR"))
    assert res.receipt_no
    return res.receipt_no


def pay_href(html: str) -> str:
    start = html.index('id="pay" href="') + len('id="pay" href="')
    return html[start:html.index('"', start)].replace("&amp;", "&")


def test_page_without_token_shows_nothing_personal(client: TestClient, store: Store) -> None:
    insert_bill(store, make_bill())
    r = client.get("/b/B2611100000001")
    assert r.status_code == 200
    for text in PERSONAL:
        assert text not in r.text
    assert 'id="neutral"' in r.text


def test_bad_token_page_is_identical_to_unknown_bill_page(client: TestClient,
                                                          store: Store) -> None:
    insert_bill(store, make_bill())
    known = client.get("/b/B2611100000001?t=k1.AAAAAAAAAAAA")
    unknown = client.get("/b/B2611199999999?t=k1.AAAAAAAAAAAA")
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text


def test_token_for_another_bill_does_not_open_this_one(client: TestClient, store: Store,
                                                       best_config: Config) -> None:
    mine = insert_bill(store, make_bill())
    other = insert_bill(store, make_bill("B2611100000002"))
    token = page_path(best_config, other).split("?t=")[1]
    r = client.get(f"/b/{mine.bill_no}?t={token}")
    assert "ज्ञानेश्वर" not in r.text


def test_page_with_token_shows_bill_amount_and_unpaid_in_hindi(
        client: TestClient, store: Store, best_config: Config) -> None:
    bill = insert_bill(store, make_bill())
    r = client.get(page_path(best_config, bill))
    assert r.status_code == 200
    assert '<html lang="hi">' in r.text
    assert "ज्ञानेश्वर देशपांडे" in r.text
    assert "₹ 1,234.50" in r.text
    assert "भुगतान बाकी" in r.text
    assert r.headers["cache-control"] == "private, no-store"


def test_pay_link_is_a_upi_intent_with_the_amount_due(client: TestClient, store: Store,
                                                      best_config: Config) -> None:
    bill = insert_bill(store, make_bill())
    href = pay_href(client.get(page_path(best_config, bill)).text)
    assert href.startswith("upi://pay?")
    query = urllib.parse.parse_qs(href.split("?", 1)[1])
    assert query["am"] == ["1234.50"]
    assert query["pa"] == ["bestelectricity@sbi"]
    assert resolve(href, best_config).verdict == "genuine"


def test_after_the_due_date_page_asks_for_the_late_amount(client: TestClient, store: Store,
                                                          best_config: Config) -> None:
    bill = insert_bill(store, make_bill(due_date=PAST_DUE))
    html = client.get(page_path(best_config, bill)).text
    assert "₹ 1,250.00" in html
    assert "विलंब शुल्क सहित" in html
    assert "am=1250.00" in pay_href(html)


def test_part_paid_page_asks_for_the_rest(client: TestClient, store: Store,
                                          best_config: Config) -> None:
    bill = insert_bill(store, make_bill())
    pay(store, best_config, bill, 23450)
    html = client.get(page_path(best_config, bill)).text
    assert "आंशिक भुगतान" in html
    assert "am=1000.00" in pay_href(html)


def test_paid_page_shows_receipt_and_no_pay_button(client: TestClient, store: Store,
                                                   best_config: Config) -> None:
    bill = insert_bill(store, make_bill())
    receipt = pay(store, best_config, bill, 123450)
    html = client.get(page_path(best_config, bill)).text
    assert "भुगतान हो गया" in html
    assert receipt in html
    assert 'id="pay"' not in html


def test_token_over_the_amount_due_now_opens_the_page(client: TestClient, store: Store,
                                                      best_config: Config) -> None:
    bill = insert_bill(store, make_bill())
    pay(store, best_config, bill, 23450)
    r = client.get(page_path(best_config, bill, amount=100000))
    assert "ज्ञानेश्वर" in r.text


def test_english_on_request(client: TestClient, store: Store, best_config: Config) -> None:
    bill = insert_bill(store, make_bill())
    html = client.get(page_path(best_config, bill) + "&lang=en").text
    assert '<html lang="en">' in html
    assert "Unpaid" in html


def test_bangladesh_page_is_bengali_with_channels_and_no_upi(
        breb_client: TestClient, store: Store, breb_config: Config) -> None:
    bill = insert_bill(store, bd_bill())
    html = breb_client.get(page_path(breb_config, bill)).text
    assert '<html lang="bn">' in html
    assert "৳ ৯২৯.৭২" in html
    assert "অপরিশোধিত" in html
    assert "bKash" in html and "Nagad" in html
    assert "upi://" not in html


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_qr_image_carries_todays_amount_and_is_genuine(
        client: TestClient, store: Store, best_config: Config, kind: str) -> None:
    bill = insert_bill(store, make_bill(due_date=PAST_DUE))
    path, query = page_path(best_config, bill).split("?")
    r = client.get(f"{path}/qr.{kind}?{query}")
    assert r.status_code == 200
    if kind == "svg":
        assert r.headers["content-type"].startswith("image/svg+xml")
        assert b"<svg" in r.content
        return
    payload = decode(Image.open(io.BytesIO(r.content)))[0].data.decode()
    res = resolve(payload, best_config)
    assert res.verdict == "genuine"
    assert res.amount == 125000


def test_qr_image_without_a_valid_token_is_404(client: TestClient, store: Store) -> None:
    insert_bill(store, make_bill())
    r = client.get("/b/B2611100000001/qr.png?t=k1.AAAAAAAAAAAA")
    assert r.status_code == 404
    assert "image" not in r.headers["content-type"]


def test_qr_image_of_a_paid_bill_is_404_nothing_due(client: TestClient, store: Store,
                                                    best_config: Config) -> None:
    bill = insert_bill(store, make_bill())
    pay(store, best_config, bill, 123450)
    path, query = page_path(best_config, bill).split("?")
    r = client.get(f"{path}/qr.svg?{query}")
    assert r.status_code == 404
    assert "nothing_due" in r.text


def test_pdf_bill_with_token_is_a_pdf(client: TestClient, store: Store,
                                      best_config: Config) -> None:
    bill = insert_bill(store, make_bill())
    path, query = page_path(best_config, bill).split("?")
    r = client.get(f"{path}/bill.pdf?{query}")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")


def test_pdf_bill_without_token_is_404(client: TestClient, store: Store) -> None:
    insert_bill(store, make_bill())
    r = client.get("/b/B2611100000001/bill.pdf")
    assert r.status_code == 404
    assert not r.content.startswith(b"%PDF")


def test_neutral_page_follows_accept_language_among_the_deployment_languages(
        breb_client: TestClient) -> None:
    bn = breb_client.get("/b/2611104231245", headers={"Accept-Language": "fr, bn;q=0.8"})
    en = breb_client.get("/b/2611104231245", headers={"Accept-Language": "en-GB"})
    hi = breb_client.get("/b/2611104231245", headers={"Accept-Language": "hi"})
    assert '<html lang="bn">' in bn.text
    assert '<html lang="en">' in en.text
    assert '<html lang="bn">' in hi.text  # not offered here: the first biller's language
