"""What a cashier does at the counter, without HTTP: scan a bill, collect, look up a receipt.

* :func:`scan` resolves what the scanner typed (a payment-QR payload, or a bill number
  keyed in by hand) into the bill, its authenticity verdict and where it stands now.
  ``altered``, ``foreign`` and ``invalid`` payloads and other billers' bills are refused.
* :func:`collect` posts a counter payment through the payments core with channel
  ``counter`` and the form's idempotency key as ``txn_id``: a double submit posts once
  and both submits get the same receipt.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, select

from qrpay.bills import Bill, find_bill, get_bill
from qrpay.clock import aware
from qrpay.config import Biller, Config
from qrpay.desk.lookup import find_bills, looks_typed
from qrpay.desk.shift import COUNTER_CHANNEL, MODES, lock_shift
from qrpay.desk.staff import LoginCheck, Staff, record_login
from qrpay.digits import to_ascii
from qrpay.errors import Conflict, NotFound, PaymentError, QrpayError, ValidationError
from qrpay.payments.ledger import BillStatus, bill_status
from qrpay.store.schema import bills, payments, shifts, staff

REFUSED_VERDICTS = ("altered", "foreign", "invalid")
MAX_SCAN = 2000
MAX_REFERENCE = 60
_KEY = re.compile(r"^D[A-Za-z0-9_-]{20,40}$")
_RECEIPT = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,60}-[0-9]{9}$")


@dataclass(frozen=True)
class ScanOutcome:
    """What the desk shows after a scan.

    ``verdict`` is the resolver's (``genuine``, ``altered``, ``foreign``, ``invalid``) or
    ``typed`` for a bill number keyed in by hand.  ``refused`` carries the reason code
    when no payment may be taken (the bill and status are still shown when known).
    """

    verdict: str
    code: str | None
    bill: Bill | None
    status: BillStatus | None
    refused: str | None
    qr_amount: int | None = None  # the amount the QR carries, when it carries one
    format: str | None = None
    found_by: str | None = None  # bill_no, account, meter, mobile: what a typed number was
    earlier: tuple[tuple[Bill, BillStatus], ...] = ()  # older bills of the account, unpaid
    choices: tuple[tuple[Bill, BillStatus], ...] = ()  # several accounts: each one's latest

    @property
    def can_collect(self) -> bool:
        return self.refused is None and self.bill is not None and self.status is not None

    @property
    def already_paid(self) -> bool:
        return self.status is not None and self.status.is_settled

    def audit_detail(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "code": self.code, "format": self.format,
                "bill_no": self.bill.bill_no if self.bill else None, "refused": self.refused,
                "state": self.status.state if self.status else None,
                "found_by": self.found_by,
                "choices": [b.bill_no for b, _ in self.choices] or None}


@dataclass(frozen=True)
class CollectIn:
    bill_no: str
    txn_id: str  # the idempotency key embedded in the collect form
    amount: int
    mode: str
    reference: str = ""
    confirm_paid: bool = False
    confirm_excess: int | None = None  # the amount the cashier confirmed above what is due
    approver: LoginCheck | None = None  # a supervisor's password, checked before the tx


@dataclass(frozen=True)
class AmountHold:
    """Why an amount was not collected (nothing posted): ``over_due`` needs the cashier's
    confirmation of the excess, ``needs_approval`` a supervisor, ``over_mode_max`` another
    mode (refused outright), ``approval_refused`` a right supervisor password."""

    code: str
    amount: int
    due_now: int
    ceiling: int
    mode_max: int | None

    @property
    def excess(self) -> int:
        return self.amount - self.due_now

    def audit_detail(self) -> dict[str, Any]:
        return {"code": self.code, "amount": self.amount, "due_now": self.due_now,
                "excess": self.excess, "ceiling": self.ceiling, "mode_max": self.mode_max}


@dataclass(frozen=True)
class Collected:
    receipt_no: str
    payment_id: int
    duplicate: bool
    approved_by: str | None = None  # the supervisor who approved an amount over the ceiling


@dataclass(frozen=True)
class ReceiptView:
    receipt_no: str
    bill: Bill
    biller: Biller
    amount: int
    mode: str
    reference: str
    paid_at: dt.datetime | None
    cashier: str
    counter: str
    shift_id: int | None
    shift_open: bool
    status: str  # success, cancelled, reversed
    cancel_note: str | None  # the reason as typed
    payment_id: int
    channel: str = COUNTER_CHANNEL
    utr: str = ""  # the channel's UTR/RRN of an online payment
    cancelled_by: str | None = None  # the supervisor who cancelled it

    @property
    def in_force(self) -> bool:
        return self.status == "success"

    @property
    def at_counter(self) -> bool:
        return self.channel == COUNTER_CHANNEL

    @property
    def method(self) -> str:
        """How it was paid: the counter's mode (cash, card, cheque) or, online, the
        channel's mode when it names one (upi) else the channel (bkash)."""
        return self.mode


def new_txn_id() -> str:
    """A fresh idempotency key for one rendering of the collect form."""
    return "D" + secrets.token_urlsafe(18)


def check_txn_id(value: str) -> str:
    if not isinstance(value, str) or not _KEY.match(value):
        raise ValidationError("bad form key; scan the bill again", code="bad_form_key",
                              field="txn_id")
    return value


def typed(conn: Connection, config: Config, who: Staff, text: str,
          now: dt.datetime | None = None) -> ScanOutcome:
    """A number keyed in by hand: bill, account, meter or mobile (see qrpay.desk.lookup).

    One account: its latest bill, with the earlier ones still unpaid.  Several accounts
    (a mobile or meter shared): each account's latest bill to choose from.  Nothing of
    this biller: ``not_found``, or ``wrong_biller`` when it is another biller's number.
    """
    biller = config.biller(who.biller)
    found = find_bills(conn, biller, text)
    if not found.bills:
        code = "wrong_biller" if found.elsewhere else "not_found"
        return ScanOutcome("typed", code, None, None, code, found_by=found.kind)
    if len(found.accounts) > 1:
        choices = tuple((b, _status(conn, config, b, now)) for b in found.latest_per_account())
        return ScanOutcome("typed", "choose_account", None, None, None, found_by=found.kind,
                           choices=choices)
    latest, *older = found.bills
    earlier = tuple((b, st) for b in older
                    if (st := _status(conn, config, b, now)).due_now > 0)
    return ScanOutcome("typed", None, latest, _status(conn, config, latest, now), None,
                       found_by=found.kind, earlier=earlier)


def _resolve(text: str, config: Config) -> Any:
    from qrpay.payload import resolve

    return resolve(text, config)


def scanned_receipt(conn: Connection, who: Staff, text: str) -> str | None:
    """The receipt number when the scan is a receipt's QR of ``who``'s biller."""
    compact = to_ascii(text or "").strip().upper()
    if not _RECEIPT.match(compact):
        return None
    biller = conn.execute(select(payments.c.biller).where(
        payments.c.receipt_no == compact)).scalar_one_or_none()
    return compact if biller == who.biller else None


def scan(conn: Connection, config: Config, who: Staff, text: str,
         now: dt.datetime | None = None) -> ScanOutcome:
    """Resolve a scan (or a typed bill number) for ``who``'s desk."""
    text = (text or "").strip()
    if not text:
        raise ValidationError("nothing was scanned", code="empty_scan", field="payload")
    if len(text) > MAX_SCAN:
        return ScanOutcome("invalid", "too_long", None, None, "invalid")
    if looks_typed(text):
        return typed(conn, config, who, text, now)
    try:
        res = _resolve(text, config)
    except QrpayError as exc:
        return ScanOutcome("invalid", exc.code, None, None, "invalid")
    bill = find_bill(conn, res.bill_no) if res.bill_no else None
    if res.verdict in REFUSED_VERDICTS:
        status = _status(conn, config, bill, now) if bill and bill.biller == who.biller else None
        return ScanOutcome(res.verdict, res.code, bill if status else None, status,
                           res.verdict, res.amount, res.format)
    if bill is None:
        return ScanOutcome(res.verdict, "unknown_bill", None, None, "unknown_bill",
                           res.amount, res.format)
    return _outcome(conn, config, who, bill, res.verdict, res.code, res.amount, res.format, now)


def bill_outcome(conn: Connection, config: Config, who: Staff, bill_no: str, verdict: str,
                 now: dt.datetime | None = None) -> ScanOutcome:
    """The bill as the desk shows it again (after a held collect), with the scan's verdict."""
    return _outcome(conn, config, who, get_bill(conn, bill_no), verdict, None, None, None, now)


def _status(conn: Connection, config: Config, bill: Bill,
            now: dt.datetime | None) -> BillStatus:
    biller = config.biller(bill.biller)
    return bill_status(conn, bill, biller.today(now), biller.late_payment.grace_days)


def _outcome(conn: Connection, config: Config, who: Staff, bill: Bill, verdict: str,
             code: str | None, qr_amount: int | None, fmt: str | None,
             now: dt.datetime | None) -> ScanOutcome:
    if bill.biller != who.biller:
        return ScanOutcome(verdict, "wrong_biller", None, None, "wrong_biller", qr_amount, fmt)
    return ScanOutcome(verdict, code, bill, _status(conn, config, bill, now), None,
                       qr_amount, fmt)


def check_collect(form: CollectIn) -> CollectIn:
    check_txn_id(form.txn_id)
    if form.mode not in MODES:
        raise ValidationError(f"mode must be one of {', '.join(MODES)}", code="bad_mode",
                              field="mode")
    if form.amount <= 0:
        raise ValidationError("the amount must be more than zero", code="amount_not_positive",
                              field="amount")
    reference = form.reference.strip()
    if len(reference) > MAX_REFERENCE:
        raise ValidationError("reference too long", code="reference_too_long",
                              field="reference")
    if form.mode != "cash" and not reference:
        raise ValidationError("card and cheque payments need a reference",
                              code="missing_reference", field="reference")
    return form


def existing_counter_payment(conn: Connection, txn_id: str) -> Collected | None:
    row = conn.execute(select(payments.c.id, payments.c.receipt_no).where(
        payments.c.channel == COUNTER_CHANNEL, payments.c.txn_id == txn_id)).first()
    if row is None or not row.receipt_no:
        return None
    return Collected(receipt_no=row.receipt_no, payment_id=row.id, duplicate=True)


def collect(conn: Connection, config: Config, who: Staff, shift_id: int | None,
            form: CollectIn, now: dt.datetime) -> Collected | AmountHold:
    """Post one counter payment, or say why the amount needs more (nothing posted).

    Call inside a write transaction.  The shift row (shared) and then the bill row are
    locked before anything is checked, so two desks collecting one bill, or a desk and an
    online callback, take turns and the second sees the first's payment; a shift being
    closed is seen closed.  A hold is returned, not raised, so that the caller commits
    its audit row (and a wrong supervisor password's failure count).
    """
    check_collect(form)
    done = existing_counter_payment(conn, form.txn_id)
    if done is not None:
        return done
    if shift_id is None or not lock_shift(conn, shift_id, exclusive=False).is_open:
        raise Conflict("the shift is closed: log in again to open a new one",
                       code="shift_closed")
    _lock_bill(conn, form.bill_no)
    done = existing_counter_payment(conn, form.txn_id)  # a double submit that waited
    if done is not None:
        return done
    bill = get_bill(conn, form.bill_no)
    if bill.biller != who.biller:
        raise Conflict("this bill belongs to another biller", code="wrong_biller")
    status = _status(conn, config, bill, now)
    if status.is_settled and not form.confirm_paid:
        raise Conflict("this bill is already paid; confirm to collect anyway",
                       code="already_paid")
    hold, approver = check_amount(conn, config.biller(bill.biller), who, form,
                                  status.due_now, now)
    if hold is not None:
        return hold
    done = _post(conn, config, who, shift_id, bill, form, now)
    return replace(done, approved_by=approver)


def check_amount(conn: Connection, biller: Biller, who: Staff, form: CollectIn, due: int,
                 now: dt.datetime) -> tuple[AmountHold | None, str | None]:
    """The desk's amount rules, in order: the mode's maximum, the excess confirmed, a
    supervisor (the cashier's own role, or a supervisor's password) above the ceiling.

    Returns the hold (None: collect) and the supervisor who approved, if one had to."""
    limits = biller.amount_limits
    due = max(due, 0)
    ceiling, most = limits.ceiling(due), limits.mode_max(form.mode)

    def hold(code: str) -> tuple[AmountHold, None]:
        return AmountHold(code, form.amount, due, ceiling, most), None

    if most is not None and form.amount > most:
        return hold("over_mode_max")
    if form.amount <= due:
        return None, None
    if form.confirm_excess != form.amount:
        return hold("needs_approval" if form.amount > ceiling else "over_due")
    if form.amount <= ceiling:
        return None, None
    if who.has_role("supervisor"):
        return None, who.username
    if form.approver is None or not form.approver.username:
        return hold("needs_approval")
    approver = _approver(conn, who, form.approver, now)
    return (None, approver) if approver else hold("approval_refused")


def _approver(conn: Connection, who: Staff, check: LoginCheck, now: dt.datetime) -> str | None:
    """The supervisor whose right password ``check`` is (same biller, active), else None;
    a wrong password counts towards that account's lockout like a failed login."""
    outcome = record_login(conn, check, now)
    approver = outcome.staff
    if approver is None or approver.biller != who.biller or not approver.has_role("supervisor"):
        return None
    return approver.username


def _lock_bill(conn: Connection, bill_no: str) -> None:
    # The same row lock the payments core takes when posting (SQLite: BEGIN IMMEDIATE).
    if conn.dialect.name == "postgresql":
        conn.execute(select(bills.c.id).where(bills.c.bill_no == bill_no).with_for_update())


def _post(conn: Connection, config: Config, who: Staff, shift_id: int, bill: Bill,
          form: CollectIn, now: dt.datetime) -> Collected:
    from qrpay.payments.posting import PaymentIn, post_payment

    biller = config.biller(bill.biller)
    result = post_payment(conn, config, PaymentIn(
        channel=COUNTER_CHANNEL, txn_id=form.txn_id, bill_no=bill.bill_no,
        amount=form.amount, currency=biller.currency, status="success", paid_at=now,
        payer=f"counter {who.counter}", mode=form.mode,
        reference=form.reference.strip() or None, staff_id=who.id, shift_id=shift_id),
        now=now)
    if not result.receipt_no:
        raise PaymentError("the payment was not posted", code=result.result or "not_posted")
    return Collected(receipt_no=result.receipt_no, payment_id=result.payment_id,
                     duplicate=result.result == "duplicate")


def receipt_view(conn: Connection, config: Config, receipt_no: str) -> ReceiptView:
    q = (select(payments, staff.c.username, shifts.c.counter, shifts.c.closed_at)
         .select_from(payments.outerjoin(staff, staff.c.id == payments.c.staff_id)
                      .outerjoin(shifts, shifts.c.id == payments.c.shift_id))
         .where(payments.c.receipt_no == receipt_no))
    row = conn.execute(q).first()
    if row is None:
        raise NotFound(f"no receipt {receipt_no}", code="unknown_receipt", field="receipt_no")
    m = row._mapping
    from qrpay.payments.ledger import bill_entries

    notes = [e.note for e in bill_entries(conn, m["bill_no"])
             if e.kind == "cancel" and e.payment_id == m["id"]]
    paid_at = aware(m["paid_at"])
    return ReceiptView(
        receipt_no=receipt_no, bill=get_bill(conn, m["bill_no"]),
        biller=config.biller(m["biller"]), amount=m["amount"], mode=m["mode"] or m["channel"],
        reference=m["reference"] or m["utr"] or "", paid_at=paid_at,
        cashier=m["username"] or "", counter=m["counter"] or "", shift_id=m["shift_id"],
        shift_open=m["shift_id"] is not None and m["closed_at"] is None,
        status=m["status"], cancel_note=cancel_reason(notes[-1]) if notes else None,
        cancelled_by=cancelled_by(notes[-1]) if notes else None,
        payment_id=m["id"], channel=m["channel"], utr=m["utr"] or "")


# The cancel entry's note: the core prefixes its kind, the desk appends who cancelled
# (qrpay.desk.cancel writes ``<reason> (by <username>)``).
_CANCEL_NOTE = re.compile(r"(?s)(?:cancelled:)?\s*(.*?)(?:\s*\(by ([^()\s]+)\))?\s*")


def cancel_reason(note: str | None) -> str | None:
    """The reason as typed, from the cancel entry's note: the receipt's stamp reads
    ``CANCELLED: <reason>``, not ``CANCELLED: cancelled: ...``, and says who cancelled in
    the desk's language (:func:`cancelled_by`), not ``(by meera)`` on a Hindi page."""
    if note is None:
        return None
    m = _CANCEL_NOTE.fullmatch(note)
    return (m.group(1) if m else note).strip() or None


def cancelled_by(note: str | None) -> str | None:
    """The username the desk appended to the cancel entry's note, if any."""
    m = _CANCEL_NOTE.fullmatch(note or "")
    return m.group(2) if m else None
