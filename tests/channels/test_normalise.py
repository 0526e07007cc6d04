"""Callbacks name a bill the way people and PSPs write it: lower case or with Bengali or
Devanagari digits still reach the bill (as the bill page and the API already did)."""

from __future__ import annotations

import json

import pytest

from qrpay.channels import handle_callback
from tests.web.conftest import bd_bill, callback_body, insert_bill, make_bill, signed_headers


@pytest.mark.parametrize("written", ["b2611100000001", " B2611100000001 ",
                                     "B२६१११०००००००१"])
def test_a_callbacks_bill_number_is_normalised(store, best_config, written: str) -> None:
    insert_bill(store, make_bill("B2611100000001"))
    data = json.loads(callback_body("NORM-1", "B2611100000001", "1234.50"))
    data["bill_no"] = written
    body = json.dumps(data, ensure_ascii=False).encode()
    result = handle_callback(store, best_config, "upi", signed_headers(body), body, None)
    assert result.status == 200, result.body
    assert result.body["bill_no"] == "B2611100000001"


def test_a_bengali_bill_number_in_a_bd_callback_reaches_the_bill(store, breb_config) -> None:
    insert_bill(store, bd_bill("2611104231245"))
    data = json.loads(callback_body("NORM-2", "২৬১১১০৪২৩১২৪৫", "929.72", currency="BDT"))
    body = json.dumps(data, ensure_ascii=False).encode()
    result = handle_callback(store, breb_config, "bkash", signed_headers(body,
                             "test-secret-bkash"), body, None)
    assert result.status == 200, result.body
    assert result.body["bill_no"] == "2611104231245"
