"""The WhatsApp webhook against channels.md §5 (items 1-10, 14) and the Graph API
sender against a local fake Graph API server."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from qrpay.chat.sender import RateLimiter, deliver_due
from qrpay.chat.whatsapp import signature
from qrpay.store.schema import chat_message_status, chat_sessions, complaints, outbox
from tests.chat.conftest import APP_SECRET, BEST_PNID, VERIFY_TOKEN, Harness, signed, wa_payload

# channels.md §1.2/§1.3: the sample with a Devanagari "2", and its signature.
SAMPLE = {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398",
          "changes": [{"field": "messages", "value": {
              "messaging_product": "whatsapp",
              "metadata": {"display_phone_number": "15550783881",
                           "phone_number_id": "106540352242922"},
              "contacts": [{"profile": {"name": "Ravi"}, "wa_id": "919812345678"}],
              "messages": [{"from": "919812345678", "id": "wamid.TEST1",
                            "timestamp": "1749416383", "type": "text",
                            "text": {"body": "\u0968"}}]}}]}]}


def _count(h: Harness, table: Any) -> int:
    with h.store.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_verify_token(best_chat: Harness) -> None:
    ok = best_chat.client.get("/api/v1/chat/whatsapp", params={
        "hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.text == "1158201444"
    for params in ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
                   {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN,
                    "hub.challenge": "1"}, {"hub.challenge": "1"}):
        assert best_chat.client.get("/api/v1/chat/whatsapp", params=params).status_code == 403


def test_signature_vector_from_the_research_note() -> None:
    body = json.dumps(SAMPLE, separators=(",", ":")).encode()
    assert b"\\u0968" in body
    assert signature(body, "test_app_secret") == (
        "sha256=27d190fff445dbb0b9638d75f9a7854af594765199317c123900cfb613419403")
    unescaped = json.dumps(SAMPLE, separators=(",", ":"), ensure_ascii=False).encode()
    assert signature(unescaped, "test_app_secret") == (
        "sha256=4b181b6699bbda019bff5e04685a7571c66f1f632ff4b5280f53773ed997522d")


def test_escaped_body_verifies_and_reserialised_body_does_not(best_chat: Harness) -> None:
    assert APP_SECRET == "test_app_secret"
    body = json.dumps(SAMPLE, separators=(",", ":")).encode()
    resp = best_chat.client.post("/api/v1/chat/whatsapp", content=body, headers={
        "X-Hub-Signature-256": signature(body, APP_SECRET)})
    assert resp.status_code == 200 and resp.json()["answered"] == 1
    other = json.dumps(SAMPLE, separators=(",", ":"), ensure_ascii=False).encode()
    resp = best_chat.client.post("/api/v1/chat/whatsapp", content=other, headers={
        "X-Hub-Signature-256": signature(body, APP_SECRET)})
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "bad_signature"


def test_missing_or_wrong_signature_processes_nothing(best_chat: Harness) -> None:
    body, headers = signed(wa_payload("919812345678", {"type": "text", "text": {"body": "hi"}}))
    for bad in ({}, {"X-Hub-Signature-256": "md5=abc"},
                {"X-Hub-Signature-256": "sha256=" + "0" * 64}):
        resp = best_chat.client.post("/api/v1/chat/whatsapp", content=body, headers=bad)
        assert resp.status_code == 401
    assert _count(best_chat, chat_sessions) == 0 and _count(best_chat, outbox) == 0


def test_same_message_twice_answered_once(best_chat: Harness) -> None:
    payload = wa_payload("919812345678", {"type": "text", "text": {"body": "hi"}},
                         msg_id="wamid.DUP")
    first = best_chat.post(payload).json()
    second = best_chat.post(payload).json()
    assert (first["answered"], second["answered"], second["duplicates"]) == (1, 0, 1)
    assert len(best_chat.deliver()) == 1


def test_duplicate_delivered_to_two_worker_processes_at_once(best_chat: Harness,
                                                           tmp_path: Path) -> None:
    body, headers = signed(wa_payload("919812345678", {"type": "text", "text": {"body": "hi"}},
                                      msg_id="wamid.RACE"))
    (tmp_path / "body.json").write_bytes(body)
    go = tmp_path / "go"
    env = {**os.environ}
    procs = [subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("race_worker.py")), best_chat.store.url,
         str(tmp_path / "body.json"), headers["X-Hub-Signature-256"], str(go)],
        stdout=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    go.touch()  # both workers now handle the same message at the same moment
    answered = []
    for p in procs:
        out, _ = p.communicate(timeout=60)
        assert p.returncode == 0
        answered.append(int(out.strip()))
    assert sorted(answered) == [0, 1]
    with best_chat.store.connect() as conn:
        replies = conn.execute(select(func.count()).select_from(outbox).where(
            outbox.c.kind == "whatsapp")).scalar_one()
    assert replies == 1


def test_batch_of_entries_messages_and_statuses(best_chat: Harness) -> None:
    def change(sender: str, n: int) -> dict[str, Any]:
        value = wa_payload(sender, {"type": "text", "text": {"body": "hi"}})["entry"][0]
        value["changes"][0]["value"]["messages"].append(
            {"from": sender, "id": f"wamid.B{sender}{n}", "type": "text",
             "text": {"body": "1"}})
        value["changes"][0]["value"]["statuses"] = [
            {"id": f"wamid.OUT{sender}", "status": "delivered", "timestamp": "1",
             "recipient_id": sender}]
        return value

    payload = {"object": "whatsapp_business_account",
               "entry": [change("919800000001", 1), change("919800000002", 2)]}
    result = best_chat.post(payload).json()
    assert result == {"messages": 4, "answered": 4, "duplicates": 0, "ignored": 0,
                      "statuses": 2}
    assert _count(best_chat, chat_sessions) == 2
    assert _count(best_chat, chat_message_status) == 2
    assert len(best_chat.deliver()) == 4


def _status_payload(*statuses: tuple[str, str]) -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "1", "phone_number_id": BEST_PNID},
            "statuses": [{"id": i, "status": s, "timestamp": "1", "recipient_id": "9198"}
                         for i, s in statuses]}}]}]}


def test_statuses_never_trigger_menus_and_never_go_backwards(best_chat: Harness) -> None:
    best_chat.post(_status_payload(("wamid.X", "delivered")))
    best_chat.post(_status_payload(("wamid.X", "sent")))
    best_chat.post(_status_payload(("wamid.Y", "sent"), ("wamid.Y", "read")))
    with best_chat.store.connect() as conn:
        got = dict(conn.execute(select(chat_message_status.c.message_id,
                                       chat_message_status.c.status)).fetchall())
    assert got == {"wamid.X": "delivered", "wamid.Y": "read"}
    assert _count(best_chat, chat_sessions) == 0 and _count(best_chat, outbox) == 0


def test_other_phone_number_id_is_acknowledged_and_ignored(best_chat: Harness) -> None:
    resp = best_chat.post(wa_payload("919812345678", {"type": "text", "text": {"body": "hi"}},
                                     pnid="999999999999"))
    assert resp.status_code == 200 and resp.json()["ignored"] == 1
    assert _count(best_chat, chat_sessions) == 0 and _count(best_chat, outbox) == 0


def test_non_text_messages_get_the_help_text(best_chat: Harness) -> None:
    best_chat.wa("919812345678", "hi")
    for message in ({"type": "image", "image": {"id": "1", "mime_type": "image/jpeg"}},
                    {"type": "audio", "audio": {"id": "2"}},
                    {"type": "location", "location": {"latitude": 1, "longitude": 2}},
                    {"type": "reaction", "reaction": {"message_id": "x", "emoji": "👍"}},
                    {"type": "system", "system": {"type": "customer_identity_changed"}}):
        sent = best_chat.wa("919812345678", message=message)
        assert len(sent) == 1 and sent[0]["type"] == "text"
        assert "1800 22 7555" in sent[0]["text"]["body"]  # the helpline, in Hindi


def _titles(message: dict[str, Any]) -> list[str]:
    action = message["interactive"]["action"]
    if "buttons" in action:
        return [b["reply"]["id"].split(":")[1] for b in action["buttons"]]
    return [r["id"].split(":")[1] for s in action["sections"] for r in s["rows"]]


def test_bsuid_sender_is_never_offered_registered_mobile(best_chat: Harness) -> None:
    bsuid = "US.13491208655302741918"
    best_chat.wa(bsuid, "hi")
    sent = best_chat.wa(bsuid, "1")
    assert _titles(sent[0]) == ["consumer", "other_mobile"]
    phone = "919812345678"
    best_chat.wa(phone, "hi")
    assert _titles(best_chat.wa(phone, "1")[0]) == ["consumer", "own_mobile", "other_mobile"]


def test_tap_on_an_old_menu_is_refused_politely(best_chat: Harness) -> None:
    sender = "919812345678"
    first = best_chat.wa(sender, "hi")
    old_id = first[0]["interactive"]["action"]["sections"][0]["rows"][1]["id"]  # past bills
    best_chat.wa(sender, "1")  # now on "how shall we find your bill"
    sent = best_chat.wa(sender, choice=old_id)
    assert sent[0]["type"] == "text" and "पिछले मेनू" in sent[0]["text"]["body"]
    assert _titles(sent[1]) == ["consumer", "own_mobile", "other_mobile"]
    current = sent[1]["interactive"]["action"]["buttons"][0]["reply"]["id"]
    nxt = best_chat.wa(sender, choice=current)
    assert _titles(nxt[0]) == ["urban", "rural", "agriculture"]


def test_retries_with_backoff_on_429_and_5xx(best_chat: Harness) -> None:
    best_chat.fake.fail_next[:] = [429, 503]
    best_chat.post(wa_payload("919812345678", {"type": "text", "text": {"body": "hi"}}))
    now = dt.datetime.now(dt.UTC)
    first = deliver_due(best_chat.store, best_chat.transport, now=now)
    assert (first.claimed, first.retrying, first.sent) == (1, 1, 0)
    assert deliver_due(best_chat.store, best_chat.transport, now=now).claimed == 0  # backing off
    later = now + dt.timedelta(minutes=20)
    second = deliver_due(best_chat.store, best_chat.transport, now=later)
    assert second.retrying == 1
    third = deliver_due(best_chat.store, best_chat.transport, now=later + dt.timedelta(hours=1))
    assert third.sent == 1 and len(best_chat.fake.take()) == 1


def test_rate_limiter_spaces_sends_per_number() -> None:
    clock = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock[0] += seconds

    limiter = RateLimiter(80, clock=lambda: clock[0], sleep=sleep)
    for _ in range(160):
        limiter.acquire("pnid-1")
    limiter.acquire("pnid-2")  # another number has its own bucket
    assert 0.99 <= clock[0] <= 1.01  # 80 in the burst, the next 80 at 80/s
    limiter.pause("pnid-1", 5)
    limiter.acquire("pnid-1")
    assert clock[0] >= 5.99


def test_window_closed_falls_back_to_template(best_chat: Harness) -> None:
    sender = "919177777868"
    for text in ("hi", "1", "1", "1", "100000000", "1"):
        best_chat.wa(sender, text)
    best_chat.fake.window_closed.add(sender)  # Meta thinks the window closed (131047)
    from tests.chat.test_golden import _post

    _post(best_chat, "B2611100000000")
    s = best_chat.client.app.state.chat.service
    from qrpay.chat.confirm import confirm_payments

    assert confirm_payments(best_chat.store, s.config, s.flows, s.settings) == 1
    sent = best_chat.deliver()
    assert [m["type"] for m in sent] == ["template"]
    assert sent[0]["template"]["name"] == "payment_received"
    assert sent[0]["template"]["language"]["code"] == "hi"


def test_after_24_hours_the_confirmation_is_a_template(best_chat: Harness) -> None:
    sender = "919177777868"
    for text in ("hi", "1", "1", "1", "100000000", "1"):
        best_chat.wa(sender, text)
    with best_chat.store.begin() as conn:
        conn.execute(update(chat_sessions).values(
            last_inbound_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=25)))
    from tests.chat.test_golden import _post

    _post(best_chat, "B2611100000000")
    s = best_chat.client.app.state.chat.service
    from qrpay.chat.confirm import confirm_payments

    assert confirm_payments(best_chat.store, s.config, s.flows, s.settings) == 1
    assert confirm_payments(best_chat.store, s.config, s.flows, s.settings) == 0  # once
    sent = best_chat.deliver()
    assert [m["type"] for m in sent] == ["template"]
    params = [p["text"] for p in sent[0]["template"]["components"][0]["parameters"]]
    assert params == ["₹ 1,909.00", "B2611100000000", "BEST-000000001"]


def _expire(h: Harness, idle: dt.timedelta) -> None:
    """The conversation's last message was ``idle`` ago ([chat] session_minutes passed)."""
    then = dt.datetime.now(dt.UTC) - idle
    with h.store.begin() as conn:
        conn.execute(update(chat_sessions).values(
            updated_at=then, last_inbound_at=then,
            expires_at=min(then + dt.timedelta(minutes=30),
                           dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))))


def test_a_flow_cut_short_by_expiry_is_offered_back(best_chat: Harness) -> None:
    sender = "919812345678"
    best_chat.wa(sender, "hi")
    best_chat.wa(sender, "1")
    best_chat.wa(sender, "1")  # the area menu
    _expire(best_chat, dt.timedelta(minutes=45))
    sent = best_chat.wa(sender, "1")  # would have chosen "urban": not acted on
    assert sent[0]["interactive"]["body"]["text"].startswith("जहाँ छोड़ा था")
    assert _titles(sent[0]) == ["continue", "restart"]
    again = best_chat.wa(sender, "1")  # continue
    assert _titles(again[0]) == ["urban", "rural", "agriculture"]
    assert "उपभोक्ता नंबर" in best_chat.wa(sender, "1")[0]["text"]["body"]
    _expire(best_chat, dt.timedelta(minutes=45))
    best_chat.wa(sender, "5")
    assert _titles(best_chat.wa(sender, "2")[0])[:2] == ["pay", "past"]  # start again


def test_a_greeting_after_expiry_goes_to_the_main_menu(best_chat: Harness) -> None:
    sender = "919812345678"
    best_chat.wa(sender, "hi")
    best_chat.wa(sender, "1")
    _expire(best_chat, dt.timedelta(minutes=45))
    assert _titles(best_chat.wa(sender, "hello")[0])[:2] == ["pay", "past"]


def test_an_expired_session_past_the_resume_window_starts_again(best_chat: Harness) -> None:
    sender = "919812345678"
    best_chat.wa(sender, "hi")
    best_chat.wa(sender, "1")
    _expire(best_chat, dt.timedelta(hours=25))  # [chat] resume_minutes.whatsapp = 1440
    sent = best_chat.wa(sender, "1")  # would have chosen "consumer number"
    assert _titles(sent[0])[:2] == ["pay", "past"]  # the main menu, no half-state


def test_a_finished_flow_is_not_offered_back(best_chat: Harness) -> None:
    sender = "919812345678"
    best_chat.wa(sender, "hi")
    best_chat.wa(sender, "6")  # help: a final screen
    _expire(best_chat, dt.timedelta(minutes=45))
    assert _titles(best_chat.wa(sender, "1")[0])[:2] == ["pay", "past"]


def _shown_refs(h: Harness, sender: str) -> list[str]:
    """The Graph message ids of the conversation's latest screen (after delivery)."""
    with h.store.connect() as conn:
        data = json.loads(conn.execute(select(chat_sessions.c.data).where(
            chat_sessions.c.sender == sender)).scalar_one())
        refs = dict(conn.execute(select(outbox.c.dedupe_key, outbox.c.provider_ref)).fetchall())
    return [refs[k] for k in data["shown"]]


def _quoting(text: str, quoted: str) -> dict[str, Any]:
    return {"type": "text", "text": {"body": text}, "context": {"from": "15550783881",
                                                                 "id": quoted}}


def test_reply_quoting_an_old_menu_is_refused_not_acted_on(best_chat: Harness) -> None:
    sender = "919812345678"
    best_chat.wa(sender, "hi")
    main_menu = _shown_refs(best_chat, sender)[-1]
    best_chat.wa(sender, "1")  # now on "how shall we find your bill"
    how = _shown_refs(best_chat, sender)[-1]
    # a swipe-reply to the main menu typing "2" (past bills there, "own mobile" here)
    sent = best_chat.wa(sender, message=_quoting("2", main_menu))
    assert sent[0]["type"] == "text" and "पिछले मेनू" in sent[0]["text"]["body"]
    assert _titles(sent[1]) == ["consumer", "own_mobile", "other_mobile"]
    # a tap on the current menu that quotes the re-shown menu is acted on
    again = _shown_refs(best_chat, sender)[-1]
    assert again != how
    tap = sent[1]["interactive"]["action"]["buttons"][0]["reply"]["id"]
    nxt = best_chat.wa(sender, message={
        "type": "interactive", "context": {"id": again},
        "interactive": {"type": "button_reply", "button_reply": {"id": tap, "title": "x"}}})
    assert _titles(nxt[0]) == ["urban", "rural", "agriculture"]
    # a tap quoting an older menu is refused even when its id looks current
    current = nxt[0]["interactive"]["action"]["buttons"][0]["reply"]["id"]
    refused = best_chat.wa(sender, message={
        "type": "interactive", "context": {"id": how},
        "interactive": {"type": "button_reply", "button_reply": {"id": current, "title": "x"}}})
    assert "पिछले मेनू" in refused[0]["text"]["body"]
    assert _titles(refused[1]) == ["urban", "rural", "agriculture"]
    # a greeting quoting anything still reaches the main menu
    assert _titles(best_chat.wa(sender, message=_quoting("hi", main_menu))[0])[:2] == [
        "pay", "past"]


def test_a_tap_from_an_expired_conversation_does_not_match_the_new_one(
        best_chat: Harness) -> None:
    sender = "919812345678"
    best_chat.wa(sender, "hi")
    old = best_chat.wa(sender, "1")  # pay: how shall we find your bill (seq 2)
    old_tap = old[0]["interactive"]["action"]["buttons"][0]["reply"]["id"]
    with best_chat.store.begin() as conn:
        conn.execute(update(chat_sessions).values(
            expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    best_chat.wa(sender, "hi")  # a new conversation: main menu
    best_chat.wa(sender, "1")  # the same menu again, but numbered on from the old one
    sent = best_chat.wa(sender, choice=old_tap)
    assert "पिछले मेनू" in sent[0]["text"]["body"]


def test_user_changed_number_moves_the_conversation(best_chat: Harness) -> None:
    old, new = "919177777868", "919177777999"
    for text in ("hi", "3", "2", "Voltage drops"):
        best_chat.wa(old, text)
    best_chat.wa(old, "1")  # from the final screen: main menu option 1, pay: how
    moved = best_chat.post(wa_payload(old, {"type": "system", "system": {
        "body": f"User A changed from {old} to {new}", "wa_id": new,
        "type": "user_changed_number"}}))
    assert moved.json()["answered"] == 1
    assert best_chat.deliver() == []  # no menu logic, no reply
    with best_chat.store.connect() as conn:
        senders = [r.sender for r in conn.execute(select(chat_sessions.c.sender))]
        contact = conn.execute(select(complaints.c.contact, complaints.c.session_id)).one()
    assert senders == [new]
    assert contact.contact == new and contact.session_id.endswith(new)
    sent = best_chat.wa(new, "1")  # carries on where the old number was: consumer number
    assert _titles(sent[0]) == ["urban", "rural", "agriculture"]
    assert all(m["to"] == new for m in sent)


def test_bsuid_sender_typing_the_own_mobile_number_gets_no_lookup(best_chat: Harness) -> None:
    bsuid = "US.13491208655302741918"
    best_chat.wa(bsuid, "hi")
    best_chat.wa(bsuid, "1")
    sent = best_chat.wa(bsuid, "3")  # only two options: "3" is not "my registered mobile"
    assert "समझ नहीं" in sent[0]["text"]["body"]
    assert _titles(sent[1]) == ["consumer", "other_mobile"]
