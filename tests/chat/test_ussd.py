"""USSD: Africa's Talking contract, bdapps-style async adapter, screen limits, back and
main keys, duplicate session starts, resuming a session lost to a timeout
(channels.md §5 items 15, 20-24)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from qrpay.chat.screens import Chrome, Option, Screen, fits_ussd, ussd_pages, ussd_units
from qrpay.chat.sender import deliver_due
from qrpay.store.schema import chat_sessions
from tests.chat.conftest import Harness

PHONE = "+919177777868"


def test_answers_start_with_con_or_end(best_chat: Harness) -> None:
    first = best_chat.ussd(PHONE, "S1", "")
    assert first.startswith("CON ") and not first.startswith("CON  ")
    assert best_chat.ussd(PHONE, "S1", "98*6").startswith("END ")  # help


def test_duplicate_session_start_is_tolerated(best_chat: Harness) -> None:
    first = best_chat.ussd(PHONE, "S1", "")
    assert best_chat.ussd(PHONE, "S1", "") == first
    after = best_chat.ussd(PHONE, "S1", "1")
    assert best_chat.ussd(PHONE, "S1", "1") == after  # a gateway retry: no second step
    assert "1." in best_chat.ussd(PHONE, "S1", "1*1")  # area menu


def test_star_typed_inside_an_input_does_not_shift_later_inputs(best_chat: Harness) -> None:
    best_chat.ussd(PHONE, "S1", "")
    best_chat.ussd(PHONE, "S1", "3")  # complaint
    best_chat.ussd(PHONE, "S1", "3*1")  # no supply
    done = best_chat.ussd(PHONE, "S1", "3*1*pole 12*3 down")  # text with a '*'
    assert done.startswith("END ") and "000001" in done


def test_back_and_main(best_chat: Harness) -> None:
    best_chat.ussd(PHONE, "S1", "")
    area = best_chat.ussd(PHONE, "S1", "1*1")
    ask = best_chat.ussd(PHONE, "S1", "1*1*1")
    assert ask != area
    assert best_chat.ussd(PHONE, "S1", "1*1*1*0") == area
    main = best_chat.ussd(PHONE, "S1", "1*1*1*0*00")
    assert main == best_chat.ussd(PHONE, "S2", "")  # a new session shows the main menu too


def test_resume_within_ten_minutes(best_chat: Harness) -> None:
    best_chat.ussd(PHONE, "S1", "")
    ask = best_chat.ussd(PHONE, "S1", "1*1*1")  # asking for the consumer number
    # the gateway drops the session; the same number dials again
    prompt = best_chat.ussd(PHONE, "S2", "")
    assert prompt.startswith("CON ") and "1. जारी रखें" in prompt
    assert best_chat.ussd(PHONE, "S2", "1") == ask
    assert "B2611100000000" in best_chat.ussd(PHONE, "S2", "1*100000000")


def test_resume_after_the_session_expired_within_ten_minutes(best_chat: Harness) -> None:
    best_chat.ussd(PHONE, "S1", "")
    best_chat.ussd(PHONE, "S1", "1*1*1*100000000")  # the bill is shown
    then = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=7)
    with best_chat.store.begin() as conn:  # session_minutes.ussd = 3 long passed
        conn.execute(update(chat_sessions).values(updated_at=then, expires_at=then))
    prompt = best_chat.ussd(PHONE, "S2", "")
    assert "1. जारी रखें" in prompt and "2. फिर से शुरू" in prompt
    bill = best_chat.ussd(PHONE, "S2", "1")
    assert "B2611100000000" in bill
    assert best_chat.ussd(PHONE, "S2", "1*98*1").startswith("CON यूपीआई आईडी")


def test_start_again_instead_of_resuming(best_chat: Harness) -> None:
    best_chat.ussd(PHONE, "S1", "")
    best_chat.ussd(PHONE, "S1", "1*1*1")
    best_chat.ussd(PHONE, "S2", "")
    assert best_chat.ussd(PHONE, "S2", "2") == best_chat.ussd(PHONE, "S3", "")


def test_no_resume_after_ten_minutes(best_chat: Harness) -> None:
    best_chat.ussd(PHONE, "S1", "")
    best_chat.ussd(PHONE, "S1", "1*1*1")
    with best_chat.store.begin() as conn:
        conn.execute(update(chat_sessions).values(
            updated_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=11)))
    fresh = best_chat.ussd(PHONE, "S2", "")
    assert "जारी रखें" not in fresh and "1. बिल भुगतान" in fresh


def test_bdapps_async_answers_go_to_the_gateway(breb_chat: Harness) -> None:
    def send(op: str, message: str) -> None:
        resp = breb_chat.client.post("/api/v1/chat/ussd/bdapps", json={
            "applicationId": "APP_000001", "sessionId": "B1", "ussdOperation": op,
            "sourceAddress": "tel:8801717784483", "message": message, "serviceCode": "*384*2#",
            "version": "1.0", "encoding": "440"})
        assert resp.status_code == 200 and resp.json()["statusCode"] == "S1000"
        deliver_due(breb_chat.store, breb_chat.transport)

    send("mo-init", "*384*2#")
    send("mo-cont", "1")
    send("mo-cont", "1")
    send("mo-cont", "104231245")
    got = breb_chat.fake.ussd
    assert [g["ussdOperation"] for g in got] == ["mt-cont"] * 4
    assert {g["destinationAddress"] for g in got} == {"tel:8801717784483"}
    assert {g["password"] for g in got} == {"test-bdapps-password"}
    assert "2611104231245" in got[-1]["message"]
    assert all(fits_ussd(g["message"]) for g in got)


UI = Chrome(choose="Choose", nav="0 Back 00 Menu", more="98 More")


@pytest.mark.parametrize("text", ["A" * 500, "अ" * 300, "Bill\n" * 80,
                                  "Tk " + "€" * 120, "বিল " * 60])
def test_every_page_fits(text: str) -> None:
    screen = Screen(text=text, options=tuple(Option(i, f"k{i}", f"Option {i}")
                                             for i in range(1, 8)), nav=True)
    pages = ussd_pages(screen, UI)
    assert all(fits_ussd(p) for p in pages)
    assert all(p.endswith("98 More") for p in pages[:-1])
    assert pages[-1].endswith("0 Back 00 Menu")


def test_limits_are_182_gsm7_and_80_ucs2() -> None:
    assert ussd_units("a" * 182) == (182, 182)
    assert ussd_units("€" * 91) == (182, 182)  # extension characters take two septets
    assert ussd_units("ब" * 80) == (80, 80)
    assert not fits_ussd("a" * 181 + "₹")  # one rupee sign makes it UCS-2
