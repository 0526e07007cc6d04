"""A local HTTP server answering JSON from queued answers, for the status APIs qrpay asks.

A subclass says how a request maps to a key (:meth:`JsonFake.key`), whether it carries
the protocol's auth (:meth:`JsonFake.authorised`) and what the provider answers when it
does not, or when nothing is queued for the key.  Answers are queued per key, the last
one repeating; requests are counted per key; ``delay`` makes the provider slow.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, dict[str, Any]]


class JsonFake:
    refused: Answer = (401, {"error": "auth"})
    missing: Answer = (404, {"error": "not found"})

    def __init__(self, delay: float = 0.0) -> None:
        self.answers: dict[str, list[Answer]] = {}
        self.hits: dict[str, int] = {}
        self.bad = 0
        self.delay = delay
        self.lock = threading.Lock()

    def key(self, path: str) -> str:
        return path

    def authorised(self, path: str, headers: Any) -> bool:
        return True

    def answer(self, path: str, headers: Any) -> Answer:
        """Count the request and take its answer (a refused one takes nothing)."""
        key = self.key(path)
        with self.lock:
            self.hits[key] = self.hits.get(key, 0) + 1
            if not self.authorised(path, headers):
                self.bad += 1
                return self.refused
            queue = self.answers.get(key) or [self.missing]
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                status, body = fake.answer(self.path, self.headers)
                if fake.delay:
                    time.sleep(fake.delay)
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    @contextmanager
    def serve(self, prefix: str = "") -> Iterator[str]:
        """Serve on a free loopback port; yields the base URL (with ``prefix``)."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}{prefix}"
        finally:
            server.shutdown()
            server.server_close()


class GsmaProvider(JsonFake):
    """A mobile money provider's GSMA v1.2 ``GET /transactions/{ref}``, keyed by the
    reference; auth is Basic ``auth`` with an ``X-Date`` header (None: not checked)."""

    PREFIX = "/mm/v1.2"
    refused = (401, {"errorCategory": "authorisation", "errorCode": "clientAuthorisationError"})
    missing = (404, {"errorCategory": "identification", "errorCode": "genericError"})

    def __init__(self, auth: str | None = None, delay: float = 0.0) -> None:
        super().__init__(delay)
        self.auth = auth

    def key(self, path: str) -> str:
        return path.removeprefix(self.PREFIX + "/transactions/")

    def authorised(self, path: str, headers: Any) -> bool:
        return self.auth is None or (path.startswith(self.PREFIX + "/transactions/")
                                     and headers.get("Authorization") == self.auth
                                     and bool(headers.get("X-Date")))
