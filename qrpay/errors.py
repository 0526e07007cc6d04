"""One exception tree with stable machine-readable codes.

Every error qrpay raises on purpose is a :class:`QrpayError`.  Callers match on the
class and on :attr:`QrpayError.code`, never on the wording.  The web layer turns them
into ``{"error": {"code", "message", "field"}}`` in one place; the CLI prints
``error[code]: message`` and exits non-zero.

The HTTP status of an error is decided here only, by :func:`http_status`, for pages, the
API, the desk and payment callbacks alike: by class (``http_status`` below: 401 a missing
or bad credential, signature or token; 404 not found; 409 a conflict with what is stored;
422 input that is not valid, whether it cannot be read at all, is the wrong shape, or is
well formed but cannot be accepted; 413 a body, upload or field larger than accepted;
500 a broken profile or environment, or a render failure), with the few codes that differ
from their class in :data:`STATUS_BY_CODE`.
"""

from __future__ import annotations

from typing import Any


class QrpayError(Exception):
    """Root of every error qrpay raises on purpose."""

    code = "error"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None,
                 **data: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field
        self.data = data

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        return out

    def __str__(self) -> str:
        return self.message


class ValidationError(QrpayError, ValueError):
    """An identifier, amount or field is not valid."""

    code = "invalid"
    http_status = 422


class ConfigError(QrpayError):
    """The utility profile (TOML) or the environment is wrong."""

    code = "bad_config"
    http_status = 500


class ImportError_(QrpayError):
    """A bill file could not be imported.  Carries file, row and column."""

    code = "import_failed"

    def __init__(self, message: str, *, code: str | None = None, file: str = "",
                 row: int | None = None, column: str | None = None) -> None:
        super().__init__(message, code=code, field=column)
        self.file = file
        self.row = row
        self.column = column

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f":{self.row}"
        if self.column:
            where += f" [{self.column}]"
        return f"{where}: {self.message}" if where else self.message


class PayloadError(QrpayError, ValueError):
    """A payment-QR payload (UPI URI, EMV TLV) cannot be built or parsed."""

    code = "bad_payload"
    http_status = 422


class RenderError(QrpayError):
    """A bill could not be rendered (font, glyph, layout, QR verification)."""

    code = "render_failed"
    http_status = 500


class PaymentError(QrpayError):
    """A payment or callback cannot be accepted."""

    code = "payment_rejected"
    http_status = 422


class NotFound(QrpayError):
    """A bill, receipt or record does not exist."""

    code = "not_found"
    http_status = 404


class Conflict(QrpayError):
    """The request contradicts what is already stored."""

    code = "conflict"
    http_status = 409


class AuthError(QrpayError):
    """Missing or wrong credentials, signature or token."""

    code = "unauthorized"
    http_status = 401


class TooLarge(QrpayError):
    """A request body, upload or field is larger than the route accepts."""

    code = "too_large"
    http_status = 413


#: Codes whose HTTP status is not their class's.
STATUS_BY_CODE: dict[str, int] = {
    "forbidden": 403,  # AuthError: logged in, but the role is too low
    "csrf_failed": 403,  # AuthError: a form without its session's token
}


def http_status(exc: QrpayError) -> int:
    """The HTTP status that answers ``exc`` (the one rule; see the module docstring)."""
    return STATUS_BY_CODE.get(exc.code, exc.http_status)
