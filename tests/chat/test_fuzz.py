"""Property tests over the chat endpoints: correctly signed WhatsApp webhooks whose
payloads are bent out of shape anywhere, and USSD gateway requests with any fields, never
answer a server error; USSD answers are always a ``CON``/``END`` screen."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qrpay.chat.whatsapp import signature
from tests.chat.conftest import APP_SECRET, Harness, wa_payload

FUZZ = settings(max_examples=25, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))

TEXT = st.one_of(st.text(max_size=30), st.sampled_from(
    ["hi", "বিল", "बिल", "2", "২", "२", "１", "12", "+91 98123-45678", "\x00", "0", "00",
     "*", "**", "1*2*3", "9" * 200]))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6)
# Where in a real payload to put a value that does not belong there.
PATHS = st.sampled_from([
    (), ("entry",), ("entry", 0), ("entry", 0, "changes"), ("entry", 0, "changes", 0),
    ("entry", 0, "changes", 0, "value"), ("entry", 0, "changes", 0, "value", "metadata"),
    ("entry", 0, "changes", 0, "value", "messages"),
    ("entry", 0, "changes", 0, "value", "messages", 0),
    ("entry", 0, "changes", 0, "value", "messages", 0, "type"),
    ("entry", 0, "changes", 0, "value", "messages", 0, "text"),
    ("entry", 0, "changes", 0, "value", "messages", 0, "from"),
    ("entry", 0, "changes", 0, "value", "messages", 0, "id"),
    ("entry", 0, "changes", 0, "value", "messages", 0, "timestamp"),
    ("entry", 0, "changes", 0, "value", "statuses"),
    ("entry", 0, "changes", 0, "value", "contacts"),
])


def _bend(payload: dict[str, Any], path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    out = copy.deepcopy(payload)
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


@FUZZ
@given(path=PATHS, value=JSON, text=TEXT)
def test_signed_webhooks_bent_anywhere_never_a_server_error(best_chat: Harness,
                                                           path: tuple[Any, ...], value: Any,
                                                           text: str) -> None:
    payload = _bend(wa_payload("919812345678", {"type": "text", "text": {"body": text}},
                               pnid=best_chat.pnid), path, value)
    body = json.dumps(payload).encode()
    resp = best_chat.client.post("/api/v1/chat/whatsapp", content=body, headers={
        "X-Hub-Signature-256": signature(body, APP_SECRET),
        "Content-Type": "application/json"})
    assert resp.status_code < 500, resp.text[:300]
    best_chat.deliver()  # whatever was queued can be sent


@FUZZ
@given(raw=st.binary(max_size=200))
def test_signed_bodies_that_are_not_json_never_a_server_error(best_chat: Harness,
                                                              raw: bytes) -> None:
    resp = best_chat.client.post("/api/v1/chat/whatsapp", content=raw, headers={
        "X-Hub-Signature-256": signature(raw, APP_SECRET),
        "Content-Type": "application/json"})
    assert 200 <= resp.status_code < 500, resp.text[:300]


@FUZZ
@given(form=st.fixed_dictionaries({}, optional={
    "sessionId": TEXT, "serviceCode": st.sampled_from(["*384*123#", "", "x"]) | TEXT,
    "phoneNumber": st.sampled_from(["+8801717784483", "+919812345678", ""]) | TEXT,
    "networkCode": TEXT, "text": TEXT}))
def test_ussd_requests_with_any_fields_get_a_screen_or_a_refusal(breb_chat: Harness,
                                                                form: dict[str, str]) -> None:
    resp = breb_chat.client.post("/api/v1/chat/ussd/at", data=form)
    assert resp.status_code < 500, resp.text[:300]
    if resp.status_code == 200:
        assert resp.text.startswith(("CON ", "END ")), resp.text[:100]


@FUZZ
@given(hops=st.lists(TEXT, min_size=1, max_size=6))
def test_a_ussd_session_typed_anything_always_answers_a_screen(breb_chat: Harness,
                                                              hops: list[str]) -> None:
    typed: list[str] = []
    for hop in hops:
        typed.append(hop)
        screen = breb_chat.ussd("+8801717784483", "fuzz-" + str(id(hops)), "*".join(typed))
        assert screen.startswith(("CON ", "END "))
        if screen.startswith("END "):
            break


def test_a_payload_whose_entry_is_not_a_list_is_read_as_empty() -> None:
    """Found by the cases above: ``"entry": true`` was a TypeError and a 500."""
    from qrpay.chat.whatsapp import parse

    for bent in (True, 5, "x", {"changes": []}, [True, {"changes": {"value": 1}}]):
        assert parse({"object": "whatsapp_business_account", "entry": bent}) == ([], [])
    messages, _ = parse({"object": "whatsapp_business_account", "entry": [{"changes": [
        {"value": {"messages": [{"from": "919812345678", "id": "m1", "type": "text",
                                 "text": "not an object"}]}}]}]})
    assert [m.inbound.text for m in messages] == [""]


def test_a_ussd_session_id_or_number_longer_than_the_store_keeps_is_refused(
        breb_chat: Harness) -> None:
    """Found by the cases above on PostgreSQL: a 101-character ``sessionId`` was a 500
    (``character varying(100)``); SQLite stored it."""
    for field in ("sessionId", "phoneNumber"):
        form = {"sessionId": "s-long", "serviceCode": "*384*123#",
                "phoneNumber": "+8801717784483", "networkCode": "47001", "text": ""}
        form[field] = "9" * 101
        resp = breb_chat.client.post("/api/v1/chat/ussd/at", data=form)
        assert resp.status_code == 422 and resp.json()["error"]["field"] == field


def test_a_whatsapp_sender_longer_than_the_store_keeps_is_skipped() -> None:
    from qrpay.chat.whatsapp import parse

    messages, _ = parse({"object": "whatsapp_business_account", "entry": [{"changes": [
        {"value": {"messages": [
            {"from": "9" * 101, "id": "m1", "type": "text", "text": {"body": "hi"}},
            {"from": "9" * 100, "id": "m2", "type": "text", "text": {"body": "hi"}}]}}]}]})
    assert [m.id for m in messages] == ["m2"]


def test_nul_in_a_ussd_request_gets_a_screen(breb_chat: Harness) -> None:
    """Found by the cases above on PostgreSQL: NUL in ``text`` or ``sessionId`` was a 500
    (PostgreSQL text cannot hold NUL); control characters are dropped at the adapter."""
    resp = breb_chat.client.post("/api/v1/chat/ussd/at", data={
        "sessionId": "s\x001", "serviceCode": "*384*123#", "phoneNumber": "+8801717784483",
        "networkCode": "47001", "text": "\x00"})
    assert resp.status_code == 200 and resp.text.startswith("CON ")


def test_nul_in_a_whatsapp_text_is_dropped() -> None:
    from qrpay.chat.whatsapp import parse

    messages, _ = parse({"object": "whatsapp_business_account", "entry": [{"changes": [
        {"value": {"messages": [{"from": "919812345678", "id": "m\x001", "type": "text",
                                 "text": {"body": "h\x00i"}}]}}]}]})
    assert [(m.id, m.inbound.text) for m in messages] == [("m1", "hi")]
