"""Small helpers shared by the adapters."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from qrpay.errors import PaymentError, ValidationError


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


def text(value: Any, field: str) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ValidationError(f"{field} must be a string", code="bad_field", field=field)
    return str(value)


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
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return dt.datetime.fromtimestamp(value, dt.UTC)
    return None


def lower_headers(headers: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}
