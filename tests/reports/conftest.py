"""A synthetic KESCO ledger built with the counts and amounts of seed 004 (December 2019:
cards 18,774 payments, net banking 2,422, e-wallets 85,688; 1,06,884 payments,
Rs 22,75,63,750; the card amount is the one the total implies, domain.md section 5)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import insert

from qrpay.config import Config
from qrpay.store import Store
from qrpay.store.schema import bills, ledger, payments

KESCO = (("card", 18_774, 8_23_97_211), ("netbanking", 2_422, 67_79_176),
         ("wallet", 85_688, 13_83_87_363))
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
DEC_START = dt.datetime(2019, 12, 1, tzinfo=IST)
CATEGORIES = ("domestic", "commercial", "small & medium")


@pytest.fixture
def kesco_config(best_config: Config) -> Config:
    best = best_config.billers["best"]
    kesco = dataclasses.replace(best, code="kesco", name="KESCo", name_local="केस्को",
                                channels=("razorpay", "upi", "phonepe"),
                                digital_target_percent="80")
    return dataclasses.replace(best_config, billers={"kesco": kesco})


def split(total_rupees: int, n: int) -> list[int]:
    """``n`` amounts in paise adding up to exactly ``total_rupees``."""
    paise = total_rupees * 100
    base, extra = divmod(paise, n)
    return [base + (1 if i < extra else 0) for i in range(n)]


def synthetic_ledger(store: Store, *, modes: tuple[tuple[str, int, int], ...] = KESCO,
                     start: dt.datetime = DEC_START, days: int = 31, biller: str = "kesco",
                     first_id: int = 1, channel: str = "razorpay",
                     chunk: int = 20_000) -> int:
    """Insert the payments and their ledger entries straight into the store; return
    the next free id."""
    pid = first_id
    span = dt.timedelta(days=days).total_seconds()
    total = sum(n for _, n, _ in modes)
    seq = 0
    pay_rows: list[dict[str, Any]] = []
    led_rows: list[dict[str, Any]] = []
    bill_rows: list[dict[str, Any]] = []
    for mode, n, rupees in modes:
        for amount in split(rupees, n):
            at = (start + dt.timedelta(seconds=span * seq / total)).astimezone(dt.UTC)
            bill_no = f"K{pid:011d}"
            account = f"{pid:09d}"
            bill_rows.append({
                "bill_no": bill_no, "biller": biller, "account_no": account, "name": "x",
                "period": "2019-11", "amount": amount, "due_date": dt.date(2019, 12, 20),
                "arrears": 0, "category": CATEGORIES[pid % 3], "area": "urban",
                "content_hash": "x", "created_at": at, "updated_at": at})
            pay_rows.append({
                "id": pid, "channel": channel, "txn_id": f"t{pid}", "biller": biller,
                "bill_no": bill_no, "account_no": account, "amount": amount,
                "currency": "INR", "status": "success", "mode": mode, "receipt_no": f"R{pid}",
                "paid_at": at, "posted_at": at, "created_at": at, "updated_at": at})
            led_rows.append({
                "biller": biller, "account_no": account, "bill_no": bill_no,
                "kind": "payment", "amount": -amount, "payment_id": pid, "created_at": at})
            pid += 1
            seq += 1
            if len(pay_rows) >= chunk:
                _flush(store, bill_rows, pay_rows, led_rows)
    _flush(store, bill_rows, pay_rows, led_rows)
    return pid


def _flush(store: Store, *batches: list[dict[str, Any]]) -> None:
    with store.begin() as conn:
        for table, rows in zip((bills, payments, ledger), batches, strict=True):
            if rows:
                conn.execute(insert(table), rows)
                rows.clear()


@pytest.fixture
def big_store(store: Store) -> Any:
    """``store`` for tests that write a large ledger: on PostgreSQL the tables are
    truncated afterwards (the shared fixture's row-by-row DELETE of 100,000 payments
    re-checks the ledger's foreign key for each row)."""
    yield store
    if not store.is_sqlite:
        from sqlalchemy import text

        from qrpay.store.schema import metadata

        names = ", ".join(t.name for t in metadata.sorted_tables if t.name != "schema_version")
        with store.begin() as conn:
            conn.execute(text(f"TRUNCATE {names}"))
