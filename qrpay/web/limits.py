"""What every request must pass before a route sees it (pure ASGI, one place):

* **NUL**: a ``%00`` in the path or the query string is refused (400 ``nul_character``).
  PostgreSQL text cannot hold NUL, so it used to reach the database and answer 500.
* **Body size**: each path has a byte limit (:data:`BODY_LIMITS`, else
  :data:`DEFAULT_BODY_LIMIT`).  A ``Content-Length`` over it is refused before a byte is
  read; a body without one (chunked) is refused as soon as the bytes received pass it.
  Both answer 413 ``too_large``.  Limits are small, so multipart uploads stay in memory
  (:data:`UPLOAD_LIMIT` is also the multipart spool size): nothing is written to disk.

Header size and count, and slow clients, are the server protocol's business
(``qrpay.web.httpguard``).
"""

from __future__ import annotations

from starlette.formparsers import MultiPartParser
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qrpay.errors import TooLarge, ValidationError

KIB = 1024
SCAN_BODY_LIMIT = 8 * KIB
MAX_SCAN_PAYLOAD = 4096  # characters of a scanned payload (a QR holds at most ~4,296)
CALLBACK_BODY_LIMIT = 64 * KIB
UPLOAD_LIMIT = 8 * KIB * KIB + 64 * KIB  # a desk photo (qrpay.desk.decode.MAX_BYTES) + form
DEFAULT_BODY_LIMIT = 64 * KIB  # forms (desk login, collect, ...) and anything else
# (path prefix, limit in bytes): the first that matches wins.
BODY_LIMITS: tuple[tuple[str, int], ...] = (
    ("/api/v1/scan", SCAN_BODY_LIMIT),
    ("/api/v1/callbacks/", CALLBACK_BODY_LIMIT),
    ("/desk/scan/image", UPLOAD_LIMIT),
)

# A part of an upload within UPLOAD_LIMIT stays in memory instead of a temporary file.
MultiPartParser.spool_max_size = UPLOAD_LIMIT


def body_limit(path: str) -> int:
    for prefix, limit in BODY_LIMITS:
        if path.startswith(prefix):
            return limit
    return DEFAULT_BODY_LIMIT


def too_large(limit: int) -> TooLarge:
    return TooLarge(f"the request body is larger than {limit} bytes", code="too_large")


def has_nul(scope: Scope) -> bool:
    query: bytes = scope.get("query_string", b"")
    return "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query


MAX_TEXT_FIELD = 64 * KIB  # one text field of a form (a photo upload's file part aside)


def refuse_long_field(value: str, field: str) -> str:
    """``value`` unchanged, or ``TooLarge(too_large)`` (413) if it is over
    :data:`MAX_TEXT_FIELD` characters."""
    if len(value) > MAX_TEXT_FIELD:
        raise TooLarge(f"form field {field} is larger than {MAX_TEXT_FIELD} characters",
                       code="too_large", field=field)
    return value


def refuse_nul(value: str, field: str) -> str:
    """``value`` unchanged, or ``ValidationError(nul_character)`` if it holds a NUL."""
    if "\x00" in value:
        raise ValidationError(f"{field} contains a NUL character", code="nul_character",
                              field=field)
    return value


def _has_body(scope: Scope, declared: int | None) -> bool:
    if declared is not None:
        return declared > 0
    return any(name == b"transfer-encoding" for name, _ in scope.get("headers", []))


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class EdgeLimits:
    """Refuses NUL in the URL and oversized bodies (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if has_nul(scope):
            await self._refuse(scope, receive, send, 400, "nul_character",
                               "the address contains a NUL character")
            return
        limit = body_limit(scope.get("path", ""))
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, receive, send, 413, "too_large", str(too_large(limit)))
            return
        counter = _Counter(receive, limit, has_body=_has_body(scope, declared))
        await self.app(scope, counter.receive, counter.closing(send))

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int,
                      code: str, message: str) -> None:
        from qrpay.web.errors import error_response

        response = error_response(Request(scope, receive), status, code, message)
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


class _Counter:
    """``receive`` that raises :class:`TooLarge` once the body passes ``limit`` bytes (the
    route's error handler answers 413), and ``send`` that closes the connection after
    any answer given before the whole body arrived (413, or a route's early refusal):
    the server would otherwise go on reading, and throwing away, the rest of it."""

    def __init__(self, receive: Receive, limit: int, *, has_body: bool) -> None:
        self._receive = receive
        self.limit = limit
        self.seen = 0
        self.unread = has_body

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self.limit:
                raise too_large(self.limit)
            if not message.get("more_body", False):
                self.unread = False
        return message

    def closing(self, send: Send) -> Send:
        async def send_closing(message: Message) -> None:
            if self.unread and message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0] != b"connection"]
                message["headers"] = [*headers, (b"connection", b"close")]
            await send(message)

        return send_closing
