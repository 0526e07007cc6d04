"""A fake SMS provider on loopback speaking MSG91's flow API and SSL Wireless's v3 API."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

MSG91_OK = (200, {"type": "success", "message": "3661726b4d6f313233343536"})
SSL_OK = (200, {"status": "SUCCESS", "status_code": 200, "error_message": "",
                "smsinfo": [{"sms_status": "SUCCESS", "status_message": "Success",
                             "reference_id": "ssl-ref-1"}]})

SSL_DUPLICATE = (200, {"status": "FAILED", "status_code": 4025,
                       "error_message": "Duplicate csms_id"})


class FakeProvider:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[tuple[int, Any]] = []  # responses to give first, in order
        self.delay = 0.0  # seconds each answer takes (a slow provider)
        self.delivered = 0  # SMS the provider accepted for delivery
        self.csms_ids: set[Any] = set()
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with fake.lock:
                    fake.requests.append({"path": self.path, "headers": dict(self.headers),
                                          "json": json.loads(raw)})
                    status, body = (fake.script.pop(0) if fake.script
                                    else fake._ok(self.path, json.loads(raw)))
                time.sleep(fake.delay)
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a provider slower than its timeout)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def _ok(self, path: str, data: Any) -> tuple[int, Any]:
        if path == "/api/v5/flow/":
            self.delivered += 1
            return MSG91_OK
        if path == "/api/v3/send-sms":
            # like SSL Wireless: a csms_id it already has is refused, not delivered again
            if data.get("csms_id") in self.csms_ids:
                return SSL_DUPLICATE
            self.csms_ids.add(data.get("csms_id"))
            self.delivered += 1
            return SSL_OK
        return 404, {"error": "no such endpoint"}


@pytest.fixture
def fake_provider() -> Iterator[FakeProvider]:
    fake = FakeProvider()
    thread = threading.Thread(target=fake.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()
