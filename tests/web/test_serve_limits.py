"""A real ``qrpay serve`` against slow and oversized clients: connections that never
finish their headers are closed, a 64 MB header is refused before it is buffered, a
200 MB upload is refused after a small limit, and the server keeps serving."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from .conftest import ROOT

PROFILE = ROOT / "samples" / "best.toml"
MB = 1024 * 1024
pytestmark = pytest.mark.slow


def connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setblocking(False)
    return s


def closed_by_server(s: socket.socket) -> bool:
    try:
        return s.recv(4096, socket.MSG_PEEK) == b"" or _drain(s)
    except BlockingIOError:
        return False
    except OSError:  # reset
        return True


def _drain(s: socket.socket) -> bool:
    """A response was written (e.g. 408): read it; closed once EOF follows."""
    try:
        while chunk := s.recv(65536):
            del chunk
    except BlockingIOError:
        return False
    except OSError:
        return True
    return True


def test_1200_connections_that_never_finish_their_headers_are_closed(
        db_url: str, store: Any, serve: Callable[..., Any]) -> None:
    server = serve(PROFILE, db_url, args=["--header-timeout", "2"])
    socks = []
    try:
        for _ in range(1200):
            s = connect(server.port)
            with contextlib.suppress(BlockingIOError):
                s.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            socks.append(s)
        open_ = list(socks)
        deadline = time.monotonic() + 60
        while open_ and time.monotonic() < deadline:
            open_ = [s for s in open_ if not closed_by_server(s)]
            time.sleep(0.2)
        assert open_ == [], f"{len(open_)} of 1200 half-header connections still open"
    finally:
        for s in socks:
            s.close()
    assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200


def test_a_slowly_dribbled_head_is_closed_too(db_url: str, store: Any,
                                              serve: Callable[..., Any]) -> None:
    """Bytes arriving now and then do not extend the head's time."""
    server = serve(PROFILE, db_url, args=["--header-timeout", "2"])
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\n")
        deadline = time.monotonic() + 30
        closed = False
        while time.monotonic() < deadline and not closed:
            try:
                s.sendall(b"X-A: b\r\n")
                s.settimeout(0.5)
                closed = s.recv(4096).startswith(b"HTTP/1.1 408") or True
            except TimeoutError:
                continue
            except OSError:
                closed = True
        assert closed
    finally:
        s.close()


def send_until_refused(port: int, head: bytes, total: int, chunk: bytes) -> tuple[int, bytes]:
    """Send ``head`` then ``chunk`` repeatedly up to ``total`` bytes; return the bytes
    sent before the server stopped taking them, and what it answered."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    sent = 0
    answer = b""
    try:
        s.sendall(head)
        s.settimeout(5)
        while sent < total:
            try:
                s.sendall(chunk)
            except TimeoutError:
                break  # the server stopped reading
            except OSError:
                break  # the server closed the connection
            sent += len(chunk)
        with contextlib.suppress(OSError):
            s.settimeout(5)
            answer = s.recv(4096)
    finally:
        s.close()
    return sent, answer


def test_a_64_mb_header_is_refused_before_it_is_buffered(db_url: str, store: Any,
                                                         serve: Callable[..., Any]) -> None:
    server = serve(PROFILE, db_url)
    sent, answer = send_until_refused(
        server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ", 64 * MB,
        b"a" * (64 * 1024))
    assert sent < 16 * MB, "the server read the whole 64 MB header"
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431")
    assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200


def test_too_many_header_lines_are_refused_431(db_url: str, store: Any,
                                               serve: Callable[..., Any]) -> None:
    server = serve(PROFILE, db_url)
    headers = {f"X-H{i}": "1" for i in range(150)}
    r = httpx.get(server.url + "/healthz", headers=headers, timeout=10)
    assert r.status_code == 431


def test_a_200_mb_anonymous_login_upload_is_refused_413_after_a_small_limit(
        db_url: str, store: Any, serve: Callable[..., Any]) -> None:
    server = serve(PROFILE, db_url)
    head = (b"POST /desk/login HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: multipart/form-data; boundary=X\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    part = b'--X\r\nContent-Disposition: form-data; name="username"\r\n\r\n'
    piece = b"a" * (64 * 1024)
    chunk = b"%x\r\n%s\r\n" % (len(piece), piece)
    sent, answer = send_until_refused(
        server.port, head + b"%x\r\n%s\r\n" % (len(part), part), 200 * MB, chunk)
    assert sent < 16 * MB, "the server read the whole 200 MB body"
    assert answer.startswith(b"HTTP/1.1 413")
    # with its length declared, refused before a byte of the body is read
    sent, answer = send_until_refused(
        server.port, head.replace(b"Transfer-Encoding: chunked",
                                  b"Content-Length: %d" % (200 * MB)), 200 * MB, piece)
    assert sent < 16 * MB and answer.startswith(b"HTTP/1.1 413")
    assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200


def test_an_early_refusal_does_not_read_the_rest_of_the_body(
        db_url: str, store: Any, serve: Callable[..., Any]) -> None:
    """Not multipart at all: refused 400 at once, and the connection closed."""
    server = serve(PROFILE, db_url)
    head = (b"POST /desk/login HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: multipart/form-data; boundary=X\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    piece = b"a" * (64 * 1024)
    sent, answer = send_until_refused(server.port, head, 200 * MB,
                                      b"%x\r\n%s\r\n" % (len(piece), piece))
    assert sent < 16 * MB and answer.startswith(b"HTTP/1.1 4")
