"""What a bill page shows, as display-ready values (no drawing here).

Amounts use lakh/crore grouping and the biller's numerals (Bengali digits on Bengali
bills when the profile says ``numerals = "beng"``); identifiers (account, bill number,
URL) stay in ASCII digits, as SMS, apps and counters show them.  The charges table always
adds up to the amount: arrears and any difference from the bill file's heads appear as
their own rows.

One sign convention: a credit (a negative amount) is never printed with a minus sign; it
is the positive amount after the word for credit (``जमा ₹ 125.50``, English ``Credit``
beside it), in the charges table, the total and the amount box alike (:func:`signed`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from qrpay.bills import Bill
from qrpay.config import Biller, Config
from qrpay.digits import localise
from qrpay.errors import PayloadError, RenderError
from qrpay.money import format_amount
from qrpay.payments import ledger
from qrpay.templating import texts


@dataclass(frozen=True)
class Labels:
    """The wording of one bill language, with English beside it."""

    lang: str
    local: dict[str, Any]
    english: dict[str, Any]
    numerals: str

    @property
    def bilingual(self) -> bool:
        return self.lang != "en"

    def pair(self, key: str) -> tuple[str, str]:
        """(local, English) for ``key``; local is "" on English bills."""
        return (str(self.local[key]) if self.bilingual else "", str(self.english[key]))

    def word(self, section: str, key: str) -> str:
        """A translated value (category, charge head), or the raw key when unknown."""
        table = (self.local if self.bilingual else self.english).get(section, {})
        return str(table.get(key) or self.english.get(section, {}).get(key) or key)


def labels_for(biller: Biller, lang: str) -> Labels:
    return Labels(lang=lang, local=texts("bill", lang), english=texts("bill", "en"),
                  numerals=biller.numerals)


def bill_language(bill: Bill, biller: Biller) -> str:
    lang = bill.language or biller.language
    if lang not in ("en", "hi", "mr", "bn"):
        raise RenderError(f"bill {bill.bill_no}: no bill wording for language {lang!r}",
                          code="unsupported_language", field="language")
    return lang


@dataclass(frozen=True)
class BillView:
    bill_no: str
    account_no: str
    name: str
    address: str
    category: str
    meter_no: str
    month: str  # "November 2026" in the bill's language
    due_date: str
    amount: str
    late_amount: str
    amount_box: tuple[str, str]  # amount box: main line, and its English under it ("": none)
    payable: bool  # amount > 0: the page shows the pay-by date and the late amount
    units: str
    average: str
    charges: tuple[tuple[str, str, str, str], ...]  # (head, English head, amount, English
    #   sub-line under the amount: "credit" on credit rows of bilingual bills, else "")
    total: str
    total_key: str  # "total" or, for a credit, "total_credit"
    amount_key: str  # heading of the amount box: "amount_due" or "credit_balance"
    history: tuple[tuple[str, int, str], ...]  # (month label, kWh, kWh text)
    payload: str | None  # QR text; None when nothing is due
    qr_amount: str  # the amount the QR carries (formatted), or the nothing-due text
    qr_amount_minor: int | None
    url: str
    channels: tuple[str, ...]
    nothing_due: str
    nothing_due_en: str  # its English line on bilingual bills, else ""
    amount_en: str  # the credit in English under the amount ("" when none)
    bill_date: str = ""
    connection: tuple[tuple[str, str], ...] = ()  # (label key, value): tariff, load
    readings: tuple[tuple[str, str, str], ...] = ()  # (label key, value, date)
    last_payment: tuple[str, str] = ("", "")  # amount and date ("₹ 769.68", "11 Oct 2026")
    late_from: str = ""  # with grace days: the first day the late amount applies
    howto_title: str = ""  # "how to pay" from a wallet (Bangladesh), in the bill's language
    howto_lines: tuple[str, ...] = ()


class HowToSteps(Protocol):
    """What ``qrpay.biller.howto.howto`` returns: a title and one line per step."""

    @property
    def title(self) -> str: ...

    @property
    def lines(self) -> tuple[str, ...]: ...


def _money(minor: int, biller: Biller, numerals: str) -> str:
    return format_amount(minor, currency=biller.currency, numerals=numerals)


def _date(day: dt.date, lab: Labels) -> str:
    months = (lab.local if lab.bilingual else lab.english)["months"]
    return localise(f"{day.day:02d} {months[day.month - 1]} {day.year}", lab.numerals)


def _month(period: str, lab: Labels, key: str = "months_full") -> str:
    year, month = int(period[:4]), int(period[5:7])
    months = (lab.local if lab.bilingual else lab.english)[key]
    return localise(f"{months[month - 1]} {year}", lab.numerals)


def signed(minor: int, biller: Biller, lab: Labels) -> tuple[str, str]:
    """An amount as the bill prints it: ``₹ 1,234.00``, or for a credit the word for
    credit and the positive amount (``जमा ₹ 125.50``), with its English word ("credit")
    for the line under it on bilingual bills ("" otherwise)."""
    money = _money(abs(minor), biller, lab.numerals)
    if minor >= 0:
        return money, ""
    local, english = lab.pair("amount_credit")
    return f"{local or english} {money}", (str(lab.english["credit_short"])
                                           if lab.bilingual else "")


def charge_rows(bill: Bill, lab: Labels, biller: Biller
                ) -> tuple[tuple[str, str, str, str], ...]:
    """Rows ``(head, English head, amount, English under the amount)`` that add up
    exactly to ``bill.amount``; the English parts are "" on English bills."""
    rows: list[tuple[str, int]] = list(bill.charges)
    if bill.arrears:
        rows.append(("arrears", bill.arrears))
    rest = bill.amount - sum(v for _, v in rows)
    if rest:
        rows.append(("adjustment" if bill.charges else "current", rest))
    assert sum(v for _, v in rows) == bill.amount
    english = lab.english.get("charges_heads", {})
    return tuple((lab.word("charges_heads", head),
                  str(english.get(head) or head) if lab.bilingual else "",
                  *signed(v, biller, lab)) for head, v in rows)


def average(history: tuple[int, ...]) -> int:
    """The mean of the last 12 months, rounded half up (integers only)."""
    hist = history[-12:]
    return (2 * sum(hist) + len(hist)) // (2 * len(hist)) if hist else 0


def amount_box(bill: Bill, biller: Biller, lab: Labels) -> tuple[str, str]:
    """What the amount box says: the amount due; or, when nothing is due, "Credit ₹ 125.50"
    or "Nothing to pay" (in the bill's language, English under it)."""
    n = lab.numerals
    if bill.amount > 0:
        return _money(bill.amount, biller, n), ""
    key = "amount_credit" if bill.amount < 0 else "amount_zero"
    local, english = lab.pair(key)
    if bill.amount < 0:
        money = _money(-bill.amount, biller, n)
        local, english = (f"{local} {money}" if local else ""), f"{english} {money}"
    return (local, english) if local else (english, "")


def _history(bill: Bill, lab: Labels) -> tuple[tuple[str, int, str], ...]:
    values = bill.history[-12:]
    year, month = int(bill.period[:4]), int(bill.period[5:7])
    months = (lab.local if lab.bilingual else lab.english)["months"]
    out = []
    for back, kwh in enumerate(reversed(values)):
        m = (month - 1 - back) % 12
        out.append((months[m], kwh, localise(str(kwh), lab.numerals)))
    del year
    return tuple(reversed(out))


def _connection(bill: Bill, lab: Labels) -> tuple[tuple[str, str], ...]:
    rows = []
    if bill.tariff:
        rows.append(("tariff", bill.tariff))
    if bill.sanctioned_load:
        rows.append(("sanctioned_load", localise(f"{bill.sanctioned_load} ", lab.numerals)
                     + str(lab.english["load_unit"])))
    return tuple(rows)


def _readings(bill: Bill, lab: Labels) -> tuple[tuple[str, str, str], ...]:
    r = bill.readings
    if r is None:
        return ()
    n = lab.numerals
    when = (lambda day: _date(day, lab) if day else "")  # noqa: E731
    return (("present_reading", localise(str(r.present), n), when(r.present_date)),
            ("previous_reading", localise(str(r.previous), n), when(r.previous_date)),
            ("multiplier", localise(f"× {r.multiplier}", n), ""))


def _last_payment(bill: Bill, biller: Biller, lab: Labels) -> tuple[str, str]:
    if bill.last_payment is None:
        return "", ""
    when = _date(bill.last_payment_date, lab) if bill.last_payment_date else ""
    return _money(bill.last_payment, biller, lab.numerals), when


def _nothing(bill: Bill, lab: Labels) -> tuple[str, str]:
    local, english = lab.pair("credit" if bill.amount < 0 else "nothing_due")
    return (local, english) if local else (english, "")


def make_view(bill: Bill, biller: Biller, config: Config, lab: Labels, *,
              on: dt.date | None = None, howto: HowToSteps | None = None) -> BillView:
    from qrpay.payload import bill_payload, bill_url, qr_amount

    n = lab.numerals
    due = qr_amount(bill, on, biller.late_payment.grace_days)
    nothing, nothing_en = _nothing(bill, lab) if due is None else ("", "")
    if due is None:
        payload, url = None, ""
    else:
        try:
            payload = bill_payload(bill, biller, config, on=on)
        except PayloadError as exc:
            raise RenderError(f"bill {bill.bill_no}: {exc}", code="payload_failed",
                              field=exc.field) from exc
        url = bill_url(bill, biller, config, due)
    box = amount_box(bill, biller, lab)
    total, _ = signed(bill.amount, biller, lab)
    return BillView(
        bill_no=bill.bill_no, account_no=bill.account_no, name=bill.name,
        address=bill.address or "",
        category=" · ".join(x for x in (
            lab.word("categories", bill.category) if bill.category else "",
            lab.word("areas", bill.area) if bill.area else "") if x),
        meter_no=bill.meter_no or "—", month=_month(bill.period, lab),
        due_date=_date(bill.due_date, lab), amount=_money(bill.amount, biller, n),
        late_amount=_money(ledger.printed_late_amount(bill, biller.late_payment), biller, n),
        amount_box=box, payable=bill.amount > 0,
        units=localise(str(bill.units if bill.units is not None else 0), n),
        average=localise(str(average(bill.history)), n), charges=charge_rows(bill, lab, biller),
        total=_money(abs(bill.amount), biller, n) if bill.amount < 0 else total,
        total_key="total_credit" if bill.amount < 0 else "total",
        amount_key="credit_balance" if bill.amount < 0 else "amount_due",
        history=_history(bill, lab),
        payload=payload, qr_amount=_money(due, biller, n) if due is not None else "",
        qr_amount_minor=due, url=url,
        channels=tuple(config.channels[c].display_name if c in config.channels else c
                       for c in biller.channels),
        nothing_due=nothing, nothing_due_en=nothing_en,
        amount_en=box[1] if box[1] else "",
        bill_date=_date(bill.bill_date, lab) if bill.bill_date else "",
        connection=_connection(bill, lab), readings=_readings(bill, lab),
        last_payment=_last_payment(bill, biller, lab),
        late_from=(_date(ledger.late_from(bill, biller.late_payment.grace_days), lab)
                   if biller.late_payment.grace_days else ""),
        howto_title=howto.title if howto and due is not None else "",
        howto_lines=tuple(howto.lines) if howto and due is not None else (),
    )
