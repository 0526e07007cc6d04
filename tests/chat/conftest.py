"""Chat fixtures: the sample profiles pointed at a local fake Graph API, the chat test
bills imported, and a harness that talks to the real webhook and USSD endpoints."""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from qrpay.chat.sender import Transport, deliver_due
from qrpay.chat.whatsapp import signature
from qrpay.config import Config
from qrpay.importer import import_bills
from qrpay.store import Store
from qrpay.web.app import create_app
from tests.chat.fakegraph import TOKEN, FakeGraph, serve_fake_graph

HERE = Path(__file__).resolve().parent
APP_SECRET = "test_app_secret"
VERIFY_TOKEN = "test-verify-token"
BEST_PNID = "106540352242922"
BREB_PNID = "106540352242923"


@pytest.fixture
def fake_graph() -> Iterator[FakeGraph]:
    with serve_fake_graph() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _chat_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QRPAY_WHATSAPP_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("QRPAY_WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN)
    monkeypatch.setenv("QRPAY_WHATSAPP_TOKEN", TOKEN)
    monkeypatch.setenv("QRPAY_BDAPPS_PASSWORD", "test-bdapps-password")


def with_fake(config: Config, fake: FakeGraph) -> Config:
    raw = json.loads(json.dumps(config.raw))
    chat = raw.setdefault("chat", {})
    chat.setdefault("whatsapp", {})["graph_base_url"] = fake.url + "/v21.0"
    chat.setdefault("ussd", {})["bdapps_url"] = fake.url + "/ussd/send"
    return dataclasses.replace(config, raw=raw)


def wa_payload(sender: str, message: dict[str, Any], *, pnid: str = BEST_PNID,
               msg_id: str | None = None) -> dict[str, Any]:
    m = {"from": sender, "id": msg_id or f"wamid.IN{next(_IDS)}", "timestamp": "1749416383",
         **message}
    return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": pnid},
            "contacts": [{"profile": {"name": "Ravi"}, "wa_id": sender}],
            "messages": [m]}}]}]}


_IDS = itertools.count(1)


def signed(payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return body, {"X-Hub-Signature-256": signature(body, APP_SECRET),
                  "Content-Type": "application/json"}


@dataclasses.dataclass
class Harness:
    config: Config
    store: Store
    client: TestClient
    fake: FakeGraph
    pnid: str
    transport: Transport

    def post(self, payload: dict[str, Any]) -> Any:
        body, headers = signed(payload)
        return self.client.post("/api/v1/chat/whatsapp", content=body, headers=headers)

    def deliver(self) -> list[dict[str, Any]]:
        while deliver_due(self.store, self.transport).claimed:
            pass
        return self.fake.take()

    def wa(self, sender: str, text: str | None = None, *, choice: str | None = None,
           message: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        if message is None:
            message = ({"type": "interactive", "interactive": {
                "type": "button_reply", "button_reply": {"id": choice, "title": "x"}}}
                if choice is not None else {"type": "text", "text": {"body": text}})
        resp = self.post(wa_payload(sender, message, pnid=self.pnid))
        assert resp.status_code == 200, resp.text
        return self.deliver()

    def ussd(self, sender: str, session: str, text: str, code: str = "*384*123#") -> str:
        resp = self.client.post("/api/v1/chat/ussd/at", data={
            "sessionId": session, "serviceCode": code, "phoneNumber": sender,
            "networkCode": "40401", "text": text})
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"].startswith("text/plain")
        return resp.text


def _harness(config: Config, store: Store, fake: FakeGraph, csv: str, pnid: str
             ) -> Iterator[Harness]:
    config = with_fake(config, fake)
    report = import_bills(store, config, HERE / csv)
    assert report is not None
    app = create_app(config, store, start_sender=False)
    with TestClient(app) as client:
        transport = Transport(app.state.chat.service.settings)
        yield Harness(config, store, client, fake, pnid, transport)
        transport.close()


@pytest.fixture
def best_chat(best_config: Config, store: Store, fake_graph: FakeGraph) -> Iterator[Harness]:
    yield from _harness(best_config, store, fake_graph, "bills-best.csv", BEST_PNID)


@pytest.fixture
def breb_chat(breb_config: Config, store: Store, fake_graph: FakeGraph) -> Iterator[Harness]:
    yield from _harness(breb_config, store, fake_graph, "bills-breb.csv", BREB_PNID)
