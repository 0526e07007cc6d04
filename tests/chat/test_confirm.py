"""Real-time confirmation: a payment posted on any channel for a bill a conversation
showed is confirmed there exactly once, in that conversation's language."""

from __future__ import annotations

from sqlalchemy import select

from qrpay.chat.confirm import confirm_payments
from qrpay.payments.posting import PaymentIn, post_payment
from qrpay.store.schema import outbox
from tests.chat.conftest import Harness


def _confirm(h: Harness) -> int:
    s = h.client.app.state.chat.service
    return confirm_payments(h.store, s.config, s.flows, s.settings)


def _pay(h: Harness, bill_no: str, amount: int, channel: str = "upi", txn: str = "T1") -> None:
    with h.store.begin() as conn:
        post_payment(conn, h.config, PaymentIn(channel=channel, txn_id=txn, bill_no=bill_no,
                                               amount=amount, currency="INR"))


def _sms(h: Harness) -> list[tuple[str, str, str]]:
    return [(to, key, body) for to, key, body, _, _ in _sms_rows(h)]


def _sms_rows(h: Harness) -> list[tuple[str, str, str, str, str | None]]:
    with h.store.connect() as conn:
        return [(r.recipient, r.dedupe_key, r.body, r.template, r.template_id)
                for r in conn.execute(
            select(outbox.c.recipient, outbox.c.dedupe_key, outbox.c.body, outbox.c.template,
                   outbox.c.template_id).where(outbox.c.kind == "sms").order_by(outbox.c.id))]


def test_after_ussd_the_caller_gets_one_sms_in_their_language(best_chat: Harness) -> None:
    caller = "+919000000099"  # not the bill's registered mobile
    best_chat.ussd(caller, "S1", "")
    best_chat.ussd(caller, "S1", "5")
    best_chat.ussd(caller, "S1", "5*2")  # English
    best_chat.ussd(caller, "S1", "5*2*1*1*1*100000000")
    assert best_chat.ussd(caller, "S1", "5*2*1*1*1*100000000*1").startswith("END ")
    _pay(best_chat, "B2611100000000", 190900, channel="phonepe")
    assert _confirm(best_chat) == 1
    assert _confirm(best_chat) == 0  # exactly once
    sms = _sms_rows(best_chat)
    to_caller = [(body, template, tid) for to, key, body, template, tid in sms
                 if to == "919000000099" and key.startswith("chat:paid:")]
    # the payment notice itself, with its DLT template id (India), in English
    assert to_caller == [("Payment of Rs. 1,909.00 received for bill B2611100000000. "
                          "Receipt BEST-000000001. Thank you - BEST Undertaking",
                          "payment_received", "1107000000000000001")]
    assert any(to == "919177777868" and key.endswith(":received") for to, key, *_ in sms)


def test_every_sms_after_ussd_in_india_carries_a_dlt_template_id(best_chat: Harness) -> None:
    """The bill link after USSD pay, the PDF link after past bills: each a notice of
    templates/sms with its DLT template id, its body matching the registered pattern."""
    from qrpay.notify.messages import dlt_pattern, dlt_variables

    caller = "+919177777868"
    best_chat.ussd(caller, "S1", "")
    best_chat.ussd(caller, "S1", "1*1*1*100000000*1")  # pay: the bill page link
    best_chat.ussd(caller, "S2", "")
    best_chat.ussd(caller, "S2", "2*1*100000000*2")  # past bills: the October PDF link
    rows = [r for r in _sms_rows(best_chat) if r[1].startswith("chat:link:")]
    assert [r[3] for r in rows] == ["chat_pay_link", "chat_past_link"]
    for to, _, body, template, tid in rows:
        assert to == "919177777868" and tid is not None and tid.startswith("1107")
        pattern = dlt_pattern("hi", template)
        assert pattern is not None and dlt_variables(pattern, body) is not None, body
    assert "/bill.pdf?t=" in rows[1][2]


def test_same_number_as_the_bill_gets_only_the_posting_sms(best_chat: Harness) -> None:
    owner = "+919177777868"
    best_chat.ussd(owner, "S1", "")
    best_chat.ussd(owner, "S1", "1*1*1*100000000*1")
    _pay(best_chat, "B2611100000000", 190900)
    assert _confirm(best_chat) == 0
    assert [key for to, key, _ in _sms(best_chat) if key.startswith("chat:paid:")] == []


def test_a_counter_payment_is_confirmed_on_whatsapp(best_chat: Harness) -> None:
    sender = "919177777868"
    for text in ("hi", "1", "1", "1", "100000000", "1"):
        best_chat.wa(sender, text)
    _pay(best_chat, "B2611100000000", 190900, channel="counter", txn="DESK-1")
    assert _confirm(best_chat) == 1
    sent = best_chat.deliver()
    assert len(sent) == 1 and sent[0]["type"] == "text"
    assert "BEST-000000001" in sent[0]["text"]["body"] and "₹ 1,909.00" in sent[0]["text"]["body"]


def test_a_payment_before_the_bill_was_shown_is_not_confirmed(best_chat: Harness) -> None:
    _pay(best_chat, "B2611100000000", 190900)
    sender = "919177777868"
    for text in ("hi", "1", "1", "1", "100000000"):
        best_chat.wa(sender, text)  # shows "already paid": nothing to watch
    assert _confirm(best_chat) == 0


def _callback(h: Harness, txn: str, bill_no: str, amount: str) -> dict[str, object]:
    """A signed UPI acquirer callback through the real endpoint (the one posting path)."""
    from tests.web.conftest import callback_body, signed_headers

    body = callback_body(txn, bill_no, amount)
    r = h.client.post("/api/v1/callbacks/upi", content=body, headers=signed_headers(body))
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_callback_for_a_bill_the_conversation_showed_is_confirmed_once(
        best_chat: Harness) -> None:
    sender = "919177777868"
    for text in ("hi", "5", "3", "1", "1", "1", "100000000", "1"):  # in Marathi
        best_chat.wa(sender, text)
    assert _callback(best_chat, "UPI-CB-1", "B2611100000000", "1909.00")["result"] == "posted"
    assert _callback(best_chat, "UPI-CB-1", "B2611100000000", "1909.00")["result"] == "duplicate"
    assert _confirm(best_chat) == 1
    assert _confirm(best_chat) == 0
    sent = best_chat.deliver()
    assert len(sent) == 1 and sent[0]["to"] == sender and sent[0]["type"] == "text"
    assert "चा भरणा मिळाला" in sent[0]["text"]["body"]  # the conversation's language


def test_a_callback_after_ussd_is_one_sms_with_its_dlt_template_id(best_chat: Harness) -> None:
    caller = "+919000000098"  # not the bill's registered mobile: the posting SMS goes elsewhere
    best_chat.ussd(caller, "S1", "")
    best_chat.ussd(caller, "S1", "1*1*1*100000000*1")
    _callback(best_chat, "UPI-CB-2", "B2611100000000", "1909.00")
    assert _confirm(best_chat) == 1
    rows = [r for r in _sms_rows(best_chat) if r[1].startswith("chat:paid:")]
    assert len(rows) == 1 and rows[0][0] == "919000000098"
    assert rows[0][3] == "payment_received" and rows[0][4] == "1107000000000000011"  # Hindi
    assert "भुगतान प्राप्त हुआ" in rows[0][2]
