"""Helpers for the reconciliation tests: bills straight into the store, callbacks posted
through the real posting path, settlement files written in each built-in format."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from qrpay.bills import Bill
from qrpay.config import Channel, Config
from qrpay.payments.ledger import charge_bill
from qrpay.payments.posting import PaymentIn, post_payment
from qrpay.store import Store, utcnow
from qrpay.store.schema import bills

DUE = dt.date(2026, 12, 5)


def make_bill(bill_no: str, *, amount: int = 123450, period: str = "2026-11",
              account_no: str | None = None, category: str | None = "domestic",
              area: str | None = "urban", due_date: dt.date = DUE, arrears: int = 0) -> Bill:
    return Bill(bill_no=bill_no, biller="best", account_no=account_no or bill_no[-9:],
                name="Ravi Kumar", period=period, amount=amount, due_date=due_date,
                late_amount=None, arrears=arrears, mobile="+919812345678", category=category,
                area=area)


def add_bill(store: Store, bill_no: str, **kw: Any) -> Bill:
    bill = make_bill(bill_no, **kw)
    now = utcnow()
    with store.begin() as conn:
        conn.execute(bills.insert().values(
            bill_no=bill.bill_no, biller=bill.biller, account_no=bill.account_no,
            name=bill.name, period=bill.period, amount=bill.amount, due_date=bill.due_date,
            late_amount=None, arrears=bill.arrears, mobile=bill.mobile, category=bill.category,
            area=bill.area, content_hash="x" * 64, created_at=now, updated_at=now))
        charge_bill(conn, bill, now=now)
    return bill


def pay(store: Store, config: Config, channel: str, txn_id: str, bill_no: str, amount: int,
        *, now: dt.datetime | None = None, status: str = "success", mode: str = "upi"):
    with store.begin() as conn:
        return post_payment(conn, config, PaymentIn(
            channel=channel, txn_id=txn_id, bill_no=bill_no, amount=amount, currency="INR",
            status=status, mode=mode, paid_at=now), now=now)


def count(store: Store, table: Any, *where: Any) -> int:
    with store.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where))
                   .scalar_one())


@pytest.fixture
def recon_config(best_config: Config) -> Config:
    """BEST with a Cashfree channel too, and the settlement maps set in the profile."""
    channels = dict(best_config.channels)
    channels["cashfree"] = Channel(name="cashfree", adapter="generic", display_name="Cashfree",
                                   settings={"settlement": {"format": "cashfree"}})
    best = dataclasses.replace(best_config.billers["best"],
                               channels=(*best_config.billers["best"].channels, "cashfree"),
                               digital_target_percent="80")
    return dataclasses.replace(best_config, channels=channels, billers={"best": best})


# ------------------------------------------------------------------ settlement files

@dataclass(frozen=True)
class Row:
    """A settlement line in no particular format (amounts in paise)."""

    kind: str  # payment, refund, other
    txn_id: str
    bill_no: str | None
    amount: int
    fee: int = 0
    tax: int = 0
    net: int | None = None  # None: amount - fee - tax
    settlement_id: str = "setl_1"
    settled_on: str = "2026-11-20"
    refund_id: str = ""

    @property
    def net_amount(self) -> int:
        return self.amount - self.fee - self.tax if self.net is None else self.net


def rupees(paise: int) -> str:
    return f"{paise // 100}.{paise % 100:02d}"


def write_razorpay_csv(path: Path, rows: list[Row]) -> Path:
    cols = ["entity_id", "type", "debit", "credit", "amount", "currency", "fee", "tax",
            "on_hold", "settled", "created_at", "settled_at", "settlement_id",
            "settlement_utr", "payment_id", "order_id", "order_receipt", "method"]
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for r in rows:
            refund = r.kind == "refund"
            settled_at = int(dt.datetime.fromisoformat(r.settled_on + "T12:00:00+05:30")
                             .timestamp())
            w.writerow([r.refund_id if refund else r.txn_id,
                        {"payment": "payment", "refund": "refund"}.get(r.kind, "adjustment"),
                        r.net_amount if refund else 0, 0 if refund else r.net_amount,
                        r.amount, "INR", r.fee, r.tax, "false", "true", settled_at - 86400,
                        settled_at, r.settlement_id, "UTR" + r.settlement_id,
                        r.txn_id if refund else "", "order_" + r.txn_id, r.bill_no or "",
                        "upi"])
    return path


def write_cashfree_xlsx(path: Path, rows: list[Row]) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["event_id", "event_type", "sale_type", "cf_payment_id", "order_id",
                  "event_amount", "payment_service_charge", "payment_service_tax",
                  "event_settlement_amount", "cf_settlement_id", "settlement_date",
                  "payment_utr", "payment_time", "payment_group", "refund_id"])
    for n, r in enumerate(rows):
        refund = r.kind == "refund"
        sheet.append([f"ev{n}", {"payment": "PAYMENT", "refund": "REFUND"}.get(r.kind,
                                                                              "ADJUSTMENT"),
                      "DEBIT" if refund else "CREDIT", r.txn_id, r.bill_no or "",
                      rupees(r.amount), rupees(r.fee), rupees(r.tax),
                      ("-" if refund else "") + rupees(r.net_amount), r.settlement_id,
                      r.settled_on, f"4123{n:08d}", r.settled_on + "T10:00:00+05:30",
                      "upi", r.refund_id])
    book.save(path)
    return path


def write_generic_jsonl(path: Path, rows: list[Row]) -> Path:
    with path.open("w") as fh:
        for r in rows:
            status = {"payment": "success", "refund": "refund"}.get(r.kind, "failed")
            fh.write(json.dumps({"txn_id": r.txn_id, "bill_no": r.bill_no,
                                 "amount": rupees(r.amount), "fee": rupees(r.fee),
                                 "tax": rupees(r.tax), "net": rupees(r.net_amount),
                                 "settlement_id": r.settlement_id,
                                 "settled_on": r.settled_on, "status": status,
                                 "refund_id": r.refund_id, "mode": "wallet"}) + "\n")
    return path


WRITERS = {"razorpay": ("razorpay", ".csv", write_razorpay_csv),
           "cashfree": ("cashfree", ".xlsx", write_cashfree_xlsx),
           "generic": ("upi", ".jsonl", write_generic_jsonl)}
