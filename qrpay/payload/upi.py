"""UPI intent URIs: ``upi://pay?pa=...&pn=...``.

Parameters follow NPCI's *UPI Linking Specifications* v1.6 ("Common URL Specifications for
Deep Linking and Proximity Integration"); unknown acquirer parameters (``ver``,
``qrMedium``...) pass through.  :func:`build` is strict and writes the canonical form that
qrpay prints: values percent-encoded with ``%20`` for spaces (never ``+``), the ``@`` of the
VPA never encoded, amounts with exactly two decimals.  :func:`parse` accepts what apps and
acquirers publish (``am=10``, the spec's own ``mam=null``) but rejects anything malformed
with a :class:`~qrpay.errors.PayloadError` whose ``code`` says what is wrong.  A parameter
named twice is rejected (``duplicate_parameter``) even when the two spellings differ only in
case (``pa`` and ``PA``): some apps read names without regard to case, so either copy could
be the one that pays.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote_to_bytes

from qrpay.errors import PayloadError
from qrpay.payload.fields import FieldInfo

PREFIX = "upi://pay?"

# name in the spec, and the order in which the spec lists them
PARAMS: dict[str, str] = {
    "pa": "Payee VPA",
    "pn": "Payee name",
    "mc": "Payee merchant code (MCC)",
    "tid": "Transaction id (PSP generated)",
    "tr": "Transaction reference (bill id)",
    "tn": "Transaction note",
    "am": "Amount",
    "mam": "Minimum amount",
    "cu": "Currency",
    "url": "Transaction / bill details URL",
    "mode": "Initiation mode",
    "purpose": "Purpose code",
    "orgid": "Signer's organisation id",
    "sign": "Signature (Base64)",
}
MODES = {"00": "default", "01": "QR", "02": "secure QR", "03": "Bharat QR", "04": "intent",
         "05": "secure intent", "15": "dynamic QR (offline)", "16": "dynamic secure QR"}
MCC_NAMES = {"4900": "utilities: electric, gas, water, sanitary"}

_VPA = re.compile(r"[A-Za-z0-9._-]+@[A-Za-z0-9._-]+")
_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")
_AMOUNT = re.compile(r"[0-9]{1,10}(?:\.[0-9]{1,2})?")
_AMOUNT_2DP = re.compile(r"[0-9]{1,10}\.[0-9]{2}")
_TR = re.compile(r"[A-Za-z0-9_-]{4,35}")
_DIGITS2 = re.compile(r"[0-9]{2}")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_B64 = re.compile(r"[A-Za-z0-9+/=_-]+")
_SAFE = {"pa": "@", "url": ":/"}


@dataclass(frozen=True)
class UpiPayload:
    """A parsed UPI URI: its parameters in order, decoded, with an explanation."""

    params: tuple[tuple[str, str], ...]
    fields: tuple[FieldInfo, ...]

    def get(self, key: str) -> str | None:
        for k, v in self.params:
            if k == key:
                return v
        return None

    @property
    def vpa(self) -> str:
        return self.get("pa") or ""

    @property
    def name(self) -> str:
        return self.get("pn") or ""

    @property
    def reference(self) -> str | None:
        return self.get("tr")

    @property
    def url(self) -> str | None:
        return self.get("url")

    @property
    def amount(self) -> int | None:
        """``am`` in paise, or None when the payer types the amount."""
        am = self.get("am")
        return amount_to_minor(am) if am else None

    @property
    def min_amount(self) -> int | None:
        mam = self.get("mam")
        return amount_to_minor(mam) if mam and mam != "null" else None


def amount_to_minor(text: str) -> int:
    """``"1234.5" -> 123450``; the text must already match the amount pattern."""
    whole, _, frac = text.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def minor_to_amount(minor: int) -> str:
    """``123450 -> "1234.50"`` (non-negative only: UPI has no negative amounts)."""
    if minor < 0:
        raise PayloadError("a UPI amount cannot be negative", code="bad_amount", field="am")
    return f"{minor // 100}.{minor % 100:02d}"


def _fail(code: str, message: str, key: str | None = None) -> PayloadError:
    return PayloadError(message, code=code, field=key)


def _check_value(key: str, value: str, *, strict: bool) -> str:
    """Validate one value; return the explanation note.  ``strict`` is the builder's rule."""
    if key == "pa":
        if not _VPA.fullmatch(value):
            raise _fail("bad_vpa", f"pa {value!r} is not a VPA (handle@psp)", key)
        return "UPI address that receives the money"
    if key == "pn":
        if not value.strip():
            raise _fail("missing_pn", "pn (payee name) is empty", key)
        return ""
    if key == "mc":
        if not re.fullmatch(r"[0-9]{4}", value):
            raise _fail("bad_mc", f"mc {value!r} is not a 4-digit merchant category code", key)
        return MCC_NAMES.get(value, "")
    if key == "tr":
        if (strict and not _TR.fullmatch(value)) or not 1 <= len(value) <= 35:
            raise _fail("bad_tr", f"tr {value!r} must be 4-35 of [A-Za-z0-9_-]", key)
        return "the biller's reference for this payment"
    if key == "tn":
        if strict and len(value) > 50:
            raise _fail("bad_tn", "tn is longer than 50 characters", key)
        return ""
    if key in {"am", "mam"}:
        if key == "mam" and value == "null" and not strict:
            return "no minimum amount"
        if not (_AMOUNT_2DP if strict else _AMOUNT).fullmatch(value):
            raise _fail("bad_amount", f"{key} {value!r} is not a decimal amount"
                        + (" with two decimals" if strict else ""), key)
        return ("payable amount, fixed" if key == "am"
                else "the payer may pay any amount from this one up to am")
    if key == "cu":
        if value != "INR":
            raise _fail("bad_currency", f"cu {value!r}: UPI supports only INR", key)
        return "Indian rupee"
    if key == "url":
        if not value or (strict and not value.lower().startswith(("https://", "http://"))):
            raise _fail("bad_url", f"url {value!r} is not an http(s) URL", key)
        return ""
    if key in {"mode", "purpose"}:
        if not _DIGITS2.fullmatch(value):
            raise _fail(f"bad_{key}", f"{key} {value!r} is not two digits", key)
        return MODES.get(value, "") if key == "mode" else ("BBPS" if value == "10" else "")
    if key == "orgid":
        if not value.isdigit() or not value.isascii():
            raise _fail("bad_orgid", f"orgid {value!r} is not numeric", key)
        return ""
    if key == "sign":
        if not _B64.fullmatch(value):
            raise _fail("bad_sign", "sign is not Base64", key)
        return "signature: checked by the payer's PSP, not here"
    if key == "tid":
        return ""
    return "not in the NPCI linking specification: passed through"


def _explain(key: str, value: str, note: str) -> FieldInfo:
    return FieldInfo(key=key, name=PARAMS.get(key, "acquirer parameter"), value=value,
                     note=note)


def _check_required(keys: set[str]) -> None:
    for key in ("pa", "pn"):
        if key not in keys:
            raise _fail(f"missing_{key}", f"{key} ({PARAMS[key]}) is mandatory", key)


def build(params: Mapping[str, str]) -> str:
    """Write ``params`` (in their order) as a canonical UPI URI; strict validation."""
    parts = []
    for key, value in params.items():
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise _fail("bad_param", f"parameter name {key!r} is not valid")
        if not isinstance(value, str):
            raise _fail("bad_param", f"parameter {key} must be text", key)
        _check_value(key, value, strict=True)
        parts.append(f"{key}={quote(value, safe=_SAFE.get(key, ''))}")
    _check_required(set(params))
    return PREFIX + "&".join(parts)


def _decode(raw: str, key: str) -> str:
    if _BAD_ESCAPE.search(raw):
        raise _fail("bad_encoding", f"{key}: a % is not followed by two hex digits", key)
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeError:
        raise _fail("bad_encoding", f"{key}: percent-encoded bytes are not UTF-8",
                    key) from None


def parse(text: str) -> UpiPayload:
    """Parse a UPI URI; every rejection is a :class:`PayloadError` with a code."""
    if not isinstance(text, str):
        raise _fail("not_text", "a UPI payload must be text")
    if not text[:len(PREFIX)].lower() == PREFIX:
        raise _fail("not_upi", "not a UPI URI (upi://pay?...)")
    query = text[len(PREFIX):]
    if "#" in query:
        raise _fail("bad_query", "a UPI URI has no fragment (#)")
    params: list[tuple[str, str]] = []
    fields: list[FieldInfo] = []
    seen: set[str] = set()
    folded: set[str] = set()
    for part in query.split("&"):
        if not part:
            continue  # a stray '&' (trailing or doubled) is harmless
        key, sep, raw = part.partition("=")
        if not sep or not _KEY.fullmatch(key):
            raise _fail("bad_param", f"{part[:20]!r} is not name=value")
        if key.lower() in folded:
            raise _fail("duplicate_parameter", f"parameter {key} appears twice (names are "
                        "compared without regard to case)", key)
        seen.add(key)
        folded.add(key.lower())
        value = _decode(raw, key)
        note = _check_value(key, value, strict=False)
        params.append((key, value))
        fields.append(_explain(key, value, note))
    _check_required(seen)
    return UpiPayload(params=tuple(params), fields=tuple(fields))
