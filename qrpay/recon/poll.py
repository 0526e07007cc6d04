"""Status polling: ask the channels' status APIs (:mod:`qrpay.recon.status`) about
payments left ``pending``, and post or close them exactly once through ``post_payment``.

Every node runs the poller (``qrpay recon poll``, and the periodic task of ``qrpay
worker``); they share the work through ``recon_polls``, one row per payment asked about:

* **claim**: in one short transaction a node picks up to ``batch`` due payments of a
  channel (pending, older than ``pending_after_minutes``, next ask due, no live lease)
  and writes its lease on them (``holder``, ``lease_until`` = now + ``lease_seconds``).
  PostgreSQL: ``SELECT ... FOR UPDATE OF payments SKIP LOCKED``, so two nodes claiming
  at once take different payments without waiting; SQLite: the claim is a ``BEGIN
  IMMEDIATE`` transaction, so claims queue one after the other.  Either way the lease is
  written by an upsert whose update applies only where no live lease is held, and the
  node keeps only the rows it got back (``RETURNING``).
* **ask, apply, release**: outside any transaction the node asks the API; the outcome is
  posted by ``post_payment`` (exactly once per channel transaction whatever else runs);
  then the lease is released and the next ask is set.
* a node that dies holding a lease holds it only until ``lease_until``: then the
  payments are due again and the next node to claim takes them over.
* after a run, the rows of payments no longer pending are deleted (``_prune``): the
  table holds only the payments still being asked about.

Backoff per payment: asked when its age crosses ``pending_after`` x 1, 2, 4, 8...; after
an ask the next is at the next such threshold above its age (a node that was down asks
once, not once per missed threshold).  A failed request (network, 5xx, 429) is retried a
few times with growing pauses in the same ask.  A payment still pending after
``give_up_hours`` becomes a ``stuck_pending`` exception (once) for the accounts team.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import Connection, and_, exists, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from qrpay.clock import aware, utcnow
from qrpay.config import Config
from qrpay.errors import QrpayError
from qrpay.payments.posting import PaymentIn, post_payment
from qrpay.recon.status import APIS, Status, StatusApi, fetch, status_api
from qrpay.store import Store
from qrpay.store.schema import payments, recon_exceptions, recon_polls

__all__ = ["APIS", "PollResult", "Status", "StatusApi", "claim", "fetch", "node_name",
           "poll_channels", "status_api"]

log = logging.getLogger("qrpay.recon.poll")
BATCH = 20
LEASE_SECONDS = 300


def node_name() -> str:
    """This process as a lease holder: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


@dataclass
class PollResult:
    asked: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def count(self, what: str) -> None:
        self.outcomes[what] = self.outcomes.get(what, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {"asked": self.asked, "outcomes": self.outcomes, "errors": self.errors}

    def summary(self) -> str:
        parts = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())) or "nothing due"
        return f"asked {self.asked}: {parts}" + (f"; {len(self.errors)} error(s)"
                                                  if self.errors else "")


# ------------------------------------------------------------------------ leases

def _lease(api: StatusApi) -> dt.timedelta:
    return dt.timedelta(seconds=float(api.options.get("lease_seconds", LEASE_SECONDS)))


def _batch(api: StatusApi) -> int:
    return max(1, int(api.options.get("batch", BATCH)))


def _due_query(conn: Connection, api: StatusApi, now: dt.datetime, limit: int) -> Any:
    p, r = payments, recon_polls
    free = ~exists().where(r.c.payment_id == p.c.id, or_(
        r.c.next_at > now, and_(r.c.lease_until.is_not(None), r.c.lease_until > now)))
    q = (select(p.c.id, p.c.txn_id, p.c.bill_no, p.c.amount, p.c.currency, p.c.created_at)
         .where(p.c.channel == api.channel, p.c.status == "pending",
                p.c.created_at <= now - api.pending_after, free)
         .order_by(p.c.id).limit(limit))
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(of=p, skip_locked=True)
    return q


def _take(conn: Connection, api: StatusApi, ids: list[int], holder: str,
          now: dt.datetime) -> set[int]:
    """Write ``holder``'s lease on ``ids`` where nobody holds a live one; the ids got."""
    r = recon_polls
    stmt = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(r)
    until = now + _lease(api)
    stmt = stmt.on_conflict_do_update(
        index_elements=[r.c.payment_id],
        set_={"holder": holder, "lease_until": until, "updated_at": now},
        where=and_(or_(r.c.next_at.is_(None), r.c.next_at <= now),
                   or_(r.c.lease_until.is_(None), r.c.lease_until <= now)),
    ).returning(r.c.payment_id)
    rows = [{"payment_id": i, "channel": api.channel, "asks": 0, "next_at": None,
             "holder": holder, "lease_until": until, "updated_at": now} for i in ids]
    got: set[int] = set()
    for row in rows:  # one statement per row: RETURNING of a many-row upsert varies
        got.update(conn.execute(stmt, row).scalars())
    return got


def claim(store: Store, api: StatusApi, holder: str, now: dt.datetime,
          limit: int | None = None) -> list[Any]:
    """Lease up to ``limit`` due pending payments of ``api``'s channel to ``holder``."""
    with store.begin() as conn:
        rows = conn.execute(_due_query(conn, api, now, limit or _batch(api))).fetchall()
        got = _take(conn, api, [r.id for r in rows], holder, now) if rows else set()
    return [r for r in rows if r.id in got]


def _next_ask(age: dt.timedelta, first: dt.timedelta) -> dt.timedelta:
    """The first threshold ``first`` x 2^k beyond ``age``."""
    step = first
    while step <= age:
        step *= 2
    return step


def _release(store: Store, api: StatusApi, row: Any, holder: str, state: str,
             now: dt.datetime) -> None:
    created = aware(row.created_at)
    nxt = created + _next_ask(now - created, api.pending_after)
    r = recon_polls
    with store.begin() as conn:
        conn.execute(r.update().where(r.c.payment_id == row.id, r.c.holder == holder).values(
            asks=r.c.asks + 1, next_at=nxt, holder=None, lease_until=None,
            last_state=state[:20], updated_at=now))


# ------------------------------------------------------------------------ the run

def poll_channels(store: Store, config: Config, *, channels: list[str] | None = None,
                  now: dt.datetime | None = None, client: httpx.Client | None = None,
                  sleep: Callable[[float], None] = time.sleep,
                  holder: str | None = None) -> PollResult:
    now = now or utcnow()
    holder = holder or node_name()
    result = PollResult()
    own = client is None
    client = client or httpx.Client(timeout=10)
    try:
        for name, channel in config.channels.items():
            api = status_api(channel)
            if api is not None and (not channels or name in channels):
                _poll_one(store, config, api, now, client, result, sleep, holder)
    finally:
        if own:
            client.close()
    return result


def _poll_one(store: Store, config: Config, api: StatusApi, now: dt.datetime,
              client: httpx.Client, result: PollResult, sleep: Callable[[float], None],
              holder: str) -> None:
    while rows := claim(store, api, holder, now):
        for row in rows:
            result.asked += 1
            outcome = _ask(store, config, api, row, now, client, result, sleep)
            result.count(outcome)
            _release(store, api, row, holder, outcome, now)
    _prune(store, api, now)


def _prune(store: Store, api: StatusApi, now: dt.datetime) -> None:
    """Forget the poll rows of payments no longer pending (posted, failed, reversed):
    nobody asks about them again, and the table stays as small as the pending set."""
    r, p = recon_polls, payments
    settled = ~exists().where(p.c.id == r.c.payment_id, p.c.status == "pending")
    with store.begin() as conn:
        conn.execute(r.delete().where(
            r.c.channel == api.channel, settled,
            or_(r.c.lease_until.is_(None), r.c.lease_until <= now)))


def _ask(store: Store, config: Config, api: StatusApi, row: Any, now: dt.datetime,
         client: httpx.Client, result: PollResult, sleep: Callable[[float], None]) -> str:
    try:
        status = fetch(client, api, row.txn_id, sleep)
    except QrpayError as exc:
        result.errors.append(f"{row.txn_id}: {exc.message}")
        return "error"
    return _apply(store, config, api, row, status, now - aware(row.created_at), now)


def _apply(store: Store, config: Config, api: StatusApi, row: Any, status: Status,
           age: dt.timedelta, now: dt.datetime) -> str:
    if status.state == "pending":
        if age >= api.give_up:
            return _stuck(store, api, row, age, now)
        return "still_pending"
    if status.currency and row.currency and status.currency != row.currency:
        _exception(store, "amount_mismatch", api, row, f"status API: currency "
                   f"{status.currency}, the payment is in {row.currency}", now)
        return "amount_mismatch"
    p = PaymentIn(channel=api.channel, txn_id=row.txn_id, bill_no=row.bill_no,
                  amount=status.amount if status.amount is not None else row.amount,
                  currency=row.currency, status=status.state, utr=status.utr,
                  mode=status.mode, reference=f"recon-poll:{api.api}")
    try:
        with store.begin() as conn:
            posted = post_payment(conn, config, p, now=now)
    except QrpayError as exc:
        log.warning("poll %s %s: %s", api.channel, row.txn_id, exc)
        _exception(store, "amount_mismatch", api, row, f"status API: {exc.code}: "
                   f"{exc.message}", now)
        return "amount_mismatch"
    return "posted" if posted.result == "posted" else posted.result


def _stuck(store: Store, api: StatusApi, row: Any, age: dt.timedelta, now: dt.datetime) -> str:
    hours = int(age.total_seconds() // 3600)
    _exception(store, "stuck_pending", api, row, f"still pending at {api.channel} after "
               f"{hours} h", now)
    return "stuck_pending"


def _exception(store: Store, outcome: str, api: StatusApi, row: Any, message: str,
               now: dt.datetime) -> None:
    with store.begin() as conn:
        known = conn.execute(select(exists().where(
            recon_exceptions.c.payment_id == row.id,
            recon_exceptions.c.outcome == outcome))).scalar()
        if known:
            return
        conn.execute(recon_exceptions.insert().values(
            outcome=outcome, channel=api.channel, txn_id=row.txn_id, bill_no=row.bill_no,
            payment_id=row.id, amount=row.amount,
            detail=json.dumps({"message": message}), suggested="review", state="open",
            opened_at=now))
