"""What staff do at the desk, without HTTP: one transaction and its audit rows each.

Every action is ``action(conn, config, actor, input, now) -> result`` and runs inside the
caller's write transaction (``with store.begin() as conn``); the audit row is written in
that same transaction, so an action and its record commit together or not at all.  The
web desk (:mod:`qrpay.web.desk`) only turns forms into inputs and results into pages; a
CLI, a USSD agent menu or an API can call the same functions.

Password checks (argon2, ~50 ms) happen before the transaction
(:func:`qrpay.desk.staff.verify_login`); the actions take the finished
:class:`~qrpay.desk.staff.LoginCheck`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection

from qrpay.config import Config
from qrpay.desk import audit, counter, shift, throttle
from qrpay.desk.audit import Where
from qrpay.desk.cancel import Cancelled, cancel_receipt, check_reason
from qrpay.desk.sessions import create_session, end_session
from qrpay.desk.staff import LoginCheck, LoginOutcome, Staff, public_code, record_login
from qrpay.errors import NotFound


@dataclass(frozen=True)
class Actor:
    """Who acts and from where: a logged-in staff member at a counter, in a shift."""

    staff: Staff
    shift_id: int | None
    remote: str | None = None
    session_id: str | None = None

    @property
    def where(self) -> Where:
        return Where(self.staff.biller, self.staff.counter, self.remote)

    @property
    def name(self) -> str:
        return self.staff.username


# ------------------------------------------------------------------------------ login

@dataclass(frozen=True)
class LoggedIn:
    """A login's outcome: the session token (shown once) or the refusal code."""

    token: str | None
    code: str | None
    staff: Staff | None = None
    shift_id: int | None = None


UNKNOWN_ACTOR = "?"  # the audit actor of a login that named no account


def login_blocked(conn: Connection, where: Where, now: dt.datetime) -> bool:
    """Whether logins from this address are throttled now (check before the password).
    The caller refuses with ``too_many_attempts`` and records it with
    :func:`login_throttled`."""
    return throttle.is_blocked(conn, where.remote, now)


def login_throttled(conn: Connection, config: Config, where: Where, now: dt.datetime) -> None:
    audit.record(conn, UNKNOWN_ACTOR, "login_failed", where,
                 detail={"code": "too_many_attempts"}, at=now)


def login(conn: Connection, config: Config, where: Where, check: LoginCheck,
          now: dt.datetime) -> LoggedIn:
    """Record the checked login, open or join the counter's shift, start a session.

    Wrong passwords lock the account for the address they came from
    (:func:`qrpay.desk.throttle.record_account_failure`), not for every desk."""
    if check.staff_id is not None and throttle.account_locked(conn, check.staff_id,
                                                              where.remote, now):
        outcome = LoginOutcome(None, "locked", check.username)
    else:
        outcome = record_login(conn, check, now, lock_account=False)
    if outcome.staff is None:
        throttle.record_failure(conn, where.remote, now)
        if check.staff_id is not None and outcome.code == "bad_credentials" and \
                throttle.record_account_failure(conn, check.staff_id, where.remote, now):
            outcome = LoginOutcome(None, "locked", check.username)
        # What was typed is stored only when it names an account: a password typed into
        # the username box must not end up in the audit trail.
        actor = outcome.username if check.staff_id is not None else UNKNOWN_ACTOR
        audit.record(conn, actor or UNKNOWN_ACTOR, "login_failed", where,
                     detail={"code": outcome.code}, at=now)
        return LoggedIn(None, public_code(outcome.code))
    who = outcome.staff
    if who.biller not in config.billers:
        audit.record(conn, who.username, "login_failed", where,
                     detail={"code": "unknown_biller"}, at=now)
        return LoggedIn(None, "unknown_biller")
    desk = Where(who.biller, who.counter, where.remote)
    current, opened = shift.join_or_open(conn, who, now)
    if opened:
        audit.record(conn, who.username, "shift_open", desk, detail={"shift": current.id},
                     at=now)
    token, _ = create_session(conn, who, shift_id=current.id, remote=where.remote, now=now)
    audit.record(conn, who.username, "login", desk,
                 detail={"shift": current.id, "role": who.role}, at=now)
    return LoggedIn(token, None, who, current.id)


def logout(conn: Connection, config: Config, actor: Actor, now: dt.datetime) -> None:
    if actor.session_id is not None:
        end_session(conn, actor.session_id, now)
    audit.record(conn, actor.name, "logout", actor.where, detail={"shift": actor.shift_id},
                 at=now)


def refuse(conn: Connection, config: Config, actor: Actor, code: str, what: str,
           now: dt.datetime) -> None:
    """Record an attempt the actor's role or form did not allow (``what``: the path)."""
    audit.record(conn, actor.name, "refused", actor.where,
                 detail={"code": code, "path": what}, at=now)


# ------------------------------------------------------------------------------ scan

@dataclass(frozen=True)
class ScanIn:
    text: str
    source: str = "scanner"  # scanner (or typed) | photo


@dataclass(frozen=True)
class Scanned:
    """A scan's result: a receipt's own QR (``receipt_no``) or a bill lookup."""

    outcome: counter.ScanOutcome | None
    receipt_no: str | None
    shift_closed: bool


def shift_closed(conn: Connection, actor: Actor) -> bool:
    return actor.shift_id is None or not shift.get_shift(conn, actor.shift_id).is_open


def scan(conn: Connection, config: Config, actor: Actor, data: ScanIn,
         now: dt.datetime) -> Scanned:
    receipt_no = counter.scanned_receipt(conn, actor.staff, data.text)
    if receipt_no is not None:
        audit.record(conn, actor.name, "scan", actor.where, at=now,
                     detail={"source": data.source, "receipt_no": receipt_no})
        return Scanned(None, receipt_no, False)
    outcome = counter.scan(conn, config, actor.staff, data.text, now)
    audit.record(conn, actor.name, "scan", actor.where, at=now,
                 detail={"source": data.source, **outcome.audit_detail()})
    return Scanned(outcome, None, shift_closed(conn, actor))


# ------------------------------------------------------------------------------ collect

def collect(conn: Connection, config: Config, actor: Actor, data: counter.CollectIn,
            now: dt.datetime) -> counter.Collected | counter.AmountHold:
    """Post a counter payment, or hold it (nothing posted) when the amount needs a
    confirmation, a supervisor or another mode; either way one audit row."""
    done = counter.collect(conn, config, actor.staff, actor.shift_id, data, now)
    if isinstance(done, counter.AmountHold):
        audit.record(conn, actor.name, "collect_held", actor.where, at=now, detail={
            "bill_no": data.bill_no, "mode": data.mode, "txn_id": data.txn_id,
            "approver": data.approver.username if data.approver else None,
            "shift": actor.shift_id, **done.audit_detail()})
        return done
    audit.record(conn, actor.name, "collect", actor.where, at=now, detail={
        "bill_no": data.bill_no, "receipt_no": done.receipt_no, "amount": data.amount,
        "mode": data.mode, "reference": data.reference.strip(), "txn_id": data.txn_id,
        "duplicate": done.duplicate, "confirm_paid": data.confirm_paid,
        "confirm_excess": data.confirm_excess, "approved_by": done.approved_by,
        "shift": actor.shift_id})
    return done


# ------------------------------------------------------------------------------ cancel

@dataclass(frozen=True)
class CancelIn:
    receipt_no: str
    reason: str


def cancel(conn: Connection, config: Config, actor: Actor, data: CancelIn,
           now: dt.datetime) -> Cancelled:
    done = cancel_receipt(conn, config, actor.staff, data.receipt_no, data.reason, now)
    audit.record(conn, actor.name, "cancel", actor.where, at=now, detail={
        "receipt_no": data.receipt_no, "bill_no": done.bill_no, "amount": done.amount,
        "reason": check_reason(data.reason), "duplicate": done.duplicate,
        "bill_state": done.bill_state})
    return done


# ------------------------------------------------------------------------------ shift

def shift_for(conn: Connection, actor: Actor, shift_id: int | None) -> shift.ShiftSummary:
    """The summary of a shift the actor may see: their counter's (any, for a supervisor)."""
    if shift_id is None:
        raise NotFound("no shift in this session", code="unknown_shift")
    summary = shift.summarise(conn, shift_id)
    s = summary.shift
    own_counter = s.counter == actor.staff.counter or actor.staff.has_role("supervisor")
    if s.biller != actor.staff.biller or not own_counter:
        raise NotFound(f"no shift {shift_id}", code="unknown_shift")
    return summary


@dataclass(frozen=True)
class CloseIn:
    shift_id: int
    declared_cash: int
    note: str = ""  # why the cash counted differs (needed for a shortage)
    confirm_short: int | None = None  # the shortage the cashier confirmed, minor units


def close_shift(conn: Connection, config: Config, actor: Actor, data: CloseIn,
                now: dt.datetime) -> shift.ShiftSummary | shift.CloseHold:
    """Close the shift with the cash counted, or hold (nothing changed) a shortage that
    is not confirmed with a note; either way one audit row."""
    shift_for(conn, actor, data.shift_id)
    done = shift.close_shift(conn, data.shift_id, data.declared_cash, actor.staff, now,
                             note=data.note, confirm_short=data.confirm_short)
    if isinstance(done, shift.CloseHold):
        audit.record(conn, actor.name, "shift_close_held", actor.where, at=now,
                     detail={"shift": data.shift_id, **done.audit_detail()})
        return done
    audit.record(conn, actor.name, "shift_close", actor.where, at=now, detail={
        "shift": data.shift_id, "expected_cash": done.expected_cash,
        "declared_cash": data.declared_cash,
        "difference": done.difference(data.declared_cash), "receipts": done.receipts,
        "total": done.total, "cancelled": done.cancelled,
        "note": done.shift.close_note})
    return done
