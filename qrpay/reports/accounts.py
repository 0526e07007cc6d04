"""``arrears``: what accounts still owe after their latest bill's due date, by area and
billing book; ``consumers``: how many accounts there are by category and area (as KESCO
counts its connections).

An account's arrears is its ledger balance (every entry of the account: the newest bill
carries the older ones' unpaid amounts, so nothing counts twice), listed when positive
and the account's latest bill was due before ``as_of``.  The billing book is the account
number without its last two digits (as the print books have it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from qrpay.ebill.batch import book_of
from qrpay.store.schema import bills, ledger


@dataclass(frozen=True)
class Group:
    keys: tuple[str, ...]
    accounts: int
    amount: int


def _latest_bills(conn: Connection, biller: str) -> dict[str, tuple[str, str, dt.date]]:
    """account -> (area, category, due date) of its latest bill."""
    q = (select(bills.c.account_no, bills.c.area, bills.c.category, bills.c.due_date)
         .where(bills.c.biller == biller).order_by(bills.c.account_no, bills.c.period))
    return {a: (area or "", cat or "", due) for a, area, cat, due in conn.execute(q)}


def arrears(conn: Connection, biller: str, as_of: dt.date) -> list[Group]:
    latest = _latest_bills(conn, biller)
    q = (select(ledger.c.account_no, func.sum(ledger.c.amount)).where(ledger.c.biller == biller)
         .group_by(ledger.c.account_no).having(func.sum(ledger.c.amount) > 0))
    groups: dict[tuple[str, str], list[int]] = {}
    for account, balance in conn.execute(q):
        bill = latest.get(account)
        if bill is None or bill[2] >= as_of:
            continue
        key = (bill[0], book_of(account)[0])
        acc = groups.setdefault(key, [0, 0])
        acc[0] += 1
        acc[1] += int(balance)
    return [Group(k, n, amt) for k, (n, amt) in sorted(groups.items())]


def consumers(conn: Connection, biller: str) -> list[Group]:
    """Accounts by (category, area) of their latest bill, largest first."""
    counts: dict[tuple[str, str], int] = {}
    for area, cat, _ in _latest_bills(conn, biller).values():
        counts[(cat, area)] = counts.get((cat, area), 0) + 1
    return [Group(k, n, 0) for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
