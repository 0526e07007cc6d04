"""One exception tree with stable machine-readable codes.

Every error qrpay raises on purpose is a :class:`QrpayError`.  Callers match on the
class and on :attr:`QrpayError.code`, never on the wording.  The web layer turns them
into ``{"error": {"code", "message", "field"}}`` in one place; the CLI prints
``error[code]: message`` and exits non-zero.
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
    http_status = 400


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
