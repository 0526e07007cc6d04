"""The value that every payload parser returns to explain a field."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldInfo:
    """One field of a payload: where it is, what it holds and what it means.

    ``key`` is the UPI parameter name or the EMV tag path (``"62.01"``); ``name`` is the
    field's name in its specification; ``note`` says how qrpay reads the value.
    """

    key: str
    name: str
    value: str
    note: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"key": self.key, "name": self.name, "value": self.value, "note": self.note}
