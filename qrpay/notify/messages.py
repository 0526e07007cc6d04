"""SMS wording: ``templates/sms/<lang>.toml`` rendered with the shared Jinja2 environment.

Each notice has a Jinja2 ``body``, the DLT-registered pattern ``dlt`` (``{#var#}`` per
variable) and the DLT ``template_id`` (India).  :func:`render_sms` checks the rendered
text against the pattern (every variable at most 30 characters, everything else
identical) because Indian operators block a message that does not match its template.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Template

from qrpay.config import Biller
from qrpay.errors import ConfigError, RenderError
from qrpay.money import format_amount
from qrpay.notify.sms import sms_info
from qrpay.templating import env, templates_dir, texts

DLT_VAR = "{#var#}"
DLT_VAR_MAX = 30
ASCII_CURRENCY = {"INR": "Rs.", "BDT": "Tk"}


@dataclass(frozen=True)
class RenderedSms:
    notice: str
    language: str
    body: str
    template_id: str | None
    provider_template_id: str | None
    encoding: str
    segments: int
    variables: tuple[str, ...]


def sms_language(biller: Biller, wanted: str | None) -> str:
    """The consumer's language if there is an SMS file for it, else the biller's, else en."""
    root = templates_dir()
    for lang in (wanted, biller.language, "en"):
        if lang and _has_sms_file(root, lang):
            return lang
    return "en"


@lru_cache(maxsize=64)
def _has_sms_file(root: Path, lang: str) -> bool:
    return (root / "sms" / f"{lang}.toml").exists()


@lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    # Compiling a Jinja template is ~1.5 ms; the SMS texts are a handful of strings.
    return env().from_string(source)


@cache
def _pattern(dlt: str) -> re.Pattern[str]:
    parts = [re.escape(p) for p in dlt.split(DLT_VAR)]
    return re.compile("(.+?)".join(parts) + r"\Z", re.DOTALL)


def dlt_variables(dlt: str, text: str) -> tuple[str, ...] | None:
    """The variable values of ``text`` against the DLT pattern, or None if it does not match."""
    m = _pattern(dlt).match(text)
    if m is None or any(len(v) > DLT_VAR_MAX for v in m.groups()):
        return None
    return m.groups()


def _notice(lang: str, notice: str) -> dict[str, Any]:
    table = texts("sms", lang).get(notice)
    if not isinstance(table, dict) or "body" not in table:
        raise ConfigError(f"templates/sms/{lang}.toml has no [{notice}] body",
                          code="missing_sms_template", field=notice)
    return table


def sms_amount(minor: int, biller: Biller, lang: str) -> str:
    """``Rs. 1,234.50`` in English, the currency sign and local digits otherwise."""
    if lang == "en":
        return f"{ASCII_CURRENCY.get(biller.currency, biller.currency)} {format_amount(minor)}"
    numerals = {"bn": "beng"}.get(lang, "latn") if biller.numerals != "latn" else "latn"
    return format_amount(minor, currency=biller.currency, numerals=numerals)


def render_sms(biller: Biller, notice: str, lang: str, context: dict[str, Any]) -> RenderedSms:
    """Render ``notice`` in ``lang``; raise RenderError ``dlt_mismatch`` if it breaks DLT."""
    table = _notice(lang, notice)
    body = _compiled(str(table["body"])).render(**context).strip()
    variables: tuple[str, ...] = ()
    dlt = table.get("dlt")
    if dlt:
        found = dlt_variables(str(dlt), body)
        if found is None:
            raise RenderError(f"SMS {notice}/{lang} does not match its DLT template "
                              f"(or a variable is over {DLT_VAR_MAX} characters): {body!r}",
                              code="dlt_mismatch", field=notice)
        variables = found
    ids = table.get("template_ids", {})
    template_id = str(ids.get(biller.code) or table.get("template_id") or "") or None
    info = sms_info(body)
    return RenderedSms(notice=notice, language=lang, body=body, template_id=template_id,
                       provider_template_id=str(table.get("msg91_template_id") or "") or None,
                       encoding=info.encoding, segments=info.segments, variables=variables)


def payment_context(biller: Biller, lang: str, *, amount: int, bill_no: str,
                    receipt_no: str | None) -> dict[str, Any]:
    name = biller.name_local if lang != "en" and biller.name_local else biller.name
    return {"amount": sms_amount(amount, biller, lang), "bill_no": bill_no,
            "receipt_no": receipt_no or "-", "biller_name": name}


def dlt_pattern(lang: str, notice: str) -> str | None:
    """The registered ``{#var#}`` pattern of ``notice`` in ``lang``, if any."""
    try:
        value = _notice(lang, notice).get("dlt")
    except ConfigError:
        return None
    return str(value) if value else None


def provider_template_id(lang: str, notice: str) -> str | None:
    try:
        value = _notice(lang, notice).get("msg91_template_id")
    except ConfigError:
        return None
    return str(value) if value else None
