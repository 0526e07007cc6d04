"""Finding a consumer's bills from what they type: a consumer number or a mobile number.

Numbers go through the identifier schemes (:func:`qrpay.ids.for_numbering` for consumer
numbers; mobile numbers through :func:`mobile_msisdn`, the one place chat normalises
them).  Bills are read with :mod:`qrpay.bills` and their status with
:func:`qrpay.payments.ledger.bill_status`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, select

from qrpay import ids
from qrpay.bills import Bill, of_biller, row_to_bill
from qrpay.config import Biller
from qrpay.digits import to_ascii
from qrpay.ids import mobile
from qrpay.payments.ledger import BillStatus, bill_status
from qrpay.store.schema import bills

PAST_BILLS = 6


def mobile_msisdn(text: str | None, country: str) -> str | None:
    """``+91 98123-45678`` -> ``919812345678``, ``০১৭১২৩৪৫৬৭৮`` -> ``8801712345678``;
    None when it is not a mobile number of ``country``."""
    return mobile.msisdn(text, country)


def consumer_number(text: str, biller: Biller) -> str:
    """The canonical consumer number, or :class:`ValidationError`."""
    scheme = ids.for_numbering(biller.numbering)
    return str(scheme.validate(to_ascii(text)))


def today(biller: Biller) -> dt.date:
    return biller.today()


def latest_bill(conn: Connection, biller: str, account_no: str,
                area: str | None = None) -> Bill | None:
    q = (select(bills).where(bills.c.biller == biller, bills.c.account_no == account_no)
         .order_by(bills.c.period.desc()).limit(1))
    row = conn.execute(q).first()
    if row is None:
        return None
    bill = row_to_bill(row)
    if area and bill.area and bill.area != area:
        return None
    return bill


def past_bills(conn: Connection, biller: str, account_no: str) -> list[Bill]:
    q = (select(bills).where(bills.c.biller == biller, bills.c.account_no == account_no)
         .order_by(bills.c.period.desc()).limit(PAST_BILLS))
    return [row_to_bill(r) for r in conn.execute(q).fetchall()]


def accounts_of_mobile(conn: Connection, biller: Biller, msisdn: str) -> list[str]:
    """Accounts whose bills carry this mobile number (the importer stores E.164)."""
    q = (select(bills.c.account_no)
         .where(of_biller(biller.code), bills.c.mobile.in_(("+" + msisdn, msisdn)))
         .distinct())
    return sorted({r.account_no for r in conn.execute(q)})


def status_of(conn: Connection, bill: Bill, biller: Biller) -> BillStatus:
    return bill_status(conn, bill, today(biller), biller.late_payment.grace_days)
