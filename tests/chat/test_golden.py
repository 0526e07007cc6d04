"""Golden transcripts: every flow in Hindi, Marathi, Bengali and English, through the real
WhatsApp webhook (replies read back from the fake Graph API) and the real Africa's
Talking USSD endpoint (SMS read from the outbox).

Each script is a list of inputs; ``#dial`` starts again (WhatsApp: "hi"; USSD: a new
gateway session), ``#post BILL`` posts a UPI payment for the bill through the one
posting path, ``#confirm`` runs the confirmation fan-out.  The expected transcript is
``golden/<flow>-<lang>-<channel>.txt``; ``QRPAY_UPDATE_GOLDEN=1`` rewrites them (read
the diff before committing).
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from qrpay.bills import get_bill
from qrpay.chat.accounts import today
from qrpay.chat.confirm import confirm_payments
from qrpay.chat.transcript import ussd_lines, whatsapp_lines
from qrpay.payments.ledger import bill_status
from qrpay.payments.posting import PaymentIn, post_payment
from qrpay.store.schema import outbox
from tests.chat.conftest import Harness

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("QRPAY_UPDATE_GOLDEN") == "1"
ENGLISH = ["hi", "5", "2"]  # language -> English
MARATHI = ["hi", "5", "3"]  # language -> Marathi (BEST lists hi, en, mr)

# (flow, profile, sender, inputs after the first "hi")
BEST = {
    "pay": ("919177777868", ["1", "1", "1", "100000000", "1", "#post B2611100000000",
                             "#confirm"]),
    "pay_mobile": ("919812345678", ["1", "2", "2", "1"]),
    "pay_paid": ("919177777868", ["#post B2611100000003", "1", "1", "1", "१०००००००३"]),
    "past": ("919177777868", ["2", "1", "100000000", "2"]),
    "complaint": ("919177777868", ["3", "1", "Light gone since morning", "#dial", "4",
                                   "000001"]),
    "help": ("919177777868", ["6"]),
    "staff": ("919177777868", ["7"]),
    "bad_input": ("919177777868", ["12", "abc", "9", "1", "0", "00"]),
}
BREB = {
    "pay": ("8801717784483", ["1", "1", "১০৪২৩১২৪৫", "1", "#post 2611104231245", "#confirm"]),
    "pay_mobile": ("8801812345678", ["1", "2", "1", "1"]),
    "pay_paid": ("8801717784483", ["#post 2611104231245", "1", "3", "01717-784483"]),
    "past": ("8801717784483", ["2", "1", "104231245", "2"]),
    "complaint": ("8801717784483", ["3", "2", "২", "#dial", "4", "১"]),
    "help": ("8801717784483", ["6"]),
    "staff": ("8801717784483", ["7"]),
    "bad_input": ("8801717784483", ["১২", "abc", "৯", "１", "0", "00"]),
}
_TXNS = itertools.count(1)


def _script(lang: str, profile: str, flow: str) -> tuple[str, list[str]]:
    sender, steps = (BEST if profile == "best" else BREB)[flow]
    first = {"en": ENGLISH, "mr": MARATHI}.get(lang, ["hi"])
    return sender, first + steps


def _post(h: Harness, bill_no: str) -> None:
    with h.store.begin() as conn:
        bill = get_bill(conn, bill_no)
        biller = h.config.billers[bill.biller]
        due = bill_status(conn, bill, today(biller)).due_now
        channel = biller.channels[0]
        post_payment(conn, h.config, PaymentIn(
            channel=channel, txn_id=f"TXN{next(_TXNS)}-{bill_no}", bill_no=bill_no,
            amount=due, currency=biller.currency))


def _sms_since(h: Harness, last: int) -> tuple[list[str], int]:
    with h.store.connect() as conn:
        rows = conn.execute(select(outbox.c.id, outbox.c.recipient, outbox.c.body,
                                   outbox.c.dedupe_key)
                            .where(outbox.c.kind == "sms", outbox.c.id > last)
                            .order_by(outbox.c.id)).fetchall()
    lines = [f"< [sms to {r.recipient}] {r.body}" for r in rows]
    return lines, max([last, *(r.id for r in rows)])


def _directive(h: Harness, step: str) -> bool:
    if step.startswith("#post "):
        _post(h, step.split()[1])
        return True
    if step == "#confirm":
        s = h.client.app.state.chat.service
        confirm_payments(h.store, s.config, s.flows, s.settings)
        return True
    return False


def run_whatsapp(h: Harness, sender: str, steps: list[str]) -> list[str]:
    out: list[str] = []
    last_sms = 0
    for step in steps:
        out.append(f"> {step}")
        if not _directive(h, step):
            text = "hi" if step == "#dial" else step
            for message in h.wa(sender, text):
                out += whatsapp_lines(message)
        else:
            for message in h.deliver():
                out += whatsapp_lines(message)
        sms, last_sms = _sms_since(h, last_sms)
        out += sms
    return out


def run_ussd(h: Harness, sender: str, steps: list[str], code: str) -> list[str]:
    out: list[str] = []
    session, inputs, last_sms = 0, [], 0
    for step in steps:
        out.append(f"> {step}")
        if _directive(h, step):
            pass
        elif step in ("hi", "#dial"):
            session += 1
            inputs = []
            answer = h.ussd("+" + sender, f"ATUid_{session}", "", code)
            out += ussd_lines(answer)
            while answer.startswith("CON ") and answer.rsplit("\n", 1)[-1].startswith("98 "):
                inputs.append("98")
                out.append("> 98")
                answer = h.ussd("+" + sender, f"ATUid_{session}", "*".join(inputs), code)
                out += ussd_lines(answer)
        else:
            inputs.append(step)
            answer = h.ussd("+" + sender, f"ATUid_{session}", "*".join(inputs), code)
            out += ussd_lines(answer)
            while answer.startswith("CON ") and answer.rsplit("\n", 1)[-1].startswith("98 "):
                inputs.append("98")  # read every page, as a patient caller would
                out.append("> 98")
                answer = h.ussd("+" + sender, f"ATUid_{session}", "*".join(inputs), code)
                out += ussd_lines(answer)
        sms, last_sms = _sms_since(h, last_sms)
        out += sms
    return out


def _compare(name: str, lines: list[str], header: str) -> None:
    path = GOLDEN / name
    text = "\n".join([header, *lines]) + "\n"
    if UPDATE or not path.exists():
        path.write_text(text, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"{name} did not exist: written, check it and commit it")
    assert text == path.read_text(encoding="utf-8"), f"transcript {name} changed"


def _run(h: Harness, channel: str, lang: str, profile: str, flow: str) -> None:
    sender, steps = _script(lang, profile, flow)
    code = "*384*123#" if profile == "best" else "*384*2#"
    lines = (run_whatsapp(h, sender, steps) if channel == "whatsapp"
             else run_ussd(h, sender, steps, code))
    header = f"# {flow} ({lang}, {channel}): {profile}, from {sender}"
    _compare(f"{flow}-{lang}-{channel}.txt", lines, header)


def _sqlite_only(db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("transcripts are the same on PostgreSQL; recorded on SQLite")


@pytest.mark.parametrize("channel", ["whatsapp", "ussd"])
@pytest.mark.parametrize("lang", ["hi", "en", "mr"])
@pytest.mark.parametrize("flow", list(BEST))
def test_golden_best(db_url: str, best_chat: Harness, channel: str, lang: str,
                     flow: str) -> None:
    _sqlite_only(db_url)
    _run(best_chat, channel, lang, "best", flow)


@pytest.mark.parametrize("channel", ["whatsapp", "ussd"])
@pytest.mark.parametrize("flow", list(BREB))
def test_golden_breb(db_url: str, breb_chat: Harness, channel: str, flow: str) -> None:
    _sqlite_only(db_url)
    _run(breb_chat, channel, "bn", "breb", flow)


def test_samples_are_current_recordings() -> None:
    samples = GOLDEN.parents[2] / "samples" / "chat"
    copies = sorted(samples.glob("*.txt"))
    assert copies
    for path in copies:
        assert path.read_text(encoding="utf-8") == (GOLDEN / path.name).read_text(
            encoding="utf-8"), f"samples/chat/{path.name}: copy it again from tests/chat/golden"
