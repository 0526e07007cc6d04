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

from dataclasses import dataclass

from sqlalchemy import Connection, select

from qrpay.bills import Bill, row_to_bill
from qrpay.config import Config
from qrpay.digits import to_ascii
from qrpay.errors import NotFound, ValidationError
from qrpay.ids import mobile
from qrpay.ids._util import is_separator
from qrpay.store.schema import bills

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


def _newest(rows: list[Bill], period: str | None) -> list[Bill]:
    """The newest bill of each (biller, account), or the one of ``period``."""
    best: dict[tuple[str, str], Bill] = {}
    for bill in rows:
        if period is not None and bill.period != period:
            continue
        key = (bill.biller, bill.account_no)
        if key not in best or bill.period > best[key].period:
            best[key] = bill
    return sorted(best.values(), key=lambda b: (b.account_no, b.biller))


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


def find_bills(conn: Connection, config: Config, ident: Identifier, *,
               period: str | None = None, allowed: tuple[str, ...] = (),
               prefixes: dict[str, tuple[str, ...]] | None = None) -> list[Bill]:
    """The bills ``ident`` names (newest per account), in billers ``allowed`` (empty: all).

    Raises NotFound ``customer_not_found`` when nothing matches, ``bill_not_found`` when
    the account exists but has no bill for ``period``."""
    if ident.kind not in KINDS:
        raise ValidationError(f"unknown identifier kind {ident.kind!r}",
                              code="invalid_identifier", field="kind")
    billers = [c for c in config.billers if not allowed or c in allowed]
    q = select(bills).where(bills.c.biller.in_(billers))
    if ident.kind == "bill":
        q = q.where(bills.c.bill_no == compact(ident.value, "bill"))
    elif ident.kind == "meter":
        q = q.where(bills.c.meter_no == compact(ident.value, "meter"))
    elif ident.kind == "mobile":
        q = q.where(bills.c.mobile.in_(_mobile_forms(config, ident.value, billers)))
    else:
        account = compact(ident.value, "account")
        routed = _route(config, account, tuple(billers), prefixes or {})
        q = q.where(bills.c.account_no == account, bills.c.biller.in_(routed))
    rows = [row_to_bill(r) for r in conn.execute(q.limit(MAX_ACCOUNTS * 24))]
    if not rows:
        raise NotFound(f"no consumer with {ident.kind} {ident.value}",
                       code="customer_not_found", field=ident.kind)
    found = _newest(rows, None if ident.kind == "bill" else period)
    if not found:
        raise NotFound(f"no bill for {period}", code="bill_not_found", field="period")
    return found[:MAX_ACCOUNTS]
