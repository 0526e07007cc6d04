"""Payment-QR payloads for bills, and the offline authenticity check.

Payload apart from pixels: this package builds and reads strings only (``qrpay.qr`` turns
them into symbols).

* :func:`bill_payload` is the text of a bill's QR in the biller's ``qr_format``.  It
  carries the bill's token (:func:`qr_token`, the 80-bit QR spelling
  ``K1.{16 base32}``) in a field of its own and no bill URL: UPI ``tn`` (the
  transaction note, e.g. ``...&tr=B2611100000000&tn=K1.MFRGGZDFMZTWQ2LK&am=1909.00
  &cu=INR``) and Bangla QR 62/05 (the reference label, beside the bill number in
  62/01).  The URL cost 40-60 characters that ``tr`` / 62/01 and the printed link
  already give; without it the symbol is version 7 (UPI) or 6 (Bangla QR) instead of 8
  at level M, which zbar reads from a tilted photo (issue 10 item 21,
  docs/benchmarks.md).  Bharat QR keeps the bill URL in template 80.
* :func:`bill_url` is the bill page ``{base}/b/{bill_no}?t={token}`` (the link sent in
  SMS and chat and printed under the QR); the token (:mod:`qrpay.payload.token`) is an
  HMAC over biller, bill number, amount and payee.
* :func:`qr_url` is the same page spelt for a small symbol,
  ``HTTPS://PAY.EXAMPLE/B/{bill_no}/{TOKEN}`` (scheme and host in upper case, all in the
  QR alphanumeric set): what Bharat QR carries, and what UPI and Bangla QR bills printed
  until December 2026 carry.
* :func:`resolve` tells ``genuine`` / ``altered`` / ``foreign`` / ``invalid`` without a
  database.  It finds the token in the bill URL (bills printed before: the link form
  with ``?t=``, then the QR form) or in ``tn`` / 62/05, and the biller by the URL's
  base or, for a token field, by the payee.  Every form ever printed stays genuine.

**Genuine means exactly what qrpay prints.**  The token covers biller, bill number, amount
and payee only, so a verified token is not enough: :func:`resolve` then rebuilds, from the
profile, the payload qrpay prints for that bill, amount, format and token, and calls the
scan ``genuine`` only if it holds the same fields with the same values, nothing added and
nothing missing.  Any other difference is ``altered``, one reason per differing field (an
added parameter such as ``mam``, a second merchant-account template, a changed name...).
The differences allowed are those that cannot change what an app does: the order of UPI
parameters and of EMV data objects and sub-objects (duplicates are rejected by the
parsers, UPI names without regard to case), percent-encoding spelled differently for the
same text, stray ``&``, the case of ``upi://pay?`` and of the EMV CRC digits.  A bill
printed before the profile's payee fields (name, city, MCC, extra UPI parameters, part
payment) changed no longer matches and resolves as ``altered``: reprint after such a change.

**Nothing due.**  A bill whose amount due is zero or a credit gets *no* QR:
:func:`qr_amount` returns None and :func:`bill_payload` raises
``PayloadError(code="nothing_due")``.  A QR without an amount would invite payments of any
amount against a bill that asks for none; the e-bill prints "nothing to pay" instead.

**Part payment.**  When ``payee.allow_part_payment`` is set, UPI payloads carry
``mam=1.00`` (the payer may lower the amount down to one rupee) and Bharat QR carries
26/02; EMVCo has no minimum-amount field for Bangla QR, so there it changes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from qrpay.bills import Bill
from qrpay.config import Biller, Config
from qrpay.errors import PayloadError
from qrpay.money import to_decimal_str
from qrpay.payload import emv, upi
from qrpay.payload.fields import FieldInfo
from qrpay.payload.token import check_token, known_kid, make_token, split_token

__all__ = ["FieldInfo", "Resolution", "amount_payload", "bill_payload", "bill_url", "payee_id",
           "qr_amount", "qr_token", "qr_url", "resolve", "resolve_format"]

PART_PAYMENT_MINIMUM = 100  # minor units: the least a part payment may be
_BILL_URL = re.compile(r"(?P<base>https?://[^?#]+?)/b/(?P<bill_no>[^/?#]+)"
                       r"(?:\?t=(?P<token>[^&#]*))?")
_QR_URL = re.compile(r"(?P<base>(?i:https?)://[^?#]+?)/B/(?P<bill_no>[^/?#]+)"
                     r"/(?P<token>[^/?#]+)")
_ORIGIN = re.compile(r"(?i:https?://[^/?#]*)")


# ---------------------------------------------------------------------------- build

def payee_id(biller: Biller, qr_format: str | None = None) -> str:
    """What the token binds as "the payee": the VPA (lower case) for UPI and Bharat QR,
    the encoded tag-26 template for Bangla QR."""
    fmt = qr_format or biller.qr_format
    if fmt in ("upi", "bharatqr"):
        return biller.payee.vpa.lower()
    return emv.template_value(emv.merchant_account(biller.payee.emv_gui,
                                                   biller.payee.emv_account))


def _base(biller: Biller, config: Config) -> str:
    base = (biller.public_base_url or config.public_base_url).rstrip("/")
    if not base:
        raise PayloadError(f"biller {biller.code} has no public_base_url", code="no_base_url",
                           field="public_base_url")
    return base


def bill_url(bill: Bill, biller: Biller, config: Config, amount: int,
             *, qr_format: str | None = None) -> str:
    """The bill page URL with the authenticity token for ``amount`` (minor units)."""
    token = make_token(config, biller.code, bill.bill_no, amount,
                       payee_id(biller, qr_format))
    return _url(_base(biller, config), bill.bill_no, token)


def _url(base: str, bill_no: str, token: str) -> str:
    return f"{base}/b/{bill_no}?t={token}"


def qr_url(bill: Bill, biller: Biller, config: Config, amount: int,
           *, qr_format: str | None = None) -> str:
    """The bill page URL as the bill's QR carries it (see the module notes)."""
    token = make_token(config, biller.code, bill.bill_no, amount,
                       payee_id(biller, qr_format), compact=True)
    return _qr_url(_base(biller, config), bill.bill_no, token)


def _qr_url(base: str, bill_no: str, token: str) -> str:
    origin = _ORIGIN.match(base)
    end = origin.end() if origin else 0
    return f"{base[:end].upper()}{base[end:]}/B/{bill_no}/{token}"


def _same_base(base: str) -> str:
    """``base`` with scheme and host in lower case: how bases are compared."""
    origin = _ORIGIN.match(base)
    end = origin.end() if origin else 0
    return (base[:end].lower() + base[end:]).rstrip("/")


def qr_amount(bill: Bill, on: dt.date | None = None, grace_days: int = 0) -> int | None:
    """The amount the QR asks for (minor units), or None when nothing is due; ``on``
    a day after the due date and ``grace_days``: the late amount."""
    amount = bill.amount if on is None else bill.amount_due_on(on, grace_days)
    return amount if amount > 0 else None


def upi_params(bill: Bill, biller: Biller, token: str, amount: int) -> dict[str, str]:
    """The parameters of a bill's UPI URI, in the order of the NPCI specification:
    ``token`` (the QR spelling, :func:`qr_token`) in ``tn``, no ``url``."""
    return _upi_params(bill.bill_no, biller, amount, token=token)


def _upi_params(bill_no: str, biller: Biller, amount: int, *, token: str | None = None,
                url: str | None = None) -> dict[str, str]:
    """``token``: the token in ``tn`` (what qrpay prints); ``url``: the bill URL in
    ``url`` and no ``tn`` (the bills printed before, see the module notes)."""
    payee = biller.payee
    params = {"pa": payee.vpa, "pn": emv.ascii_text(payee.name, 99) or payee.name,
              "mc": biller.mcc, "tr": bill_no}
    if token is not None:
        params["tn"] = token
    params["am"] = upi.minor_to_amount(amount)
    if payee.allow_part_payment:
        params["mam"] = upi.minor_to_amount(min(amount, PART_PAYMENT_MINIMUM))
    params["cu"] = "INR"
    if url is not None:
        params["url"] = url
    for key, value in payee.extra_params.items():
        params.setdefault(key, value)
    return params


def qr_token(bill: Bill, biller: Biller, config: Config, amount: int,
             *, qr_format: str | None = None) -> str:
    """The token a bill's QR carries for ``amount``: the 80-bit QR spelling."""
    return make_token(config, biller.code, bill.bill_no, amount,
                      payee_id(biller, qr_format), compact=True)


def _payload(bill: Bill, biller: Biller, config: Config, fmt: str, amount: int) -> str:
    token = qr_token(bill, biller, config, amount, qr_format=fmt)
    if fmt == "upi":
        return upi.build(upi_params(bill, biller, token, amount))
    if fmt == "bharatqr":
        url = _qr_url(_base(biller, config), bill.bill_no, token)
        return emv.build(_emv_objects(bill.bill_no, biller, fmt, amount, url=url))
    return emv.build(_emv_objects(bill.bill_no, biller, fmt, amount, token=token))


def _emv_objects(bill_no: str, biller: Biller, fmt: str, amount: int, *,
                 url: str | None = None, token: str | None = None,
                 legacy: bool = False) -> emv.Built:
    """The EMV data objects (no CRC) of a bill's Bharat QR (``url`` in template 80) or
    Bangla QR (``token`` in 62/05, or for a bill printed before ``url`` in template 80).
    Bangla QR carries no template 64 (optional in EMVCo MPM): the Bengali name's 31 UTF-8
    bytes and the ECI they need took the symbol up two versions.  ``legacy``: the objects
    of a bill printed before with its URL in the link form, which had it."""
    payee = biller.payee
    if fmt == "bharatqr":
        minimum = min(amount, PART_PAYMENT_MINIMUM) if payee.allow_part_payment else None
        return emv.bharat_qr_objects(vpa=payee.vpa, name=payee.name or biller.name,
                                     city=payee.city, amount=amount, reference=bill_no,
                                     bill_no=bill_no, url=url, mcc=biller.mcc,
                                     min_amount=minimum, postal_code=payee.postal_code)
    if fmt == "banglaqr":
        return emv.bangla_qr_objects(gui=payee.emv_gui, account=payee.emv_account,
                                     name=payee.name or biller.name, city=payee.city,
                                     amount=amount, bill_no=bill_no, url=url, mcc=biller.mcc,
                                     reference=token,
                                     name_local=(payee.name_local or biller.name_local)
                                     if legacy else "")
    raise PayloadError(f"unknown QR format {fmt!r}", code="bad_format", field="qr_format")


def resolve_format(biller: Biller, kind: str | None) -> str:
    """``upi``/``emv``/None (the biller's own) to a concrete ``qr_format``."""
    if kind in (None, biller.qr_format):
        return biller.qr_format
    if kind == "emv":
        return "banglaqr" if biller.country == "BD" else "bharatqr"
    if kind == "upi":
        if biller.country != "IN" or not biller.payee.vpa:
            raise PayloadError(f"biller {biller.code} has no UPI payee", code="bad_format",
                               field="format")
        return "upi"
    if kind in ("bharatqr", "banglaqr"):
        return kind
    raise PayloadError(f"unknown QR format {kind!r}", code="bad_format", field="format")


def bill_payload(bill: Bill, biller: Biller, config: Config, *, on: dt.date | None = None,
                 qr_format: str | None = None) -> str:
    """The text of the bill's QR: the amount due ``on`` (default: the by-due-date amount
    printed on the bill) and the tokenised bill URL, in the biller's ``qr_format``
    (or ``qr_format``: ``upi``, ``emv``, ``bharatqr``, ``banglaqr``)."""
    amount = qr_amount(bill, on, biller.late_payment.grace_days)
    if amount is None:
        raise PayloadError(f"bill {bill.bill_no} has nothing to pay", code="nothing_due",
                           field="amount")
    return _payload(bill, biller, config, resolve_format(biller, qr_format), amount)


def amount_payload(bill: Bill, biller: Biller, config: Config, amount: int, *,
                   qr_format: str | None = None) -> str:
    """The bill's payload for an explicit ``amount`` (minor units, > 0): for a bill that
    was part paid or adjusted since it was printed.  The token covers that amount."""
    if amount <= 0:
        raise PayloadError(f"bill {bill.bill_no}: amount must be positive", code="nothing_due",
                           field="amount")
    return _payload(bill, biller, config, resolve_format(biller, qr_format), amount)


# ---------------------------------------------------------------------------- resolve

@dataclass(frozen=True)
class Resolution:
    """What a scanned payload is.  ``verdict``: genuine | altered | foreign | invalid."""

    verdict: str
    format: str | None = None  # upi | emv
    biller: str | None = None
    bill_no: str | None = None
    amount: int | None = None
    fields: tuple[FieldInfo, ...] = ()
    code: str | None = None  # why it is invalid
    reasons: tuple[str, ...] = ()  # why it is altered or foreign
    payee: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "format": self.format, "biller": self.biller,
                "bill_no": self.bill_no,
                "amount": None if self.amount is None else to_decimal_str(self.amount),
                "code": self.code,
                "reasons": list(self.reasons), "payee": self.payee,
                "fields": [f.as_dict() for f in self.fields]}


@dataclass(frozen=True)
class _Scan:
    """The parts of any payment payload that the check needs."""

    format: str
    payee: str  # as payee_id() writes it
    payee_display: str
    amount: int | None
    references: tuple[str, ...]  # bill references in the payload (tr, 62/01)
    url: str | None
    currency_ok: dict[str, bool] = field(default_factory=dict)  # by country
    fields: tuple[FieldInfo, ...] = ()
    parsed: upi.UpiPayload | emv.EmvPayload | None = None
    token: str | None = None  # where qrpay prints it now: UPI tn, EMV 62/05


def _scan_upi(p: upi.UpiPayload) -> _Scan:
    refs = (p.reference,) if p.reference else ()
    return _Scan("upi", p.vpa.lower(), p.vpa, p.amount, refs, p.url,
                 {"IN": True, "BD": False}, p.fields, p, p.get("tn"))


def _scan_emv(p: emv.EmvPayload) -> _Scan:
    account = p.tlv("26")
    if account is not None and (account.sub("00") or "").upper() == emv.RUPAY_RID:
        payee = (account.sub("01") or "").lower()
        display = account.sub("01") or ""
    else:  # sub-objects in tag order, as payee_id() writes them: their order is harmless
        payee = (emv.template_value(sorted((c.tag, c.value) for c in account.children))
                 if account is not None else "")
        display = " ".join(c.value for c in account.children) if account is not None else ""
    refs = tuple(r for r in (p.get("27", "01") if _rupay(p, "27") else None,
                             p.get("62", "01")) if r)
    url = None
    for obj in p.objects:
        if 80 <= int(obj.tag) <= 99 and obj.sub("00") == emv.QRPAY_GUID:
            url = obj.sub("01")
    currency = {"IN": p.get("53") == "356", "BD": p.get("53") == "050"}
    return _Scan("emv", payee, display, p.amount, refs, url, currency, p.fields, p,
                 p.get("62", "05"))


def _rupay(p: emv.EmvPayload, tag: str) -> bool:
    return (p.get(tag, "00") or "").upper() == emv.RUPAY_RID


def scan(text: str) -> _Scan:
    """Parse any UPI or EMV payment payload (PayloadError if it is neither)."""
    if not isinstance(text, str):
        raise PayloadError("a payload must be text", code="not_text")
    if text[:10].lower().startswith("upi://"):
        return _scan_upi(upi.parse(text))
    if text.startswith("00"):
        return _scan_emv(emv.parse(text))
    raise PayloadError("not a UPI or EMV payment payload", code="not_payment_qr")


def _bases(config: Config) -> dict[str, list[Biller]]:
    out: dict[str, list[Biller]] = {}
    for biller in config.billers.values():
        base = _same_base(biller.public_base_url or config.public_base_url)
        out.setdefault(base, []).append(biller)
    return out


def _expected_payees(biller: Biller, fmt: str) -> set[str]:
    if fmt == "upi" or biller.country == "IN":
        return {biller.payee.vpa.lower()}
    return {payee_id(biller, "banglaqr")}


def _why_altered(s: _Scan, biller: Biller, bill_no: str, token: str,
                 config: Config) -> list[str]:
    reasons = []
    if not bill_no:
        reasons.append("bill reference removed")
    if s.payee not in _expected_payees(biller, s.format):
        reasons.append(f"payee changed: pays {s.payee_display!r}, not {biller.code}'s payee")
    if any(r != bill_no for r in s.references):
        reasons.append(f"bill reference changed: {', '.join(s.references)} vs URL {bill_no}")
    if not s.currency_ok.get(biller.country, False):
        reasons.append("currency does not match the biller's")
    parts = split_token(token)
    if parts is None:
        reasons.append("no valid qrpay token")
    elif not known_kid(config, parts[0]):
        reasons.append(f"token key {parts[0]!r} is not one of ours")
    elif s.amount is None:
        reasons.append("amount removed")
    elif not reasons:
        reasons.append("token does not match this bill and amount "
                       "(amount changed, or the token comes from another bill)")
    if isinstance(s.parsed, emv.EmvPayload):
        reasons.extend(_extra_accounts(s.parsed, _emv_format(biller)).values())
    return reasons


# ------------------------------------------------------------- genuine = as printed

def _emv_format(biller: Biller) -> str:
    return "banglaqr" if biller.country == "BD" else "bharatqr"


_ACCOUNT_TAGS = {"bharatqr": ("26", "27"), "banglaqr": ("26",)}  # what qrpay prints


def _extra_accounts(p: emv.EmvPayload, fmt: str) -> dict[str, str]:
    """By tag, a reason for each merchant-account template (26-51) that qrpay does not
    print in ``fmt``: a payer's app may pay that account instead of ours."""
    ours = _ACCOUNT_TAGS.get(fmt, ())
    return {o.tag: f"extra merchant account template {o.tag} ({o.sub('00') or 'no GUID'}): "
                   "a payer's app may pay that account instead"
            for o in p.account_templates() if o.tag not in ours}


def _expected_emv(built: emv.Built) -> dict[str, str]:
    out: dict[str, str] = {}
    for tag, value in built:
        if isinstance(value, str):
            out[tag] = value
        else:
            for sub, subval in value:
                out[f"{tag}.{sub}"] = subval
    return out


def _scanned_emv(p: emv.EmvPayload) -> dict[str, str]:
    out: dict[str, str] = {}
    for obj in p.objects:
        if obj.tag == "63":
            continue
        if obj.children:
            for child in obj.children:
                out[f"{obj.tag}.{child.tag}"] = child.value
        else:
            out[obj.tag] = obj.value  # includes an empty template, which qrpay never prints
    return out


def _diff(expected: dict[str, str], got: dict[str, str], names: dict[str, str],
          skip: frozenset[str] = frozenset()) -> list[str]:
    """One reason per field that differs from what qrpay prints (none for the fields of
    the templates in ``skip``, already explained)."""
    out = []
    for key, want in expected.items():
        label = f"{key} ({names[key]})" if names.get(key) else key
        if key not in got:
            out.append(f"{label} removed: qrpay prints {want!r}")
        elif got[key] != want:
            out.append(f"{label} changed to {got[key]!r}: qrpay prints {want!r}")
    for key, value in got.items():
        if key not in expected and key.partition(".")[0] not in skip:
            label = f"{key} ({names[key]})" if names.get(key) else key
            out.append(f"{label} added: {value!r} is not in qrpay's payload for this bill")
    return out


def _legacy_note(bill_no: str) -> str:
    """The ``tn`` note qrpay printed on UPI bills until the payload was shortened."""
    return f"Electricity bill {bill_no}"[:50]


def _without_legacy_note(got: dict[str, str], expected: dict[str, str],
                         bill_no: str) -> dict[str, str]:
    """``got`` without a ``tn`` that is exactly the note qrpay used to print for this bill:
    bills printed before stay genuine (any other note is an added field: altered)."""
    if "tn" not in expected and got.get("tn") == _legacy_note(bill_no):
        return {k: v for k, v in got.items() if k != "tn"}
    return got


def _as_printed(s: _Scan, biller: Biller, bill_no: str, token: str, config: Config,
                form: str) -> list[str]:
    """Why the scan (its token verified) is not exactly what qrpay prints for this
    bill, amount, format and token in ``form``; empty when it is."""
    assert s.amount is not None and s.parsed is not None
    url = None
    if form != "token":
        base = _base(biller, config)
        url = _url(base, bill_no, token) if form == "link" else _qr_url(base, bill_no, token)
    extra: dict[str, str] = {}
    try:
        if isinstance(s.parsed, upi.UpiPayload):
            expected = _upi_params(bill_no, biller, s.amount, url=url,
                                   token=token if form == "token" else None)
            got = _without_legacy_note(dict(s.parsed.params), expected, bill_no)
        else:
            fmt = _emv_format(biller)
            expected = _expected_emv(_emv_objects(
                bill_no, biller, fmt, s.amount, url=url,
                token=token if form == "token" else None, legacy=form == "link"))
            got = _scanned_emv(s.parsed)
            if expected != got:
                extra = _extra_accounts(s.parsed, fmt)
    except PayloadError as exc:
        return [f"qrpay cannot print this bill's payload from the profile ({exc.code})"]
    if expected == got:
        return []
    names = {f.key: f.name for f in s.fields}
    return [*extra.values(), *_diff(expected, got, names, frozenset(extra))]


def _result(verdict: str, s: _Scan, *, biller: str | None = None, bill_no: str | None = None,
            reasons: tuple[str, ...] = ()) -> Resolution:
    return Resolution(verdict, format=s.format, biller=biller, bill_no=bill_no,
                      amount=s.amount, fields=s.fields, reasons=reasons,
                      payee=s.payee_display)


def _where(s: _Scan, config: Config) -> tuple[str, str, str, list[Biller]] | str:
    """Where the scan keeps qrpay's token: (form, bill number, token, candidate billers),
    form ``qr_url``/``link`` (the bill URL of the bills printed before) or ``token``
    (UPI ``tn`` or EMV 62/05, what qrpay prints); or why the scan is not ours."""
    m = _QR_URL.fullmatch(s.url or "") or _BILL_URL.fullmatch(s.url or "")
    if m:
        candidates = _bases(config).get(_same_base(m.group("base")), [])
        if not candidates:
            return f"bill URL {s.url} is not ours"
        form = "qr_url" if _QR_URL.fullmatch(s.url or "") else "link"
        return form, m.group("bill_no"), m.group("token") or "", candidates
    if s.url:
        return f"bill URL {s.url} is not ours"
    parts = split_token(s.token or "")
    if parts is None:
        return "no qrpay bill URL or token"
    kind = ("IN",) if s.format == "upi" else ("IN", "BD")
    ours = [b for b in config.billers.values() if b.country in kind]
    candidates = [b for b in ours if s.payee in _expected_payees(b, s.format)]
    if not candidates and (not ours or not known_kid(config, parts[0])):
        return f"a token, but it pays {s.payee_display!r}, none of our billers"
    bill_no = s.references[0] if s.references else ""
    return "token", bill_no, s.token or "", candidates or ours


def _verdict(s: _Scan, config: Config) -> Resolution:
    where = _where(s, config)
    if isinstance(where, str):
        return _result("foreign", s, reasons=(where,),
                       bill_no=s.references[0] if s.references else None)
    form, bill_no, token, candidates = where
    refs_ok = all(r == bill_no for r in s.references)
    for biller in candidates:
        if (refs_ok and s.amount is not None and s.currency_ok.get(biller.country, False)
                and check_token(config, token, biller.code, bill_no, s.amount, s.payee)):
            diffs = _as_printed(s, biller, bill_no, token, config, form)
            verdict = "altered" if diffs else "genuine"
            return _result(verdict, s, biller=biller.code, bill_no=bill_no,
                           reasons=tuple(diffs))
    # ours, but altered: blame the biller whose payee the payload still names, if any
    biller = next((b for b in candidates if s.payee in _expected_payees(b, s.format)),
                  candidates[0])
    reasons = _why_altered(s, biller, bill_no, token, config)
    known = biller.code if len(candidates) == 1 or s.payee in _expected_payees(
        biller, s.format) else None
    return _result("altered", s, biller=known, bill_no=bill_no, reasons=tuple(reasons))


def resolve(text: str, config: Config) -> Resolution:
    """Check a scanned payload offline: is it a genuine, unaltered qrpay bill QR?"""
    try:
        s = scan(text)
    except PayloadError as exc:
        fmt = None
        if isinstance(text, str):
            fmt = "upi" if text[:6].lower() == "upi://" else ("emv" if text[:2] == "00"
                                                             else None)
        return Resolution("invalid", format=fmt, code=exc.code, reasons=(exc.message,))
    return _verdict(s, config)
