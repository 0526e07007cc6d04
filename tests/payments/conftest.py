"""Helpers for the payment tests: bills inserted straight into the store."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Connection

from qrpay.bills import Bill
from qrpay.payments.ledger import charge_bill
from qrpay.store import Store, utcnow
from qrpay.store.schema import bills

DUE = dt.date(2024, 6, 15)


def make_bill(bill_no: str = "B2405100000001", *, biller: str = "best",
              account_no: str | None = None, amount: int = 123450,
              late_amount: int | None = 125000, due_date: dt.date = DUE,
              mobile: str | None = "919812345678", language: str | None = None,
              arrears: int = 0) -> Bill:
    return Bill(bill_no=bill_no, biller=biller, account_no=account_no or bill_no[-9:],
                name="Ravi Kumar", period="2024-05", amount=amount, due_date=due_date,
                late_amount=late_amount, arrears=arrears, mobile=mobile, language=language)


def insert_bill(conn: Connection, bill: Bill, *, charge: bool = True) -> Bill:
    now = utcnow()
    values: dict[str, Any] = {
        "bill_no": bill.bill_no, "biller": bill.biller, "account_no": bill.account_no,
        "name": bill.name, "period": bill.period, "amount": bill.amount,
        "due_date": bill.due_date, "late_amount": bill.late_amount, "arrears": bill.arrears,
        "mobile": bill.mobile, "language": bill.language, "history": json.dumps([]),
        "charges": json.dumps([]), "content_hash": "x" * 64, "created_at": now,
        "updated_at": now,
    }
    conn.execute(bills.insert().values(**values))
    if charge:
        charge_bill(conn, bill)
    return bill


def add_bill(store: Store, **kw: Any) -> Bill:
    charge = kw.pop("charge", True)
    with store.begin() as conn:
        return insert_bill(conn, make_bill(**kw), charge=charge)
