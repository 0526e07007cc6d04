"""Field helpers the dialects share: required fields, amounts, times, Basic auth."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Mapping
from typing import Any

from qrpay.clock import zone
from qrpay.config import Biller
from qrpay.digits import to_ascii
from qrpay.errors import ValidationError
from qrpay.money import parse_amount


def text(fields: Mapping[str, Any], name: str) -> str | None:
    """A field's text, stripped; None when absent or empty.  A control character (NUL
    above all: PostgreSQL text cannot hold it) makes the field invalid, not stored."""
    value = fields.get(name)
    if value is None:
        return None
    value = str(value).strip()
    if any(ch < " " or ch == "\x7f" for ch in value):
        raise ValidationError(f"{name} holds a control character", code="invalid_field",
                              field=name)
    return value or None


def required(fields: Mapping[str, Any], name: str) -> str:
    value = text(fields, name)
    if value is None:
        raise ValidationError(f"{name} is required", code="missing_field", field=name)
    return value


def amount(value: str, name: str) -> int:
    """A decimal amount string to minor units (more than zero)."""
    minor = parse_amount(value, field=name, allow_negative=False)
    if minor <= 0:
        raise ValidationError(f"{name} must be more than zero", code="invalid_field",
                              field=name)
    return minor


def month_mmyyyy(value: str, name: str) -> str:
    """``MMYYYY`` (bKash ``BillMonth``) to a period ``YYYY-MM``."""
    v = to_ascii(value).strip()
    if len(v) != 6 or not v.isdigit() or not 1 <= int(v[:2]) <= 12:
        raise ValidationError(f"{name} must be MMYYYY", code="invalid_field", field=name)
    return f"{v[2:]}-{v[:2]}"


_TIME_FORMATS = ("%Y%m%d%H%M%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


def parse_time(biller: Biller, value: str | None, name: str) -> dt.datetime | None:
    """A channel's timestamp (local time of the biller unless it carries an offset)."""
    if value is None:
        return None
    v = to_ascii(value).strip()
    try:
        parsed = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
        for fmt in _TIME_FORMATS:
            try:
                parsed = dt.datetime.strptime(v, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        raise ValidationError(f"{name} {value!r} is not a time", code="invalid_field",
                              field=name)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone(biller.timezone))
    return parsed.astimezone(dt.UTC)


def basic_auth(headers: Mapping[str, str]) -> tuple[str | None, str | None]:
    """User name and password of an ``Authorization: Basic`` header, or (None, None)."""
    header = headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token:
        return None, None
    try:
        user, sep, password = base64.b64decode(token.strip(), validate=True).decode().partition(
            ":")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    return (user, password) if sep else (None, None)
