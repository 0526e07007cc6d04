"""A callback's headers are stored by an allow-list: an API key a channel sends as
``X-Api-Key`` (or any header we do not know) is never written to the database."""

from __future__ import annotations

import importlib
import json

from sqlalchemy import select

from qrpay.channels import handle_callback
from qrpay.channels._registry import names
from qrpay.payments.groupcommit import KEEP_HEADERS
from qrpay.store.schema import callbacks
from tests.web.conftest import callback_body, insert_bill, make_bill, signed_headers


def test_secret_headers_of_a_callback_are_not_stored(store, best_config) -> None:
    insert_bill(store, make_bill())
    body = callback_body("HDR-1", "B2611100000001", "1234.50")
    headers = {**signed_headers(body), "X-Api-Key": "sk_live_very_secret",
               "Authorization": "Bearer abc", "Cookie": "s=1", "X-Custom-Token": "t0k3n",
               "User-Agent": "upi-psp/1.0"}
    handle_callback(store, best_config, "upi", headers, body, "10.1.2.3")
    with store.connect() as conn:
        stored = json.loads(conn.execute(select(callbacks.c.headers)).scalar_one())
    assert "x-api-key" not in stored and "x-custom-token" not in stored
    assert "authorization" not in stored and "cookie" not in stored
    assert stored["x-qrpay-signature"] == headers["X-Qrpay-Signature"]
    assert stored["user-agent"] == "upi-psp/1.0"


def test_every_channels_signature_header_is_kept() -> None:
    for name in names():
        header = getattr(importlib.import_module(f"qrpay.channels.{name}"), "HEADER", None)
        if isinstance(header, str):
            assert header.lower() in KEEP_HEADERS, name
