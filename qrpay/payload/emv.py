"""EMVCo merchant-presented QR (MPM): TLV build and parse, CRC, Bharat QR and Bangla QR.

Each data object is a two-digit ID, a two-digit length and the value; lengths count
**characters**; the payload starts with ``000201`` and ends with ``6304`` and the
CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) of the UTF-8 bytes of everything before it,
``6304`` included, as four upper-case hex digits (compared without regard to case).
Templates (26-51 merchant account, 62 additional data, 64 language, 80-99 unreserved)
are parsed into their sub-objects.

Where qrpay puts its own data:

* Bharat QR: tag 26 = RuPay RID ``A000000524`` with the payee VPA in 01 (and the minimum
  amount in 02 when part payment is allowed), tag 27 = the same RID with ``tr`` in 01,
  MCC 4900, currency 356, country IN.
* Bangla QR: tag 26 = the acquirer's GUID in 00 and the sub-fields the profile gives
  (institution type 01, institution id 02, merchant account 03), currency 050, country
  BD, the bill number in 62/01, the Bengali name (and city) in template 64.
* Both: the tokenised bill page URL in the unreserved template **80**: 00 = ``org.qrpay``,
  01 = the URL (at most 82 characters so the template fits in 99).  Apps that do not
  know template 80 ignore it, as EMVCo requires of unreserved templates.
"""

from __future__ import annotations

import binascii
import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from qrpay.errors import PayloadError
from qrpay.payload.fields import FieldInfo

RUPAY_RID = "A000000524"
QRPAY_GUID = "org.qrpay"
URL_TAG = "80"
CURRENCY_NUMERIC = {"INR": "356", "BDT": "050", "THB": "764", "BRL": "986", "SGD": "702",
                    "CNY": "156", "VND": "704"}

NAMES: dict[str, str] = {
    "00": "Payload format indicator", "01": "Point of initiation method",
    "52": "Merchant category code", "53": "Transaction currency", "54": "Transaction amount",
    "55": "Tip or convenience indicator", "56": "Convenience fee (fixed)",
    "57": "Convenience fee (percentage)", "58": "Country code", "59": "Merchant name",
    "60": "Merchant city", "61": "Postal code", "62": "Additional data",
    "63": "CRC", "64": "Merchant information, alternate language",
}
SUB_NAMES = {
    "62": {"01": "Bill number", "02": "Mobile number", "03": "Store label",
           "04": "Loyalty number", "05": "Reference label", "06": "Customer label",
           "07": "Terminal label", "08": "Purpose of transaction",
           "09": "Additional consumer data request"},
    "64": {"00": "Language preference", "01": "Merchant name (alternate language)",
           "02": "Merchant city (alternate language)"},
}
_NETWORKS = {"02": "Visa", "03": "Visa", "04": "Mastercard", "05": "Mastercard",
             "06": "EMVCo", "07": "EMVCo", "08": "EMVCo", "09": "Discover", "10": "Discover",
             "11": "Amex", "12": "Amex", "13": "JCB", "14": "JCB", "15": "UnionPay",
             "16": "UnionPay"}
_GUIDS = {RUPAY_RID: "RuPay / UPI (NPCI)", "A000000677010111": "PromptPay (Thailand)",
          "br.gov.bcb.pix": "Pix (Brazil)", "SG.PAYNOW": "PayNow (Singapore)",
          "com.bkash": "bKash (Bangladesh)", "com.pathaopay": "Pathao Pay (Bangladesh)",
          QRPAY_GUID: "qrpay bill page"}
_AMOUNT = re.compile(r"(?=.*[0-9])[0-9]*(?:\.[0-9]*)?")


def is_template(tag: str) -> bool:
    n = int(tag)
    return 26 <= n <= 51 or n in (62, 64) or 80 <= n <= 99


@dataclass(frozen=True)
class Tlv:
    """One data object; ``children`` holds a template's parsed sub-objects."""

    tag: str
    value: str
    children: tuple[Tlv, ...] = ()

    def sub(self, tag: str) -> str | None:
        for child in self.children:
            if child.tag == tag:
                return child.value
        return None


Objects = Sequence[tuple[str, "str | Sequence[tuple[str, str]]"]]


@dataclass(frozen=True)
class EmvPayload:
    """A parsed EMV MPM payload."""

    text: str
    objects: tuple[Tlv, ...]

    def tlv(self, tag: str) -> Tlv | None:
        for obj in self.objects:
            if obj.tag == tag:
                return obj
        return None

    def get(self, tag: str, sub: str | None = None) -> str | None:
        obj = self.tlv(tag)
        if obj is None:
            return None
        return obj.value if sub is None else obj.sub(sub)

    @property
    def amount(self) -> int | None:
        """Tag 54 in minor units (two-decimal currencies), None when absent."""
        text = self.get("54")
        if not text:
            return None
        whole, _, frac = text.partition(".")
        if len(frac.rstrip("0")) > 2:
            return None
        return int(whole or "0") * 100 + int((frac + "00")[:2])

    @property
    def is_dynamic(self) -> bool:
        return self.get("01") == "12"

    def account_templates(self) -> tuple[Tlv, ...]:
        return tuple(o for o in self.objects if 26 <= int(o.tag) <= 51)

    @property
    def fields(self) -> tuple[FieldInfo, ...]:
        return tuple(_explain(self.objects))

    def as_objects(self) -> list[tuple[str, str | list[tuple[str, str]]]]:
        """The objects without the CRC, in the form :func:`build` takes."""
        out: list[tuple[str, str | list[tuple[str, str]]]] = []
        for o in self.objects:
            if o.tag == "63":
                continue
            out.append((o.tag, [(c.tag, c.value) for c in o.children]
                        if is_template(o.tag) else o.value))
        return out


def crc16(text: str) -> str:
    """CRC-16/CCITT-FALSE of the UTF-8 bytes of ``text``, four upper-case hex digits."""
    return f"{binascii.crc_hqx(text.encode('utf-8'), 0xFFFF):04X}"


# ---------------------------------------------------------------------------- build

def _tlv(tag: str, value: str) -> str:
    if not (len(tag) == 2 and tag.isdigit() and tag.isascii()):
        raise PayloadError(f"EMV tag {tag!r} is not two digits", code="bad_tag", field=tag)
    if len(value) > 99:
        raise PayloadError(f"EMV field {tag} is {len(value)} characters (at most 99)",
                           code="too_long", field=tag)
    return f"{tag}{len(value):02d}{value}"


def build(objects: Objects) -> str:
    """TLV-encode ``objects`` (``(tag, value)`` or ``(tag, [(sub, value), ...])``) and
    append the CRC.  The caller gives them in order, ``00`` first; ``63`` is added here."""
    parts = []
    for tag, value in objects:
        if tag == "63":
            raise PayloadError("tag 63 (CRC) is added by build()", code="bad_tag", field=tag)
        if isinstance(value, str):
            parts.append(_tlv(tag, value))
        else:
            parts.append(_tlv(tag, "".join(_tlv(t, v) for t, v in value)))
    body = "".join(parts) + "6304"
    if not body.startswith("000201"):
        raise PayloadError("an EMV payload starts with 000201", code="bad_format_indicator",
                           field="00")
    return body + crc16(body)


@functools.lru_cache(maxsize=1024)  # profile names: the same few texts on every resolve
def ascii_text(text: str, limit: int) -> str:
    """Latin transliteration for tags 59/60: accents stripped, other scripts dropped."""
    decomposed = unicodedata.normalize("NFKD", text)
    out = "".join(c for c in decomposed if c.isascii() and c.isprintable())
    return " ".join(out.split())[:limit].rstrip()


def _amount(minor: int) -> str:
    if minor <= 0:
        raise PayloadError("an EMV bill amount must be positive", code="bad_amount",
                           field="54")
    return f"{minor // 100}.{minor % 100:02d}"


def _url_template(url: str) -> tuple[str, list[tuple[str, str]]]:
    if len(url) > 82:
        raise PayloadError(f"bill URL is {len(url)} characters; template 80 holds 82",
                           code="url_too_long", field="80.01")
    return URL_TAG, [("00", QRPAY_GUID), ("01", url)]


def _label(text: str) -> str:
    if len(text) > 25:
        raise PayloadError(f"reference label is {len(text)} characters; 62/05 holds 25",
                           code="label_too_long", field="62.05")
    return text


def _name(name: str, field: str) -> str:
    latin = ascii_text(name, 25)
    if not latin:
        raise PayloadError(f"{field}: no Latin name for tag 59", code="bad_name", field=field)
    return latin


Built = list[tuple[str, "str | Sequence[tuple[str, str]]"]]


def bharat_qr_objects(*, vpa: str, name: str, city: str, amount: int, reference: str,
                      bill_no: str, url: str | None = None, mcc: str = "4900",
                      min_amount: int | None = None, postal_code: str = "") -> Built:
    """The data objects of a dynamic Bharat QR for UPI (VPA in 26/01, ``tr`` in 27/01,
    bill number in 62/01), without the CRC: :func:`build` makes the payload."""
    account = [("00", RUPAY_RID), ("01", vpa)]
    if min_amount is not None:
        account.append(("02", _amount(min_amount)))
    objects: list[tuple[str, str | Sequence[tuple[str, str]]]] = [
        ("00", "01"), ("01", "12"), ("26", account),
        ("27", [("00", RUPAY_RID), ("01", reference)]),
        ("52", mcc), ("53", "356"), ("54", _amount(amount)), ("58", "IN"),
        ("59", _name(name, "payee.name")), ("60", ascii_text(city, 15) or "NA"),
    ]
    if postal_code:
        objects.append(("61", postal_code[:10]))
    objects.append(("62", [("01", bill_no)]))
    if url:
        objects.append(_url_template(url))
    return objects


def bangla_qr_objects(*, gui: str, account: Mapping[str, str], name: str, city: str,
                      amount: int, bill_no: str, url: str | None = None, mcc: str = "4900",
                      reference: str | None = None, name_local: str = "",
                      city_local: str = "", language: str = "bn") -> Built:
    """The data objects of a dynamic Bangla QR (tag 26 as the acquirer gives it, 62/01 the
    bill number, 62/05 the ``reference`` label, template 64 the Bengali name), without the
    CRC: :func:`build` makes the payload."""
    if not gui:
        raise PayloadError("Bangla QR needs the acquirer's GUID (payee.emv_gui)",
                           code="missing_gui", field="26.00")
    objects: list[tuple[str, str | Sequence[tuple[str, str]]]] = [
        ("00", "01"), ("01", "12"), ("26", merchant_account(gui, account)),
        ("52", mcc), ("53", "050"), ("54", _amount(amount)), ("58", "BD"),
        ("59", _name(name, "payee.name")), ("60", ascii_text(city, 15) or "NA"),
        ("62", [("01", bill_no)] + ([("05", _label(reference))] if reference else [])),
    ]
    if name_local:
        local = [("00", language), ("01", name_local)]
        if city_local:
            local.append(("02", city_local))
        objects.append(("64", local))
    if url:
        objects.append(_url_template(url))
    return objects


def merchant_account(gui: str, account: Mapping[str, str]) -> list[tuple[str, str]]:
    """Tag 26 sub-objects: GUID in 00, then the profile's sub-fields in tag order."""
    return [("00", gui)] + sorted((k.zfill(2), v) for k, v in account.items() if k != "00")


def template_value(subs: Sequence[tuple[str, str]]) -> str:
    """The encoded value of a template (what tag 26's value reads as)."""
    return "".join(_tlv(t, v) for t, v in subs)


# ---------------------------------------------------------------------------- parse

def _fail(code: str, message: str, field: str | None = None) -> PayloadError:
    return PayloadError(message, code=code, field=field)


def _split(text: str, where: str) -> list[tuple[str, str, int]]:
    """``[(tag, value, offset of value)]``; raises on a malformed stream."""
    out = []
    pos = 0
    n = len(text)
    while pos < n:
        if n - pos < 4:
            raise _fail("truncated", f"{where}: {n - pos} stray characters at {pos}", where)
        tag, length = text[pos:pos + 2], text[pos + 2:pos + 4]
        if not (tag.isdigit() and tag.isascii()):
            raise _fail("bad_length", f"{where}: no two-digit ID at position {pos} "
                        f"({tag!r}); a previous length is wrong", where)
        if not (length.isdigit() and length.isascii()):
            raise _fail("bad_length", f"{where}: field {tag} has length {length!r}", tag)
        end = pos + 4 + int(length)
        if end > n:
            raise _fail("truncated", f"{where}: field {tag} needs {length} characters, "
                        f"{n - pos - 4} are left", tag)
        out.append((tag, text[pos + 4:end], pos + 4))
        pos = end
    return out


def _parse_template(tag: str, value: str) -> tuple[Tlv, ...]:
    children = []
    seen = set()
    for sub, subval, _ in _split(value, tag):
        if sub in seen:
            raise _fail("duplicate_tag", f"template {tag} has sub-field {sub} twice",
                        f"{tag}.{sub}")
        seen.add(sub)
        children.append(Tlv(sub, subval))
    return tuple(children)


def _check_field(tag: str, value: str) -> None:
    rules = {
        "01": (lambda v: v in ("11", "12"), "bad_initiation", "11 (static) or 12 (dynamic)"),
        "52": (lambda v: len(v) == 4 and v.isdigit(), "bad_mcc", "four digits"),
        "53": (lambda v: len(v) == 3 and v.isdigit(), "bad_currency", "three digits"),
        "54": (lambda v: len(v) <= 13 and bool(_AMOUNT.fullmatch(v)), "bad_amount",
               "a decimal amount"),
        "58": (lambda v: len(v) == 2 and v.isalpha() and v.isascii(), "bad_country",
               "two letters"),
    }
    rule = rules.get(tag)
    if rule and not (value.isascii() and rule[0](value)):
        raise _fail(rule[1], f"field {tag} ({NAMES[tag]}) is {value!r}, expected {rule[2]}",
                    tag)


def parse(text: str) -> EmvPayload:
    """Parse an EMV MPM payload: structure, then CRC, then field formats."""
    if not isinstance(text, str):
        raise _fail("not_text", "an EMV payload must be text")
    if not text:
        raise _fail("empty", "empty payload")
    raw = _split(text, "payload")
    if raw[0][0] != "00" or raw[0][1] != "01":
        raise _fail("bad_format_indicator", "an EMV payload starts with 000201", "00")
    tags = [t for t, _, _ in raw]
    if "63" not in tags:
        raise _fail("missing_crc", "no CRC (tag 63)", "63")
    if tags[-1] != "63" or tags.count("63") > 1:
        raise _fail("crc_not_last", "the CRC (tag 63) must be the last field", "63")
    _, crc_value, offset = raw[-1]
    if len(crc_value) != 4:
        raise _fail("bad_length", "the CRC (tag 63) must be 4 characters", "63")
    expected = crc16(text[:offset])
    if crc_value.upper() != expected:
        raise _fail("bad_crc", f"the payload's CRC is {crc_value}, its content computes to "
                    f"{expected}", "63")
    objects = []
    seen: set[str] = set()
    for tag, value, _ in raw:
        if tag in seen:
            raise _fail("duplicate_tag", f"field {tag} appears twice", tag)
        seen.add(tag)
        _check_field(tag, value)
        children = _parse_template(tag, value) if is_template(tag) else ()
        objects.append(Tlv(tag, value, children))
    return EmvPayload(text=text, objects=tuple(objects))


# ---------------------------------------------------------------------------- explain

def _template_name(tag: str) -> str:
    n = int(tag)
    if n in (62, 64):
        return NAMES[tag]
    if 26 <= n <= 51:
        return "Merchant account information (template)"
    return "Unreserved template"


def _name_of(tag: str) -> str:
    if tag in NAMES:
        return NAMES[tag]
    if tag in _NETWORKS:
        return f"Merchant account information ({_NETWORKS[tag]})"
    if is_template(tag):
        return _template_name(tag)
    return "Reserved for future use"


def _note(tag: str, value: str) -> str:
    if tag == "01":
        return "dynamic (one payment)" if value == "12" else "static (reusable)"
    if tag == "53":
        names = {v: k for k, v in CURRENCY_NUMERIC.items()}
        return names.get(value, "")
    if tag == "52" and value == "4900":
        return "utilities: electric, gas, water, sanitary"
    if tag == "63":
        return "verified"
    return ""


def _sub_name(tag: str, sub: str, parent: Tlv, country: str) -> tuple[str, str]:
    if tag in SUB_NAMES:
        return SUB_NAMES[tag].get(sub, "Payment system specific" if int(sub) >= 50
                                  else "Reserved"), ""
    if sub == "00":
        return "Globally unique identifier", _GUIDS.get(parent.sub("00") or "", "")
    gui = parent.sub("00") or ""
    if gui.upper() == RUPAY_RID:
        if tag == "26":
            return {"01": ("UPI VPA", ""), "02": ("Minimum amount", "")}.get(
                sub, ("Network specific", ""))
        if tag == "27" and sub == "01":
            return "Transaction reference (tr)", ""
    if gui == QRPAY_GUID and sub == "01":
        return "Bill page URL (with authenticity token)", ""
    if tag == "26" and sub in ("01", "02", "03") and country == "BD":
        return {"01": "Institution type", "02": "Institution id",
                "03": "Merchant account"}[sub], ""
    return "Network specific", ""


def _explain(objects: Sequence[Tlv]) -> list[FieldInfo]:
    out = []
    country = next((o.value for o in objects if o.tag == "58"), "")
    for obj in objects:
        name = _name_of(obj.tag)
        if obj.children:
            out.append(FieldInfo(obj.tag, name, "", "template"))
            for child in obj.children:
                sub_name, note = _sub_name(obj.tag, child.tag, obj, country)
                out.append(FieldInfo(f"{obj.tag}.{child.tag}", sub_name, child.value, note))
        else:
            out.append(FieldInfo(obj.tag, name, obj.value, _note(obj.tag, obj.value)))
    return out
