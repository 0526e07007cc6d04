"""The HTTP server's own defences against slow and oversized requests.

uvicorn (httptools) buffers a request head of any size (a 64 MB header was read into
memory) and has no timer while a client is still sending its head: a connection that
never finishes its headers stays open for ever.  :class:`GuardedHttpToolsProtocol`
adds, per connection:

* ``header_timeout``: the whole request head (request line and headers) must arrive
  within this many seconds of the connection opening or of the request's first byte;
* ``read_timeout``: while a request body is being received, at most this many seconds
  between two pieces of it;
* ``max_head_bytes`` / ``max_headers``: a longer head or more header lines is refused
  with 431 and the connection closed, before it is buffered;
* ``max_connections``: connections beyond it are closed at once (uvicorn's
  ``limit_concurrency`` answers 503 to requests beyond its own limit).

``qrpay serve`` turns its options into an :class:`HttpLimits` (``ServeOptions.limits``)
and hands it to every worker through ``$QRPAY_HTTP_LIMITS`` (workers may be forked or
spawned).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
from dataclasses import dataclass
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

ENV = "QRPAY_HTTP_LIMITS"
PROTOCOL = "qrpay.web.httpguard:GuardedHttpToolsProtocol"
REFUSALS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large",
            503: b"Service Unavailable"}


@dataclass(frozen=True)
class HttpLimits:
    header_timeout: float = 10.0
    read_timeout: float = 30.0
    keep_alive_timeout: float = 5.0
    max_head_bytes: int = 16 * 1024
    max_headers: int = 100
    max_connections: int = 2048
    limit_concurrency: int = 1000

    def to_env(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_env(cls, value: str | None) -> HttpLimits:
        return cls(**json.loads(value)) if value else cls()

    def uvicorn_options(self) -> dict[str, Any]:
        return {"http": PROTOCOL, "timeout_keep_alive": self.keep_alive_timeout,
                "limit_concurrency": self.limit_concurrency,
                "h11_max_incomplete_event_size": self.max_head_bytes}


@cache
def _limits(value: str | None) -> HttpLimits:
    return HttpLimits.from_env(value)


def current_limits() -> HttpLimits:
    return _limits(os.environ.get(ENV))


class _Refused(Exception):
    """Raised inside a parser callback to stop parsing; carries the HTTP status."""

    def __init__(self, status: int) -> None:
        self.status = status


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits of :func:`current_limits`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = current_limits()
        self._timer: asyncio.TimerHandle | None = None
        self._in_head = True
        self._head_bytes = 0  # raw bytes received while the head is incomplete
        self._parsed_bytes = 0  # request line and header lines parsed so far
        self._header_count = 0
        self._refusal: int | None = None

    # -- timers
    def _arm(self, seconds: float, *, restart: bool) -> None:
        if self._timer is not None and not restart:
            return
        self._disarm()
        self._timer = self.loop.call_later(seconds, self._timed_out)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        if not self.transport.is_closing():
            self._refuse(408)

    def _refuse(self, status: int) -> None:
        reason = REFUSALS[status]
        self.transport.write(b"HTTP/1.1 %d %s\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                             % (status, reason))
        self.transport.close()

    # -- connection
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self._refuse(503)
            return
        self._arm(self.limits.header_timeout, restart=True)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return
        in_head = self._in_head
        super().data_received(data)
        if in_head and self._in_head and not self.transport.is_closing():
            self._head_bytes += len(data)  # the head is still incomplete: all of it is head
            if self._head_bytes > self.limits.max_head_bytes:
                self._refuse(431)

    def send_400_response(self, msg: str) -> None:
        if self._refusal is not None:
            self._refuse(self._refusal)
            return
        super().send_400_response(msg)

    # -- parser callbacks
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = self._parsed_bytes = self._header_count = 0
        self._arm(self.limits.header_timeout, restart=False)

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self.limits.max_headers:
            self._stop(431)
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm()
        super().on_headers_complete()
        if self.cycle is not None and self.cycle.more_body:
            self._arm(self.limits.read_timeout, restart=True)

    def on_body(self, body: bytes) -> None:
        if self._timer is not None:
            self._arm(self.limits.read_timeout, restart=True)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _count(self, n: int) -> None:
        self._parsed_bytes += n
        if self._parsed_bytes > self.limits.max_head_bytes:
            self._stop(431)

    def _stop(self, status: int) -> None:
        self._refusal = status
        raise _Refused(status)
