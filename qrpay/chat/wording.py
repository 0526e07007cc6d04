"""The values screens show, formatted once for every channel: amounts, dates, periods,
status words, payment links, wallet paths.

Amounts: on WhatsApp with the currency sign; on USSD and SMS in English ``Rs.``/``Tk`` so
the screen stays GSM-7 (:func:`qrpay.notify.messages.sms_amount`, the SMS rule).  Digits
are the biller's own numerals in the biller's own language, ASCII otherwise; bill and
consumer numbers always stay ASCII (people type them into wallet apps).
"""

from __future__ import annotations

import datetime as dt
import string
from functools import lru_cache
from typing import Any

from qrpay.bills import Bill
from qrpay.chat.flows import Flows
from qrpay.config import Biller, Config
from qrpay.digits import localise
from qrpay.errors import PayloadError
from qrpay.money import format_amount
from qrpay.notify.messages import sms_amount
from qrpay.payload import amount_payload, bill_url
from qrpay.payments.ledger import BillStatus


class Values(dict[str, Any]):
    """Placeholders not known for this screen render as ``-``."""

    def __missing__(self, key: str) -> str:
        return "-"


#: The placeholders a bill fills (:func:`bill_values`) and a ticket fills.
BILL_VALUES = frozenset({"account_no", "bill_no", "period", "amount", "due_date", "status",
                         "receipt", "bill_link", "upi_link", "wallets"})
TICKET_VALUES = frozenset({"ticket", "category", "ticket_status"})
_FORMATTER = string.Formatter()


def fill(template: str, values: dict[str, Any]) -> str:
    return _FORMATTER.vformat(template, (), Values(values))


@lru_cache(maxsize=4096)
def placeholders(template: str) -> frozenset[str]:
    """The ``{name}`` fields of a wording template (parsed once per template)."""
    return frozenset(name for _, name, _, _ in _FORMATTER.parse(template) if name)


def numerals(biller: Biller, lang: str) -> str:
    return biller.numerals if lang == biller.language else "latn"


def amount(minor: int, biller: Biller, lang: str, channel: str) -> str:
    if channel == "whatsapp":
        return format_amount(minor, currency=biller.currency, numerals=numerals(biller, lang))
    return sms_amount(minor, biller, lang)


def date(day: dt.date, biller: Biller, lang: str) -> str:
    return localise(day.strftime("%d-%m-%Y"), numerals(biller, lang))


def period(text: str, biller: Biller, lang: str) -> str:
    year, _, month = text.partition("-")
    return localise(f"{month}/{year}", numerals(biller, lang))


def biller_name(biller: Biller, lang: str) -> str:
    return biller.name_local if lang != "en" and biller.name_local else biller.name


def base_values(flows: Flows, biller: Biller, lang: str) -> dict[str, Any]:
    return {"biller_name": biller_name(biller, lang),
            "helpline": localise(biller.helpline, numerals(biller, lang)) or "-",
            "vpa": biller.payee.vpa or "-"}


def page_amount(bill: Bill, status: BillStatus) -> int:
    """The amount the bill-page token covers: due now, else the printed amount."""
    return status.due_now if status.due_now > 0 else bill.amount


def bill_link(config: Config, biller: Biller, bill: Bill, status: BillStatus) -> str:
    return bill_url(bill, biller, config, page_amount(bill, status))


def pdf_link(config: Config, biller: Biller, bill: Bill) -> str:
    return bill_url(bill, biller, config, bill.amount).replace("?t=", "/bill.pdf?t=", 1)


def upi_link(config: Config, biller: Biller, bill: Bill, status: BillStatus) -> str:
    if biller.country != "IN" or not biller.payee.vpa or status.due_now <= 0:
        return "-"
    try:
        return amount_payload(bill, biller, config, status.due_now, qr_format="upi")
    except PayloadError:
        return "-"


def wallets(flows: Flows, config: Config, biller: Biller, bill: Bill, lang: str,
            channel: str) -> str:
    lines = []
    for name in biller.channels:
        key = f"wallets.{name}"
        display = config.channels[name].display_name if name in config.channels else name
        text = flows.text(lang, key, channel) if flows.has_text(lang, key) \
            else flows.text(lang, "wallets.line", channel)
        lines.append(fill(text, {"wallet": display, "bill_no": bill.bill_no,
                                 "biller_name": biller_name(biller, lang)}))
    return "\n".join(lines)


def bill_values(flows: Flows, config: Config, biller: Biller, bill: Bill, status: BillStatus,
                lang: str, channel: str) -> dict[str, Any]:
    return {
        "account_no": bill.account_no, "bill_no": bill.bill_no,
        "period": period(bill.period, biller, lang),
        "amount": amount(max(status.due_now, 0), biller, lang, channel),
        "due_date": date(bill.due_date, biller, lang),
        "status": flows.text(lang, f"status.{status.state}"),
        "receipt": ", ".join(status.receipts) or "-",
        "bill_link": bill_link(config, biller, bill, status),
        "upi_link": upi_link(config, biller, bill, status),
        "wallets": wallets(flows, config, biller, bill, lang, channel),
    }
