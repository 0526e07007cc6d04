"""From what a consumer typed in a wallet to the bills it names.

Identifier kinds: ``account`` (the consumer or account number), ``bill`` (the bill
number), ``meter`` (the meter number), ``mobile`` (the registered mobile number; one
number may own several accounts).  Digits may be ASCII, Bengali or Devanagari, with any
spacing (:func:`qrpay.ids._util.clean` rules).  A deployment with several billers routes an
account number by the billers' ``account_prefixes`` (else it looks in every biller the
caller may reach), and a bill number by the bill itself.

Each account answers with its newest bill (or the bill of the month asked for): a newer
bill carries what older ones left unpaid as arrears, so only the newest is offered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection

from qrpay.bills import Bill, row_to_bill
from qrpay.config import Config
from qrpay.digits import to_ascii
from qrpay.errors import NotFound, ValidationError
from qrpay.ids import mobile
from qrpay.ids._util import is_separator
from qrpay.payments.ledger import Sums
from qrpay.store.raw import Raw

KINDS = ("account", "bill", "meter", "mobile")
MAX_ACCOUNTS = 20  # one mobile with more accounts than this is answered with the first 20


@dataclass(frozen=True)
class Identifier:
    kind: str
    value: str  # as typed


def compact(text: str, field: str) -> str:
    """ASCII digits and letters, upper case, separators dropped; ``missing_field`` if
    nothing is left."""
    out = "".join(c for c in to_ascii(text).upper() if not is_separator(c) and c.isalnum())
    if not out:
        raise ValidationError(f"{field} is empty", code="missing_field", field=field)
    if not out.isascii():
        raise ValidationError(f"{field} has characters that are not digits or letters",
                              code="invalid_identifier", field=field)
    return out


def _route(config: Config, account: str, allowed: tuple[str, ...],
           prefixes: dict[str, tuple[str, ...]]) -> list[str]:
    candidates = [code for code in config.billers if not allowed or code in allowed]
    routed = [code for code in candidates
              if any(account.startswith(p) for p in prefixes.get(code, ()))]
    return routed or [code for code in candidates if not prefixes.get(code)] or candidates


def _newest(rows: list[Found], period: str | None) -> list[Found]:
    """The newest bill of each (biller, account), or the one of ``period``."""
    best: dict[tuple[str, str], Found] = {}
    for f in rows:
        if period is not None and f.bill.period != period:
            continue
        key = (f.bill.biller, f.bill.account_no)
        if key not in best or f.bill.period > best[key].bill.period:
            best[key] = f
    return sorted(best.values(), key=lambda f: (f.bill.account_no, f.bill.biller))


def _mobile_forms(config: Config, value: str, billers: list[str]) -> list[str]:
    forms = []
    for country in sorted({config.billers[b].country for b in billers}):
        try:
            forms.append(mobile.validate(value, country))
        except ValidationError:
            continue
    if not forms:
        raise ValidationError(f"{value!r} is not a mobile number", code="invalid_identifier",
                              field="mobile")
    return forms


@dataclass(frozen=True)
class Found:
    """A bill with the sums of its own ledger entries, read in the same statement."""

    bill: Bill
    sums: Sums


COLUMNS = ("bill_no", "biller", "account_no", "name", "period", "amount", "due_date",
           "late_amount", "arrears", "mobile", "category", "area", "units", "address",
           "language", "meter_no", "history", "charges")
_WHERE = {"bill": "bill_no", "account": "account_no", "meter": "meter_no",
          "mobile": "mobile"}
MAX_ROWS = 2000  # bills joined with their ledger rows: a handful per bill


# looked up by a column of their own: the biller only a filter (qrpay.bills.of_biller)
_OWN_INDEX = frozenset({"mobile", "meter_no"})


def _biller_term(column: str, table: str) -> str:
    return f"({table}biller || '')" if column in _OWN_INDEX else f"{table}biller"


@lru_cache(maxsize=256)
def _sql(column: str, n_values: int, n_billers: int) -> str:
    values = ", ".join("?" * n_values)
    billers = ", ".join("?" * n_billers)
    return (f"SELECT {', '.join('b.' + c for c in COLUMNS)}, l.kind, l.amount "
            f"FROM bills b LEFT JOIN ledger l ON l.bill_no = b.bill_no "
            f"WHERE b.{column} IN ({values}) AND {_biller_term(column, 'b.')} "
            f"IN ({billers}) LIMIT {MAX_ROWS}")


@lru_cache(maxsize=256)
def _numbers_sql(column: str, n_values: int, n_billers: int) -> str:
    values = ", ".join("?" * n_values)
    billers = ", ".join("?" * n_billers)
    return (f"SELECT bill_no, biller, account_no, period FROM bills "
            f"WHERE {column} IN ({values}) AND {_biller_term(column, '')} IN ({billers}) "
            f"LIMIT {MAX_ROWS}")


def bill_numbers(conn: Connection, config: Config, ident: Identifier, *,
                 period: str | None = None, allowed: tuple[str, ...] = (),
                 prefixes: dict[str, tuple[str, ...]] | None = None
                 ) -> Callable[[], tuple[str, ...]]:
    """The numbers of the bills :func:`find_bills` would answer (the newest per
    account, or the month asked for), from the bill rows alone: what a payment will
    lock.  The read is sent now (in the caller's pipeline, if one is open); the function
    returned gives the numbers once it is done.  Nothing found is an empty answer, not
    an error."""
    column, values, where = _where(config, ident, allowed, prefixes or {})
    read = Raw(conn).query(_numbers_sql(column, len(values), len(where)), [*values, *where])
    return lambda: _newest_numbers(read.rows(), ident, period)


def _newest_numbers(rows: list[tuple[Any, ...]], ident: Identifier, period: str | None
                    ) -> tuple[str, ...]:
    best: dict[tuple[str, str], tuple[str, str]] = {}
    for bill_no, biller, account, month in rows:
        if ident.kind != "bill" and period is not None and month != period:
            continue
        if (biller, account) not in best or month > best[(biller, account)][1]:
            best[(biller, account)] = (bill_no, month)
    return tuple(best[k][0] for k in sorted(best, key=lambda k: (k[1], k[0])))[:MAX_ACCOUNTS]


class _Row:
    __slots__ = ("_mapping",)

    def __init__(self, mapping: dict[str, Any]) -> None:
        self._mapping = mapping


def _bills(rows: list[tuple[Any, ...]]) -> list[Found]:
    by_no: dict[str, tuple[tuple[Any, ...], list[tuple[str, int]]]] = {}
    for r in rows:
        entry = by_no.setdefault(r[0], (r, []))
        if r[-2] is not None:
            entry[1].append((r[-2], int(r[-1])))
    out = []
    for head, entries in by_no.values():
        mapping = dict(zip(COLUMNS, head, strict=False))
        if isinstance(mapping["due_date"], str):
            mapping["due_date"] = dt.date.fromisoformat(mapping["due_date"])
        out.append(Found(row_to_bill(_Row(mapping)), Sums.of(entries)))
    return out


def _values(config: Config, ident: Identifier, billers: list[str],
            prefixes: dict[str, tuple[str, ...]]) -> tuple[list[str], list[str]]:
    """The values to look for and the billers to look in."""
    if ident.kind == "mobile":
        return _mobile_forms(config, ident.value, billers), billers
    value = compact(ident.value, ident.kind)
    if ident.kind == "account":
        return [value], _route(config, value, tuple(billers), prefixes)
    return [value], billers


def bills_query(config: Config, ident: Identifier, *, allowed: tuple[str, ...] = (),
                prefixes: dict[str, tuple[str, ...]] | None = None
                ) -> tuple[str, list[str]]:
    """The one statement :func:`find_bills` runs (to send it in a pipeline with others);
    ValidationError for an identifier that names nothing."""
    column, values, where = _where(config, ident, allowed, prefixes or {})
    return _sql(column, len(values), len(where)), [*values, *where]


def _where(config: Config, ident: Identifier, allowed: tuple[str, ...],
           prefixes: dict[str, tuple[str, ...]]) -> tuple[str, list[str], list[str]]:
    """The column to look in, the values to look for and the billers to look in."""
    if ident.kind not in KINDS:
        raise ValidationError(f"unknown identifier kind {ident.kind!r}",
                              code="invalid_identifier", field="kind")
    billers = [c for c in config.billers if not allowed or c in allowed]
    values, where = _values(config, ident, billers, prefixes)
    return _WHERE[ident.kind], values, where


def found_in(rows: list[tuple[Any, ...]], ident: Identifier, period: str | None = None
             ) -> list[Found]:
    """:func:`find_bills`' answer from the rows of :func:`bills_query`."""
    if not rows:
        raise NotFound(f"no consumer with {ident.kind} {ident.value}",
                       code="customer_not_found", field=ident.kind)
    found = _newest(_bills(rows), None if ident.kind == "bill" else period)
    if not found:
        raise NotFound(f"no bill for {period}", code="bill_not_found", field="period")
    return found[:MAX_ACCOUNTS]


def find_bills(conn: Connection, config: Config, ident: Identifier, *,
               period: str | None = None, allowed: tuple[str, ...] = (),
               prefixes: dict[str, tuple[str, ...]] | None = None) -> list[Found]:
    """The bills ``ident`` names (newest per account), in billers ``allowed`` (empty: all),
    each with its ledger sums; one indexed statement.

    Raises NotFound ``customer_not_found`` when nothing matches, ``bill_not_found`` when
    the account exists but has no bill for ``period``."""
    statement, params = bills_query(config, ident, allowed=allowed, prefixes=prefixes)
    return found_in(Raw(conn).all(statement, params), ident, period)
