"""Texts a channel shows the consumer, from ``templates/channels/<lang>.toml``."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Template

from qrpay.bills import Bill
from qrpay.config import Biller
from qrpay.digits import localise
from qrpay.money import format_amount
from qrpay.templating import env, templates_dir, texts


@lru_cache(maxsize=32)
def has_wording(lang: str) -> bool:
    return (templates_dir() / "channels" / f"{lang}.toml").exists()


def language(biller: Biller, bill: Bill | None) -> str:
    """The consumer's language when there is wording for it, else the biller's."""
    for lang in ((bill.language if bill else None), biller.language, "en"):
        if lang and has_wording(lang):
            return lang
    return "en"


@lru_cache(maxsize=128)
def _compiled(source: str) -> Template:
    return env().from_string(source)


def say(lang: str, section: str, key: str, **values: str) -> str:
    source = texts("channels", lang)[section][key]
    return _compiled(source).render(**values)


def notice(biller: Biller, bill: Bill, *, amount: int, receipt: str, credit: bool) -> str:
    """The wallet's message to the payer after a payment (its own SMS or screen)."""
    lang = language(biller, bill)
    numerals = "beng" if lang == "bn" else "latn"
    name = biller.name_local if lang != "en" and biller.name_local else biller.name
    return say(lang, "notice", "credit" if credit else "paid", biller=name,
               account=localise(bill.account_no, numerals),
               amount=format_amount(amount, currency=biller.currency, numerals=numerals),
               receipt=receipt)
