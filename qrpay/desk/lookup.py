"""Finding bills by what a consumer brings to the counter: a bill number, an account
(consumer) number, a meter number or a mobile number, typed in any digits.

:func:`find_bills` tries them in that order and returns the biller's matching bills,
newest first.  When nothing of the biller matches, :attr:`Found.elsewhere` says whether
the number is another biller's ("not ours") rather than unknown ("not found").  The desk
(:mod:`qrpay.desk.counter`) and ``qrpay bills show|list`` use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, select

from qrpay.bills import Bill, find_bill, of_biller, row_to_bill
from qrpay.config import Biller
from qrpay.digits import to_ascii
from qrpay.errors import Conflict, NotFound, ValidationError
from qrpay.store.schema import bills

MAX_BILLS = 60
KINDS = ("bill_no", "account", "meter", "mobile")
_SEPARATORS = re.compile(r"[\s\-./()]")
# What a person types for a number (not a QR payload): an optional letter prefix
# (BEST's "B" bill numbers) and digits, or a mobile number in international form.
TYPED = re.compile(r"^(?:[A-Za-z]{0,4}[0-9]{1,30}|\+[0-9]{8,15})$")


@dataclass(frozen=True)
class Found:
    """Bills of the asked biller matching one identifier, newest first.

    ``kind`` names what matched (one of :data:`KINDS`) or is ``none``; ``elsewhere`` is
    True when only another biller's bills matched.
    """

    kind: str
    bills: tuple[Bill, ...] = ()
    elsewhere: bool = False

    @property
    def accounts(self) -> tuple[str, ...]:
        """The distinct account numbers matched, in the order first met."""
        return tuple(dict.fromkeys(b.account_no for b in self.bills))

    def latest_per_account(self) -> tuple[Bill, ...]:
        seen: dict[str, Bill] = {}
        for b in self.bills:
            seen.setdefault(b.account_no, b)
        return tuple(seen.values())


def compact(text: str) -> str:
    """``১০৪ ২৩১-২৪৫`` -> ``104231245``: ASCII digits, no spaces or separators."""
    return _SEPARATORS.sub("", to_ascii(text or "").strip())


def looks_typed(text: str) -> bool:
    """True when ``text`` is a number a person typed, not a scanned QR payload."""
    return bool(TYPED.match(compact(text)))


def _mobile_forms(number: str, biller: Biller) -> list[str]:
    from qrpay.importer import normalise_mobile

    try:
        e164 = normalise_mobile(number, biller.country)
    except ValidationError:
        return []
    return [e164, e164.lstrip("+")]  # as imported (E.164), and MSISDN as older rows hold it


def _matching(conn: Connection, where: ColumnElement[bool]) -> list[Bill]:
    q = (select(bills).where(where)
         .order_by(bills.c.period.desc(), bills.c.due_date.desc(), bills.c.bill_no.desc())
         .limit(MAX_BILLS))
    return [row_to_bill(r) for r in conn.execute(q)]


def _exists(conn: Connection, where: ColumnElement[bool]) -> bool:
    return conn.execute(select(bills.c.id).where(where).limit(1)).first() is not None


def _bill_no(conn: Connection, number: str) -> Bill | None:
    return find_bill(conn, number) or find_bill(conn, number.upper())


def _candidates(number: str, biller: Biller) -> list[tuple[str, ColumnElement[bool]]]:
    out: list[tuple[str, ColumnElement[bool]]] = [
        ("account", bills.c.account_no == number), ("meter", bills.c.meter_no == number)]
    mobiles = _mobile_forms(number, biller)
    if mobiles:
        out.append(("mobile", bills.c.mobile.in_(mobiles)))
    return out


def find_bills(conn: Connection, biller: Biller, text: str) -> Found:
    """The biller's bills for a typed bill, account, meter or mobile number."""
    number = compact(text)
    if not number:
        return Found("none")
    bill = _bill_no(conn, number)
    if bill is not None:
        return Found("bill_no", (bill,)) if bill.biller == biller.code else \
            Found("none", elsewhere=True)
    elsewhere = False
    for kind, where in _candidates(number, biller):
        mine = bills.c.biller == biller.code if kind == "account" else of_biller(biller.code)
        ours = _matching(conn, where & mine)
        if ours:
            return Found(kind, tuple(ours))
        elsewhere = elsewhere or _exists(conn, where)
    return Found("none", elsewhere=elsewhere)


def find_anywhere(conn: Connection, billers: list[Biller], text: str) -> Found:
    """:func:`find_bills` over every biller of a profile (the first that has matches);
    ``elsewhere`` when only bills of billers outside the profile match."""
    elsewhere = False
    for biller in billers:
        found = find_bills(conn, biller, text)
        if found.bills:
            return found
        elsewhere = elsewhere or found.elsewhere
    return Found("none", elsewhere=elsewhere)  # no biller of the profile had it


def require(found: Found, text: str) -> Found:
    """``found`` when it has bills; else NotFound ``unknown_bill`` (not found) or Conflict
    ``wrong_biller`` (another biller's number)."""
    if found.bills:
        return found
    if found.elsewhere:
        raise Conflict(f"{text!r} is another biller's number, not ours", code="wrong_biller",
                       field="number")
    raise NotFound(f"no bill, account, meter or mobile number {text!r}", code="unknown_bill",
                   field="number")
