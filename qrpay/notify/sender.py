"""Draining the SMS outbox: ``deliver_due`` (one pass) and ``run_worker`` (the loop).

Claiming.  A pass takes due rows (``status in (pending, sending)`` and
``next_attempt_at <= now``) in one short write transaction and marks them
``status = 'sending'``, ``attempts = attempts + 1``, ``next_attempt_at = now + lease``.
While ``sending``, ``next_attempt_at`` is the lease expiry: no other sender takes the row
until then, and a sender that crashed mid-send leaves rows that become due again when the
lease runs out.  On PostgreSQL the claim uses ``FOR UPDATE SKIP LOCKED`` so several
workers split the rows; on SQLite ``BEGIN IMMEDIATE`` serialises them.

Renewing.  Rows of a batch are sent one after another, so a row late in the batch may
outlive the batch's lease and be claimed again by another sender.  Immediately before
sending a row, the sender therefore renews that row's lease (``next_attempt_at = now +
elapsed + lease``) with ``WHERE id = ? AND status = 'sending' AND attempts = <the
claim's attempts>``; ``attempts`` is the claim's fencing token.  If the renewal matches
no row, another sender has the row: it is skipped, not sent.  The batch claim is thus
only a reservation that spreads rows over senders; the renewal is what makes one
sender the only one sending a row.  The batch is kept to ``lease / provider timeout``
rows (see :func:`batch_size`) so that a batch's reservation normally lasts until its
last row is renewed; a longer batch would only see rows skipped, never sent twice.  The
lease must exceed the longest a single send can take (the provider's ``timeout``, 10 s by
default, against the 60 s lease).

Finishing.  The outcome is written with the same fence: a sender whose row was claimed
again cannot overwrite the newer claim, and only rows the fenced update actually marked
are counted as sent.  Success -> ``sent``; a transient error -> ``pending`` with
exponential backoff and jitter; a permanent error or ``max_attempts`` reached ->
``failed``.

The at-least-once edge.  If the provider accepted an SMS and the sender died (or lost
the database) before writing ``sent``, the row is sent again after the lease: the
database and the provider cannot share a transaction.  The window is one HTTP round trip
per row.  It is narrowed by the dedupe key: SSL Wireless gets a ``csms_id`` derived from
it and refuses a repeat, which we count as sent; MSG91's flow API has no idempotency key,
so there the duplicate is possible and is visible in its reports.  What never happens:
a second outbox row for the same posting (unique dedupe key), or two senders sending the
same row while its lease runs.

A slow provider.  A send that left but got no answer (a read timeout, a dropped
connection) has an unknown outcome, not a failed one: the provider often delivers it.
Where resending cannot deliver twice (``provider.resend_is_safe``: SSL Wireless, by
``csms_id``) it is retried as usual and the provider's "duplicate" answer settles it as
sent.  Elsewhere (MSG91) the row is marked ``unknown`` and not resent: a person checks the
provider's report, then marks it sent or sends it again (:func:`resend_unknown`).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from qrpay.config import Config
from qrpay.notify.messages import dlt_pattern, dlt_variables, provider_template_id
from qrpay.notify.providers import OutgoingSms, SendError, SmsProvider, make_provider
from qrpay.store import Store, utcnow
from qrpay.store.retry import until_written
from qrpay.store.schema import outbox

log = logging.getLogger("qrpay.notify")

LEASE_SECONDS = 60.0
MAX_ATTEMPTS = 8
BACKOFF_BASE = 30.0
BACKOFF_CAP = 3600.0
RECORD_SECONDS = 20.0  # how long an outcome's write is retried while the database is away


@dataclass(frozen=True)
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0  # the lease was lost to another sender: not sent (or not ours)
    unknown: int = 0  # sent, no answer, the provider cannot be asked: left for a person

    def __str__(self) -> str:
        text = f"{self.sent} sent, {self.retrying} to retry, {self.failed} failed"
        if self.unknown:
            text += f", {self.unknown} outcome unknown (check before resending)"
        return text + (f", {self.skipped} left to another sender" if self.skipped else "")


def batch_size(limit: int, lease_seconds: float, provider: SmsProvider) -> int:
    """At most ``limit`` rows, and no more than the lease covers at the provider's
    timeout per send (``timeout`` attribute; providers without one are not capped)."""
    timeout = getattr(provider, "timeout", None)
    if not timeout or timeout <= 0:
        return max(1, limit)
    return max(1, min(limit, int(lease_seconds // timeout)))


def backoff(attempts: int, *, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP,
            rng: Callable[[], float] = random.random) -> float:
    """Seconds before retry number ``attempts + 1``: ``base * 2**(attempts-1)`` capped,
    with "equal jitter" (half fixed, half random) so retries of a burst spread out."""
    delay = min(cap, base * 2 ** max(attempts - 1, 0))
    return delay / 2 + rng() * delay / 2


def patience(max_attempts: int, *, base: float = BACKOFF_BASE,
             cap: float = BACKOFF_CAP) -> float:
    """The least time (seconds) from a row's first failed attempt to its last, when
    every attempt fails: how long a provider outage can last before rows are given up
    (the jitter only ever adds to it)."""
    return sum(min(cap, base * 2 ** (n - 1)) / 2 for n in range(1, max_attempts))


@dataclass(frozen=True)
class _Claim:
    sms: OutgoingSms
    attempts: int


def _outgoing(row: Any, config: Config) -> OutgoingSms:
    m = row._mapping
    variables: tuple[str, ...] = ()
    pattern = dlt_pattern(m["language"], m["template"])
    if pattern:
        variables = dlt_variables(pattern, m["body"]) or ()
    biller = config.billers.get(m["biller"])
    return OutgoingSms(
        id=m["id"], dedupe_key=m["dedupe_key"], biller=m["biller"], recipient=m["recipient"],
        body=m["body"], language=m["language"], template=m["template"],
        template_id=m["template_id"], encoding=m["encoding"], segments=m["segments"],
        sender=biller.sms_sender if biller else "", variables=variables,
        provider_template_id=provider_template_id(m["language"], m["template"]))


def claim_due(store: Store, config: Config, *, now: dt.datetime, limit: int,
              lease_seconds: float = LEASE_SECONDS) -> list[_Claim]:
    """Lease up to ``limit`` due rows to this sender (see the module docstring)."""
    # Only SMS rows: other kinds (``whatsapp``, ``ussd``) are the chat sender's.
    q = (select(outbox).where(outbox.c.kind == "sms",
                              outbox.c.status.in_(("pending", "sending")),
                              outbox.c.next_attempt_at <= now)
         .order_by(outbox.c.next_attempt_at, outbox.c.id).limit(limit))
    until = now + dt.timedelta(seconds=lease_seconds)
    claims = []
    with store.begin() as conn:
        if conn.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        for row in conn.execute(q).fetchall():
            attempts = row._mapping["attempts"] + 1
            conn.execute(outbox.update().where(outbox.c.id == row._mapping["id"]).values(
                status="sending", attempts=attempts, next_attempt_at=until))
            claims.append(_Claim(_outgoing(row, config), attempts))
    return claims


def _finish(store: Store, claim: _Claim, **values: Any) -> bool:
    """Write to the row only if this claim still holds it; True if it did."""
    with store.begin() as conn:
        res = conn.execute(outbox.update().where(
            outbox.c.id == claim.sms.id, outbox.c.status == "sending",
            outbox.c.attempts == claim.attempts).values(**values))
        return res.rowcount == 1


def _record(store: Store, claim: _Claim, **values: Any) -> bool:
    """A send's outcome, written even across a database restart: the SMS has gone, and a
    row left ``sending`` would be sent again after its lease (fenced: safe to repeat)."""
    return until_written(lambda: _finish(store, claim, **values),
                         seconds=RECORD_SECONDS, what=f"sms {claim.sms.dedupe_key}")


def _deliver_one(store: Store, provider: SmsProvider, claim: _Claim, now: dt.datetime,
                 lease_until: dt.datetime, max_attempts: int,
                 rng: Callable[[], float]) -> str:
    if not _finish(store, claim, next_attempt_at=lease_until):  # renew, fenced
        log.info("sms %s: lease lost to another sender, skipped", claim.sms.dedupe_key)
        return "skipped"
    try:
        ref = provider.send(claim.sms)
    except SendError as exc:
        if exc.unknown and not getattr(provider, "resend_is_safe", False):
            done = _record(store, claim, status="unknown",
                           last_error=f"{exc}: check the provider's report before resending"
                           [:1000])
            log.warning("sms %s: outcome unknown, not resent: %s", claim.sms.dedupe_key, exc)
            return "unknown" if done else "skipped"
        if exc.permanent or claim.attempts >= max_attempts:
            done = _record(store, claim, status="failed", last_error=str(exc)[:1000])
            log.warning("sms %s failed for good: %s", claim.sms.dedupe_key, exc)
            return "failed" if done else "skipped"
        retry_at = now + dt.timedelta(seconds=backoff(claim.attempts, rng=rng))
        done = _record(store, claim, status="pending", next_attempt_at=retry_at,
                       last_error=str(exc)[:1000])
        return "retrying" if done else "skipped"
    if _record(store, claim, status="sent", sent_at=utcnow(), provider_ref=ref[:100],
               last_error=None):
        return "sent"
    log.warning("sms %s was sent but its lease had run out", claim.sms.dedupe_key)
    return "skipped"


def deliver_claims(store: Store, provider: SmsProvider, claims: list[_Claim],
                   now: dt.datetime, *, lease_seconds: float = LEASE_SECONDS,
                   max_attempts: int = MAX_ATTEMPTS,
                   rng: Callable[[], float] = random.random) -> DeliveryReport:
    """Send claimed rows one by one, renewing each row's lease just before its send;
    rows another sender has claimed since are skipped (see the module docstring)."""
    started = time.monotonic()
    counts = {"sent": 0, "retrying": 0, "failed": 0, "skipped": 0, "unknown": 0}
    for claim in claims:
        # ``now`` may be a test's clock: the lease runs from it plus the real time elapsed.
        elapsed = time.monotonic() - started
        until = now + dt.timedelta(seconds=elapsed + lease_seconds)
        counts[_deliver_one(store, provider, claim, now, until, max_attempts, rng)] += 1
    return DeliveryReport(claimed=len(claims), **counts)


def deliver_due(store: Store, config: Config, now: dt.datetime | None = None, limit: int = 50,
                *, provider: SmsProvider | None = None, lease_seconds: float = LEASE_SECONDS,
                max_attempts: int = MAX_ATTEMPTS,
                rng: Callable[[], float] = random.random) -> DeliveryReport:
    """One pass: claim up to ``limit`` due SMS (capped by :func:`batch_size`) and send
    them with :func:`deliver_claims`."""
    now = now or utcnow()
    provider = provider or make_provider(config)
    size = batch_size(limit, lease_seconds, provider)
    claims = claim_due(store, config, now=now, limit=size, lease_seconds=lease_seconds)
    return deliver_claims(store, provider, claims, now, lease_seconds=lease_seconds,
                          max_attempts=max_attempts, rng=rng)


def unknown_sms(store: Store, config: Config) -> list[OutgoingSms]:
    """The SMS whose send timed out at a provider that cannot be resent to safely, oldest
    first: what ``qrpay sms unknown`` lists."""
    q = (select(outbox).where(outbox.c.kind == "sms", outbox.c.status == "unknown")
         .order_by(outbox.c.next_attempt_at, outbox.c.id))
    with store.connect() as conn:
        return [_outgoing(row, config) for row in conn.execute(q).fetchall()]


def mark_unknown_sent(store: Store, outbox_id: int, ref: str = "checked") -> bool:
    """Settle an ``unknown`` row as sent (the provider's report shows it delivered)."""
    with store.begin() as conn:
        res = conn.execute(outbox.update().where(
            outbox.c.id == outbox_id, outbox.c.status == "unknown").values(
            status="sent", sent_at=utcnow(), provider_ref=ref[:100]))
        return res.rowcount == 1


def settle_unknown(store: Store, provider: SmsProvider, sms: OutgoingSms,
                   now: dt.datetime | None = None) -> str:
    """A person asked to resend an ``unknown`` SMS: ask the provider first where it can
    say (``provider.status(sms)``: ``delivered`` or ``not_delivered``, None when it cannot
    tell): ``delivered`` settles the row as sent without sending; otherwise it is queued
    again.  Returns ``sent`` (settled, not resent), ``queued`` or ``skipped`` (the row
    is no longer unknown)."""
    ask = getattr(provider, "status", None)
    answer = ask(sms) if ask is not None else None
    if answer == "delivered":
        return "sent" if mark_unknown_sent(store, sms.id, f"{provider.name}: delivered") \
            else "skipped"
    return "queued" if resend_unknown(store, sms.id, now) else "skipped"


def resend_unknown(store: Store, outbox_id: int, now: dt.datetime | None = None) -> bool:
    """Queue an ``unknown`` row for sending again (after checking the provider's report
    shows it was not delivered); True if the row was ``unknown``."""
    with store.begin() as conn:
        res = conn.execute(outbox.update().where(
            outbox.c.id == outbox_id, outbox.c.status == "unknown").values(
            status="pending", next_attempt_at=now or utcnow()))
        return res.rowcount == 1


def lease_seconds(config: Config) -> float:
    """``[sms] lease_seconds`` (default :data:`LEASE_SECONDS`): how long a claimed row is
    this sender's; a crashed node's rows are taken over by the others after it."""
    return float(config.sms_options.get("lease_seconds", LEASE_SECONDS))


def run_worker(store: Store, config: Config, stop_event: threading.Event,
               interval: float = 1.0, *, provider: SmsProvider | None = None,
               limit: int = 50) -> int:
    """Deliver until ``stop_event`` is set; sleep ``interval`` when nothing was due.

    Returns the number of SMS sent.  Errors of one pass (database down...) are logged and
    the loop goes on after ``interval``.
    """
    provider = provider or make_provider(config)
    lease = lease_seconds(config)
    size = batch_size(limit, lease, provider)
    sent = 0
    while not stop_event.is_set():
        try:
            report = deliver_due(store, config, limit=size, provider=provider,
                                 lease_seconds=lease)
        except Exception:  # keep the loop alive; the rows stay leased or pending
            log.exception("sms delivery pass failed")
            report = DeliveryReport()
        sent += report.sent
        if report.claimed < size:
            stop_event.wait(interval)
    return sent
