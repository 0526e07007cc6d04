"""A local fake of the WhatsApp Graph API (``POST /{phone_number_id}/messages``) and of a
bdapps USSD send URL, speaking their protocol over real HTTP on a random loopback port.

It checks what it receives the way Meta documents it (bearer token, ``messaging_product``,
``to``, one known ``type``; reply buttons at most 3 with unique titles of at most 20
characters; lists at most 10 rows with titles of at most 24 and descriptions of at most
72; bodies at most 1024 in interactive messages and 4096 in text) and answers 400 with a
Graph error otherwise.  ``fail_next`` makes the next answers 429 or 5xx; ``window_closed``
makes text messages to a number fail with error 131047.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "test-graph-token"


def problems(payload: dict[str, Any]) -> list[str]:
    out = []
    if payload.get("messaging_product") != "whatsapp" or not payload.get("to"):
        out.append("messaging_product/to missing")
    kind = payload.get("type")
    if kind == "text":
        if len(payload["text"]["body"]) > 4096:
            out.append("text body over 4096")
    elif kind == "interactive":
        inter = payload["interactive"]
        if len(inter["body"]["text"]) > 1024:
            out.append("interactive body over 1024")
        if inter["type"] == "button":
            buttons = inter["action"]["buttons"]
            titles = [b["reply"]["title"] for b in buttons]
            if len(buttons) > 3 or len(set(titles)) != len(titles) \
                    or any(len(t) > 20 for t in titles):
                out.append(f"bad buttons {titles}")
        elif inter["type"] == "list":
            rows = [r for s in inter["action"]["sections"] for r in s["rows"]]
            if len(rows) > 10 or len(inter["action"]["button"]) > 20:
                out.append("list over 10 rows or button over 20")
            for r in rows:
                if len(r["title"]) > 24 or len(r.get("description", "")) > 72 \
                        or len(r["id"]) > 200:
                    out.append(f"bad row {r}")
        else:
            out.append(f"unknown interactive {inter['type']}")
    elif kind == "document":
        if not payload["document"].get("link", "").startswith("http"):
            out.append("document without a link")
    elif kind == "template":
        t = payload["template"]
        if not t.get("name") or not t.get("language", {}).get("code"):
            out.append("template without name/language")
    else:
        out.append(f"unknown type {kind}")
    return out


@dataclass
class FakeGraph:
    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    ussd: list[dict[str, Any]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)
    window_closed: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def take(self) -> list[dict[str, Any]]:
        with self.lock:
            got, self.received[:] = list(self.received), []
            return got

    def answer(self, path: str, headers: Any, payload: dict[str, Any]) -> tuple[int, dict]:
        with self.lock:
            if self.fail_next:
                status = self.fail_next.pop(0)
                return status, {"error": {"code": 130429 if status == 429 else 1,
                                          "message": "try later"}}
            if path.endswith("/ussd/send"):
                self.ussd.append(payload)
                return 200, {"statusCode": "S1000"}
            if headers.get("Authorization") != f"Bearer {TOKEN}":
                return 401, {"error": {"code": 190, "message": "bad token"}}
            found = problems(payload)
            if found:
                return 400, {"error": {"code": 100, "message": "; ".join(found)}}
            if payload["type"] != "template" and payload["to"] in self.window_closed:
                return 400, {"error": {"code": 131047, "message": "Re-engagement message"}}
            self.received.append(payload)
            self.paths.append(path)
            return 200, {"messaging_product": "whatsapp",
                         "contacts": [{"input": payload["to"], "wa_id": payload["to"]}],
                         "messages": [{"id": f"wamid.OUT{next(self.ids)}"}]}


@contextmanager
def serve_fake_graph() -> Iterator[FakeGraph]:
    fake = FakeGraph()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length", 0))
            payload = json.loads(self.rfile.read(length) or b"{}")
            status, body = fake.answer(self.path, self.headers, payload)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if status == 429:
                self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
