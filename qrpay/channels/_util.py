"""Small helpers shared by the channel modules."""

from __future__ import annotations

import datetime as dt
import hmac
import json
import re
from decimal import Decimal
from typing import Any

from qrpay.errors import PaymentError, ValidationError

_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_UNIX = 253402300799  # 9999-12-31T23:59:59Z: beyond it fromtimestamp overflows


def load_json(body: bytes | str, *, what: str = "body") -> dict[str, Any]:
    """JSON object with non-integer numbers as Decimal (never float)."""
    try:
        data = json.loads(body, parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"{what} is not valid JSON: {exc}", code="bad_json",
                              field=what) from None
    if not isinstance(data, dict):
        raise ValidationError(f"{what} must be a JSON object", code="bad_json", field=what)
    return data


def need(data: dict[str, Any], key: str, *, prefix: str = "") -> Any:
    value = data.get(key)
    if value is None or value == "":
        raise ValidationError(f"missing field {prefix}{key}", code="missing_field",
                              field=prefix + key)
    return value


def obj(value: Any, field: str) -> dict[str, Any]:
    """``value`` must be a JSON object (a PSP's nested ``data``/``payload``...)."""
    if not isinstance(value, dict):
        raise ValidationError(f"{field} must be a JSON object", code="bad_field", field=field)
    return value


def text(value: Any, field: str) -> str:
    """A string (or integer) field.  NUL and lone surrogates, which no database column
    takes, are refused here as ``bad_field`` rather than failing the insert later."""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ValidationError(f"{field} must be a string", code="bad_field", field=field)
    value = str(value)
    if "\x00" in value or _SURROGATE.search(value):
        raise ValidationError(f"{field} has characters that cannot be stored",
                              code="bad_field", field=field)
    return value


def opt_text(value: Any, field: str, max_len: int) -> str | None:
    """An optional string field cut to its column's length; empty -> None."""
    if value is None or value == "":
        return None
    return text(value, field)[:max_len] or None


def same_secret(expected: str, given: str) -> bool:
    """Constant-time comparison of a computed hex digest with what the sender gave.

    Bytes, not str: ``hmac.compare_digest`` raises TypeError on non-ASCII str, and a
    header is whatever the sender put there."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def minor_units(value: Any, field: str) -> int:
    """An integer amount in paise (PSP formats): reject floats, decimals and bools."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field} must be an integer number of paise",
                              code="invalid_amount", field=field)
    if value <= 0:
        raise PaymentError(f"{field} must be more than zero", code="non_positive_amount",
                           field=field)
    return value


def from_unix(value: Any) -> dt.datetime | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < MAX_UNIX:
        return dt.datetime.fromtimestamp(value, dt.UTC)
    return None
