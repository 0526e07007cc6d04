"""The fast path of a WhatsApp turn: the group-commit writer awaited from the event loop,
replies written already claimed and handed to the running sender (no claiming
transaction), the sender's keep-alive HTTP client; and that none of it changes what
goes out: once, in order, or after the lease when the hand-off is lost."""

from __future__ import annotations

import asyncio
import datetime as dt
import http.server
import os
import resource
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Connection, select, text

from qrpay.chat.sender import Claim, deliver_due
from qrpay.chat.whatsapp import handle_webhook_async
from qrpay.chat.wire import Client, NoAnswer
from qrpay.chat.writer import GroupWriter
from qrpay.store import Store
from qrpay.store.schema import outbox
from tests.chat.conftest import APP_SECRET, Harness, signed, wa_payload


def _rows(h: Harness) -> list[Any]:
    with h.store.connect() as conn:
        return list(conn.execute(select(outbox.c.id, outbox.c.status, outbox.c.attempts,
                                        outbox.c.provider_ref)
                                 .where(outbox.c.kind == "whatsapp").order_by(outbox.c.id)))


def _webhook(h: Harness, sender: str, body_text: str) -> tuple[Any, list[Claim]]:
    """One text message through the event-loop path, its replies handed to a list."""
    handed: list[Claim] = []
    body, headers = signed(wa_payload(sender, {"type": "text", "text": {"body": body_text}},
                                      pnid=h.pnid))
    service = h.client.app.state.chat.service  # type: ignore[attr-defined]
    result = asyncio.run(handle_webhook_async(service, body, headers["X-Hub-Signature-256"],
                                              APP_SECRET, handed.extend))
    return result, handed


def test_running_sender_is_handed_the_replies_and_sends_each_once(best_chat: Harness) -> None:
    rt = best_chat.client.app.state.chat  # type: ignore[attr-defined]
    rt.start_sender(interval=0.05)
    resp = best_chat.post(wa_payload("919812345678", {"type": "text", "text": {"body": "hi"}}))
    assert resp.status_code == 200 and resp.json()["answered"] == 1
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(r.status == "sent" for r in _rows(best_chat)):
        time.sleep(0.02)
    rows = _rows(best_chat)
    assert rows and all(r.status == "sent" and r.attempts == 1 and r.provider_ref
                        for r in rows)  # sent on the first attempt, never claimed again
    time.sleep(0.2)
    assert len(best_chat.fake.take()) == len(rows)


def test_handed_replies_are_leased_and_sent_on_the_next_pass(best_chat: Harness) -> None:
    result, handed = _webhook(best_chat, "919812345678", "hi")
    assert result.answered == 1 and handed
    assert [c.id for c in handed] == [r.id for r in _rows(best_chat)]
    assert all(r.status == "sending" and r.attempts == 1 for r in _rows(best_chat))
    assert deliver_due(best_chat.store, best_chat.transport).claimed == 0  # leased to us
    best_chat.transport.hand(handed)
    report = deliver_due(best_chat.store, best_chat.transport)
    assert report.sent == len(handed)
    assert len(best_chat.fake.take()) == len(handed)
    assert all(r.status == "sent" and r.attempts == 1 for r in _rows(best_chat))


def test_a_hand_off_too_close_to_its_lease_is_left_to_the_lease(best_chat: Harness) -> None:
    _, handed = _webhook(best_chat, "919812345678", "hi")
    until = handed[0].leased_until
    assert until is not None
    best_chat.transport.hand(handed)
    # with less than half the lease left it is not sent from memory (another sender may
    # claim the row once the lease runs out) ...
    assert best_chat.transport.take_handed(until - dt.timedelta(seconds=1)) == []
    assert best_chat.fake.take() == []
    # ... and after the lease any sender claims it from the store, once
    report = deliver_due(best_chat.store, best_chat.transport,
                         now=until + dt.timedelta(seconds=1))
    assert report.sent == len(handed)
    assert all(r.status == "sent" and r.attempts == 2 for r in _rows(best_chat))
    assert deliver_due(best_chat.store, best_chat.transport,
                       now=until + dt.timedelta(seconds=120)).claimed == 0
    assert len(best_chat.fake.take()) == len(handed)


def test_a_duplicate_delivery_hands_nothing(best_chat: Harness) -> None:
    payload = wa_payload("919812345678", {"type": "text", "text": {"body": "hi"}},
                         pnid=best_chat.pnid, msg_id="wamid.HANDOFF-DUP")
    body, headers = signed(payload)
    service = best_chat.client.app.state.chat.service  # type: ignore[attr-defined]
    handed: list[Claim] = []
    for _ in range(2):
        asyncio.run(handle_webhook_async(service, body, headers["X-Hub-Signature-256"],
                                         APP_SECRET, handed.extend))
    assert len(handed) == len(_rows(best_chat)) > 0


# --------------------------------------------------------------------- the writer

def _insert(value: str) -> Any:
    def step(conn: Connection) -> str:
        conn.execute(text("INSERT INTO chat_inbound (message_id, channel, received_at) "
                          "VALUES (:v, 'test', CURRENT_TIMESTAMP)"), {"v": value})
        return value
    return step


def _ids(store: Store) -> set[str]:
    with store.connect() as conn:
        return set(conn.execute(text("SELECT message_id FROM chat_inbound")).scalars())


def test_writer_futures_settle_after_the_commit_each_step_alone(store: Store) -> None:
    writer = GroupWriter(store)

    def boom(conn: Connection) -> None:
        _insert("w-boom")(conn)
        raise ValueError("step failed")

    async def main() -> list[Any]:
        futs = [writer.submit_async(_insert("w-1")), writer.submit_async(boom),
                writer.submit_async(_insert("w-2"))]
        return await asyncio.gather(*futs, return_exceptions=True)

    try:
        first, failed, last = asyncio.run(main())
        assert (first, last) == ("w-1", "w-2") and isinstance(failed, ValueError)
        assert _ids(store) == {"w-1", "w-2"}  # the failed step rolled back alone
    finally:
        writer.close()
    with pytest.raises(RuntimeError):
        writer.submit(_insert("w-late"))

    async def late() -> None:
        await writer.submit_async(_insert("w-late"))
    with pytest.raises(RuntimeError):
        asyncio.run(late())


# ----------------------------------------------------------------- the HTTP client

@contextmanager
def _server(close_after: bool) -> Iterator[tuple[str, list[str], list[int]]]:
    """HTTP/1.1 keep-alive; with ``close_after`` the server drops each connection after
    answering, without saying so (an idle timeout on the far side)."""
    seen: list[str] = []
    ports: list[int] = []  # the client's port of each request: one per connection

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            seen.append(self.rfile.read(int(self.headers["Content-Length"])).decode())
            ports.append(self.client_address[1])
            data = b'{"messages":[{"id":"wamid.X"}]}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.close_connection = close_after

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v21.0/1/messages", seen, ports
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("close_after", [False, True])
def test_client_keeps_the_connection_or_opens_a_new_one(close_after: bool) -> None:
    client = Client(timeout=5)
    try:
        with _server(close_after) as (url, seen, ports):
            for i in range(3):
                resp = client.post(url, {"n": i, "text": "२"})
                assert resp.status_code == 200 and resp.json()["messages"][0]["id"]
                time.sleep(0.05)  # lets a closing server's FIN arrive
            assert seen == ['{"n":0,"text":"२"}', '{"n":1,"text":"२"}', '{"n":2,"text":"२"}']
            assert len(set(ports)) == (3 if close_after else 1)
    finally:
        client.close()


def test_client_reuses_a_connection_numbered_past_1024() -> None:
    """The idle check polls (``select()`` refuses file descriptors from 1024 on, which
    would have opened a new connection for every message in a busy server)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip("cannot open 1,100 files here")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    filler = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    client = Client(timeout=5)
    try:
        with _server(False) as (url, _, ports):
            for i in range(3):
                assert client.post(url, {"n": i}).status_code == 200
            assert len(set(ports)) == 1
    finally:
        client.close()
        for fd in filler:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_client_without_an_answer_raises_no_answer() -> None:
    client = Client(timeout=2)
    with _server(False) as (url, _, _):
        pass  # the server is gone: its port refuses
    with pytest.raises(NoAnswer):
        client.post(url, {})
    with pytest.raises(NoAnswer):
        client.post("ftp://example.invalid/x", {})
    client.close()


# ------------------------------------------------------------- USSD form, USSD pages

@pytest.mark.parametrize("body", [
    b"sessionId=a&text=", b"text=1*2*3&phoneNumber=%2B8801", b"a=1&a=2",
    b"text=%E0%A5%A8+x", b"text=%ZZ&x", b"text=\xff\xfe", b"=x&&y=1", b"text=a%00b",
    b"text=a;b=c", "text=२ x".encode(), b"text=%FF"])
def test_ussd_form_fields_as_starlette_reads_them(body: bytes) -> None:
    from starlette.datastructures import Headers
    from starlette.formparsers import FormParser

    from qrpay.web.chat import _form_fields

    async def starlette_form() -> dict[str, str]:
        async def stream() -> Any:
            yield body
            yield b""
        form = await FormParser(Headers({"content-type": "application/x-www-form-urlencoded"}),
                                stream()).parse()
        return {k: str(v) for k, v in form.items()}

    assert _form_fields(body) == asyncio.run(starlette_form())


def test_ussd_pages_are_remembered_per_screen() -> None:
    from qrpay.chat.screens import Chrome, Option, Screen, ussd_pages

    ui = Chrome(choose="Choose", nav="0 Back 00 Menu", more="98 More")
    screen = Screen(text="Bill " * 60, options=(Option(1, "k", "Pay"),), nav=True)
    first = ussd_pages(screen, ui)
    assert ussd_pages(Screen(text="Bill " * 60, options=(Option(1, "k", "Pay"),), nav=True),
                      ui) is first  # an equal screen: the same pages, not counted again
    assert isinstance(first, tuple) and len(first) > 1


def test_a_failing_step_anywhere_in_a_batch_rolls_back_alone(store: Store) -> None:
    """First, middle and last of one batch (the last savepoint ends with the commit)."""
    writer = GroupWriter(store)

    def boom(value: str) -> Any:
        def step(conn: Connection) -> None:
            _insert(value)(conn)
            raise ValueError(value)
        return step

    async def main() -> list[Any]:
        # queued before the writer wakes: one batch
        futs = [writer.submit_async(s) for s in (
            boom("b-first"), _insert("b-1"), boom("b-middle"), _insert("b-2"), boom("b-last"))]
        return await asyncio.gather(*futs, return_exceptions=True)

    try:
        outcomes = asyncio.run(main())
    finally:
        writer.close()
    assert [o if isinstance(o, str) else type(o).__name__ for o in outcomes] == [
        "ValueError", "b-1", "ValueError", "b-2", "ValueError"]
    assert _ids(store) == {"b-1", "b-2"}
