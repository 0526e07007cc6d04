"""A lean HTTP/1.1 client for the chat sender: persistent connections, JSON POSTs.

The chat sender posts one small JSON body per WhatsApp message (and per bdapps answer).
Through ``httpx`` each POST cost about 0.3 ms of CPU on the benchmark (request and URL
models, header normalising, the connection pool's locks and events), a fifth of a
webhook's whole budget; the standard library's :mod:`http.client` on a connection kept per
sending thread does the same for a fraction of that.

- One keep-alive connection per thread and origin (``scheme://host:port``): the sender's
  threads never share a socket, so no pool and no locks.
- Before reusing an idle connection it is polled: readable means the server closed it (or
  sent something unasked), and a new one is opened, so a POST is never written to a
  socket the server already let go of.  A connection that fails mid-request is dropped.
- Every failure to get an answer (refused, reset, timed out, a malformed answer) is a
  :class:`NoAnswer`; whether the message may have arrived is the caller's question (the
  sender retries with backoff, as it did with ``httpx.HTTPError``).
- ``https`` uses the default TLS context (certificates and host names verified).
"""

from __future__ import annotations

import functools
import http.client
import json
import select
import socket
import ssl
import threading
import urllib.parse
from dataclasses import dataclass
from typing import Any

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


class NoAnswer(Exception):  # noqa: N818 - what it means, not how it failed
    """The request got no HTTP answer."""


@dataclass(frozen=True)
class Response:
    status_code: int
    headers: dict[str, str]  # lower-case names
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


@functools.lru_cache(maxsize=64)
def _origin(url: str) -> tuple[str, str, int, str]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NoAnswer(f"not an http(s) URL: {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port, path


def _closed_by_peer(conn: http.client.HTTPConnection) -> bool:
    """An idle keep-alive socket that polls readable was closed (or written to) by the
    server: not safe to send on."""
    sock = conn.sock
    if sock is None:
        return True
    try:  # poll, not select: a server process's sockets can be numbered past 1024
        poller = select.poll()
        poller.register(sock, select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


class Client:
    """Keep-alive connections, one per thread and origin."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self._local = threading.local()
        self._all: set[http.client.HTTPConnection] = set()
        self._guard = threading.Lock()
        self._tls: ssl.SSLContext | None = None

    def _connections(self) -> dict[tuple[str, str, int], http.client.HTTPConnection]:
        conns: dict[tuple[str, str, int], http.client.HTTPConnection] | None = getattr(
            self._local, "conns", None)
        if conns is None:
            conns = self._local.conns = {}
        return conns

    def _connection(self, scheme: str, host: str, port: int) -> http.client.HTTPConnection:
        conns = self._connections()
        key = (scheme, host, port)
        conn = conns.get(key)
        if conn is not None and _closed_by_peer(conn):
            conn.close()
            conn = None
        if conn is None:
            if scheme == "https":
                if self._tls is None:
                    self._tls = ssl.create_default_context()
                conn = http.client.HTTPSConnection(host, port, timeout=self.timeout,
                                                   context=self._tls)
            else:
                conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
            conn.connect()
            if conn.sock is not None:
                conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conns[key] = conn
            with self._guard:
                self._all.add(conn)
        return conn

    def _drop(self, scheme: str, host: str, port: int) -> None:
        conn = self._connections().pop((scheme, host, port), None)
        if conn is not None:
            conn.close()
            with self._guard:
                self._all.discard(conn)

    def post(self, url: str, payload: Any, headers: dict[str, str] | None = None
             ) -> Response:
        """POST ``payload`` as JSON (compact, UTF-8) to ``url``; the whole answer."""
        scheme, host, port, path = _origin(url)
        body = _ENCODER.encode(payload).encode("utf-8")
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        try:
            conn = self._connection(scheme, host, port)
            conn.request("POST", path, body=body, headers=hdrs)
            resp = conn.getresponse()
            content = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            self._drop(scheme, host, port)
            raise NoAnswer(f"{type(exc).__name__}: {exc}") from exc
        if resp.will_close:
            self._drop(scheme, host, port)
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, content)

    def close(self) -> None:
        with self._guard:
            conns, self._all = self._all, set()
        for conn in conns:
            conn.close()
