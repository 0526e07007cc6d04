"""``/openapi.json`` says what the service does: the callback, scan and bill-page rules
in the document are the ones behaviour enforces, and the sample bodies of every channel
format validate against the schemas the document gives for them."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from starlette.testclient import TestClient

from tests.conftest import SAMPLES

from .conftest import auth, callback_body, insert_bill, make_bill, signed_headers


@pytest.fixture
def spec(client: TestClient) -> dict[str, Any]:
    return client.get("/openapi.json").json()


def schema(spec: dict[str, Any], name: str) -> dict[str, Any]:
    """A component schema with its references resolvable (draft 4 style for 3.0)."""
    return {**spec["components"]["schemas"][name], "components": spec["components"]}


def _validator(spec: dict[str, Any], name: str) -> Any:
    s = schema(spec, name)
    return jsonschema.Draft4Validator(s)


@pytest.mark.parametrize("name, sample", [
    ("Callback", "upi-success.json"), ("Callback", "upi-reversed.json"),
    ("RazorpayWebhook", "razorpay-payment-captured.json"),
    ("PhonePeCallback", "phonepe-success.json"),
])
def test_each_channels_sample_body_fits_its_documented_schema(spec, name, sample) -> None:
    _validator(spec, name).validate(json.loads((SAMPLES / "callbacks" / sample).read_text()))


def test_the_callback_body_is_one_of_the_channel_formats(spec) -> None:
    body = spec["paths"]["/api/v1/callbacks/{channel}"]["post"]["requestBody"]
    refs = {s["$ref"].rsplit("/", 1)[1]
            for s in body["content"]["application/json"]["schema"]["oneOf"]}
    assert refs == {"Callback", "RazorpayWebhook", "PhonePeCallback"}


def _post(client: TestClient, data: dict[str, Any]):  # type: ignore[no-untyped-def]
    body = json.dumps(data, ensure_ascii=False).encode()
    return client.post("/api/v1/callbacks/upi", content=body, headers=signed_headers(body))


def test_a_callback_without_currency_is_refused_as_documented(client, store, spec) -> None:
    assert "currency" in spec["components"]["schemas"]["Callback"]["required"]
    insert_bill(store, make_bill())
    data = json.loads(callback_body("C-1", "B2611100000001", "1234.50"))
    del data["currency"]
    assert _post(client, data).status_code == 422
    data["currency"] = "USD"  # not in the documented enum
    assert "USD" not in spec["components"]["schemas"]["Callback"]["properties"][
        "currency"]["enum"]
    assert 400 <= _post(client, data).status_code < 500


def test_txn_id_length_is_the_documented_maximum(client, store, spec) -> None:
    limit = spec["components"]["schemas"]["Callback"]["properties"]["txn_id"]["maxLength"]
    insert_bill(store, make_bill(amount=10**8, late_amount=None))
    data = json.loads(callback_body("X", "B2611100000001", "10.00"))
    data["txn_id"] = "T" * (limit + 1)
    assert 400 <= _post(client, data).status_code < 500
    data["txn_id"] = "T" * limit
    assert _post(client, data).status_code == 200


@pytest.mark.parametrize("amount, ok", [("1,23,456.50", True), ("১২৩৪.৫০", True),
                                        ("1234.5", True), ("1_000", False),
                                        ("123,456", False), ("१२३", True)])
def test_callback_amounts_follow_the_documented_rule(client, store, spec, amount, ok) -> None:
    insert_bill(store, make_bill(amount=10**9, late_amount=None))
    data = json.loads(callback_body("A-" + str(abs(hash(amount))), "B2611100000001", amount))
    r = _post(client, data)
    assert (r.status_code == 200) is ok, r.text


def test_scan_payload_limits_are_the_documented_ones(client, store, spec,
                                                     api_key: str) -> None:
    payload = spec["components"]["schemas"]["ScanRequest"]["properties"]["payload"]
    limit = payload["maxLength"]
    ok = client.post("/api/v1/scan", json={"payload": "x" * limit}, headers=auth(api_key))
    assert ok.status_code == 200
    long = client.post("/api/v1/scan", json={"payload": "x" * (limit + 1)},
                       headers=auth(api_key))
    assert long.status_code == 422 and long.json()["error"]["code"] == "payload_too_long"
    empty = client.post("/api/v1/scan", json={"payload": ""}, headers=auth(api_key))
    assert payload["minLength"] == 1 and empty.status_code == 422


def test_a_lang_the_bill_does_not_offer_is_ignored_as_documented(client, store, spec) -> None:
    params = spec["paths"]["/b/{bill_no}"]["get"]["parameters"]
    lang = next(p for p in params if p["name"] == "lang")
    assert "enum" not in lang["schema"] and "ignored" in lang["description"]
    for value in ("fr", "xx-YY", "mr", ""):
        assert client.get(f"/b/B2611100000001?lang={value}").status_code == 200
