"""Delivering chat's outbox rows: WhatsApp messages to the Graph API, bdapps answers to
the USSD gateway.  SMS rows stay with :mod:`qrpay.notify.sender`.

Claiming works as for SMS (one short transaction marks due rows ``sending`` with a lease,
``attempts`` is the fencing token; PostgreSQL uses ``SKIP LOCKED`` so several workers split
the rows).  Each WhatsApp send waits for the business number's token bucket
(``chat.whatsapp.rate_per_second``, 80/s by default, Meta's per-number throughput).
A batch's requests to different recipients are in flight together (``SEND_THREADS``; one
recipient's rows go one after another, in order); its outcomes are written
in one transaction, each fenced by ``attempts``:

- 2xx: ``sent``, with the Graph message id (``wamid``) in ``provider_ref``;
- 429 or 5xx (or no answer): back to ``pending`` with exponential backoff (``Retry-After``
  respected), and that number's bucket pauses as long;
- error 131047 (the 24-hour window closed) on a row that carries a ``fallback`` template:
  the template is sent instead, at once;
- any other 4xx: ``failed`` with the error.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, select, text, update

from qrpay.chat.settings import ChatSettings, access_token, bdapps_password
from qrpay.chat.wire import Client, NoAnswer, Response
from qrpay.chat.writer import GroupWriter, write_lock
from qrpay.notify.sender import backoff
from qrpay.store import Store, utcnow
from qrpay.store.retry import until_written
from qrpay.store.schema import outbox
from qrpay.store.types import UtcDateTime

log = logging.getLogger("qrpay.chat")

KINDS = ("whatsapp", "ussd")
LEASE_SECONDS = 30.0
MAX_ATTEMPTS = 12  # failing attempts survive an outage of >= 18 min (notify.sender.patience)
BACKOFF_BASE = 2.0
BACKOFF_CAP = 600.0
WINDOW_CLOSED = 131047
SEND_THREADS = 8  # requests of one batch in flight at once (each number still rate-limited)
HANDED_MAX = 10_000  # claims waiting in memory; beyond, the oldest wait for their lease
STORE_EVERY = 0.25  # seconds: while claims are handed over, how often to look in the store


class RateLimiter:
    """A token bucket per key (business phone number), thread-safe."""

    def __init__(self, rate: float, burst: float | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rate = rate
        self.burst = burst or rate
        self.clock, self.sleep = clock, sleep
        self._state: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._paused: dict[str, float] = {}
        self._lock = threading.Lock()

    def pause(self, key: str, seconds: float) -> None:
        with self._lock:
            self._paused[key] = max(self._paused.get(key, 0.0), self.clock() + seconds)

    def _take(self, key: str) -> float:
        """Take a token, or return how long to wait for one."""
        with self._lock:
            now = self.clock()
            paused = self._paused.get(key, 0.0)
            if paused > now:
                return paused - now
            tokens, at = self._state.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= 1 - 1e-9:  # a float step short of a token is a token
                self._state[key] = (max(tokens - 1, 0.0), now)
                return 0.0
            self._state[key] = (tokens, now)
            return (1 - tokens) / self.rate

    def acquire(self, key: str) -> None:
        while (wait := self._take(key)) > 0:
            self.sleep(wait)


@dataclass(frozen=True)
class Claim:
    id: int
    kind: str
    recipient: str
    body: dict[str, Any]
    attempts: int
    leased_until: dt.datetime | None = None  # set on a claim handed over in memory


@dataclass(frozen=True)
class Outcome:
    claim: Claim
    values: dict[str, Any]
    result: str  # sent, retrying, failed


@dataclass
class Report:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def claim_due(store: Store, now: dt.datetime, limit: int,
              lease_seconds: float = LEASE_SECONDS) -> list[Claim]:
    q = (select(outbox.c.id, outbox.c.kind, outbox.c.recipient, outbox.c.body,
                outbox.c.attempts)
         .where(outbox.c.kind.in_(KINDS), outbox.c.status.in_(("pending", "sending")),
                outbox.c.next_attempt_at <= now)
         .order_by(outbox.c.next_attempt_at, outbox.c.id).limit(limit))
    until = now + dt.timedelta(seconds=lease_seconds)
    with store.connect() as conn:  # a read first: no write lock while nothing is due
        if conn.execute(q.with_only_columns(outbox.c.id).limit(1)).first() is None:
            return []
    with write_lock(store), store.begin() as conn:
        if conn.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        rows = conn.execute(q).fetchall()
        if not rows:
            return []
        conn.execute(update(outbox).where(outbox.c.id.in_([r.id for r in rows]))
                     .values(status="sending", attempts=outbox.c.attempts + 1,
                             next_attempt_at=until))
    return [Claim(r.id, r.kind, r.recipient, json.loads(r.body), r.attempts + 1) for r in rows]


class Transport:
    """HTTP to the Graph API and the bdapps gateway (:mod:`qrpay.chat.wire`: a keep-alive
    connection per sending thread)."""

    def __init__(self, settings: ChatSettings, *, timeout: float = 10.0,
                 client: Client | None = None) -> None:
        self.settings = settings
        self.client = client or Client(timeout=timeout)
        self.limiter = RateLimiter(settings.rate_per_second)
        self.pool = ThreadPoolExecutor(SEND_THREADS, thread_name_prefix="qrpay-chat-send")
        self._handed: collections.deque[Claim] = collections.deque(maxlen=HANDED_MAX)
        self._store_looked = -STORE_EVERY

    def look_in_store(self, handed: bool) -> bool:
        """Whether this pass claims due rows from the store too: always when nothing was
        handed over, else every ``STORE_EVERY`` seconds (retries, confirmations and
        expired leases wait at most that long behind a stream of handed replies)."""
        now = time.monotonic()
        if handed and now - self._store_looked < STORE_EVERY:
            return False
        self._store_looked = now
        return True

    def hand(self, claims: list[Claim]) -> None:
        """Rows written already claimed by a committed turn (thread-safe): sent on the
        next pass, without a claiming transaction."""
        self._handed.extend(claims)

    def take_handed(self, now: dt.datetime) -> list[Claim]:
        """The handed claims with at least half their lease left; a later one is left to
        its lease (when it runs out, any sender claims the row from the store), so a row
        is never sent by two senders at once."""
        taken: list[Claim] = []
        while True:
            try:
                claim = self._handed.popleft()
            except IndexError:
                return taken
            until = claim.leased_until
            if until is not None and (until - now).total_seconds() \
                    > self.settings.lease_seconds / 2:
                taken.append(claim)

    def whatsapp(self, claim: Claim, message: dict[str, Any]) -> Response:
        pnid = str(claim.body["phone_number_id"])
        self.limiter.acquire(pnid)
        payload = {"messaging_product": "whatsapp", "recipient_type": "individual",
                   "to": claim.recipient, **message}
        headers = {"Authorization": f"Bearer {access_token() or ''}"}
        return self.client.post(f"{self.settings.graph_base_url}/{pnid}/messages",
                                payload, headers)

    def ussd(self, claim: Claim) -> Response:
        payload = {"applicationId": self.settings.bdapps_app_id,
                   "password": bdapps_password() or "",
                   "destinationAddress": f"tel:{claim.recipient}", **claim.body}
        return self.client.post(self.settings.bdapps_url, payload)

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.client.close()


def _error_code(resp: Response) -> int | None:
    try:
        code = resp.json().get("error", {}).get("code")
    except (ValueError, AttributeError):
        return None
    return int(code) if isinstance(code, int) else None


def _retry_after(resp: Response | None) -> float | None:
    if resp is None:
        return None
    try:
        return float(resp.headers.get("retry-after", ""))
    except ValueError:
        return None


def _retry(claim: Claim, now: dt.datetime, why: str, resp: Response | None) -> Outcome:
    if claim.attempts >= MAX_ATTEMPTS:
        return Outcome(claim, {"status": "failed", "last_error": why[:1000]}, "failed")
    delay = max(backoff(claim.attempts, base=BACKOFF_BASE, cap=BACKOFF_CAP),
                _retry_after(resp) or 0.0)
    return Outcome(claim, {"status": "pending", "last_error": why[:1000],
                           "next_attempt_at": now + dt.timedelta(seconds=delay)}, "retrying")


def _provider_ref(resp: Response) -> str:
    try:
        return str(resp.json()["messages"][0]["id"])[:100]
    except (ValueError, KeyError, IndexError, TypeError):
        return ""


def _send(transport: Transport, claim: Claim, now: dt.datetime) -> Outcome:
    message = claim.body.get("message", {})
    try:
        if claim.kind == "whatsapp":
            resp = transport.whatsapp(claim, message)
            if resp.status_code >= 400 and _error_code(resp) == WINDOW_CLOSED \
                    and claim.body.get("fallback"):
                resp = transport.whatsapp(claim, claim.body["fallback"])
        else:
            resp = transport.ussd(claim)
    except NoAnswer as exc:
        return _retry(claim, now, str(exc), None)
    if resp.status_code < 300:
        return Outcome(claim, {"status": "sent", "sent_at": utcnow(), "last_error": None,
                               "provider_ref": _provider_ref(resp)}, "sent")
    why = f"HTTP {resp.status_code}: {resp.text[:300]}"
    if resp.status_code == 429 or resp.status_code >= 500:
        if claim.kind == "whatsapp":
            transport.limiter.pause(str(claim.body["phone_number_id"]),
                                    _retry_after(resp) or BACKOFF_BASE)
        return _retry(claim, now, why, resp)
    return Outcome(claim, {"status": "failed", "last_error": why[:1000]}, "failed")


_FINISH = text(
    "UPDATE outbox SET status = :status, last_error = :last_error, "
    "next_attempt_at = COALESCE(:next_attempt_at, next_attempt_at), "
    "sent_at = COALESCE(:sent_at, sent_at), provider_ref = COALESCE(:provider_ref, provider_ref) "
    "WHERE id = :id AND status = 'sending' AND attempts = :attempts"
).bindparams(bindparam("next_attempt_at", type_=UtcDateTime()),
             bindparam("sent_at", type_=UtcDateTime()))


def _finish(store: Store, outcomes: list[Outcome], lease: float = LEASE_SECONDS,
            writer: GroupWriter | None = None) -> None:
    """Every outcome of a batch in one transaction, each fenced by its claim's attempts
    (through ``writer``, when given: in the same commit as the turns it is batching)."""
    rows = [{"id": o.claim.id, "attempts": o.claim.attempts, "status": o.values["status"],
             "last_error": o.values.get("last_error"),
             "next_attempt_at": o.values.get("next_attempt_at"),
             "sent_at": o.values.get("sent_at"), "provider_ref": o.values.get("provider_ref")}
            for o in outcomes]

    def step(conn: Connection) -> None:
        conn.execute(_FINISH, rows)

    def write() -> None:
        if writer is not None:
            writer.submit(step)
            return
        with write_lock(store), store.begin() as conn:
            step(conn)

    # the messages are out: record it even across a database restart, or they are sent
    # again when the lease runs out (the write is fenced, so repeating it is safe)
    until_written(write, seconds=lease * 0.8, what="chat outcomes")


def _by_recipient(claims: list[Claim]) -> list[list[Claim]]:
    """One list per recipient, in claim (id) order: a note and the menu after it arrive in
    that order; different recipients are sent in parallel."""
    groups: dict[str, list[Claim]] = {}
    for c in claims:
        groups.setdefault(f"{c.kind}:{c.recipient}", []).append(c)
    return list(groups.values())


def deliver_due(store: Store, transport: Transport, *, now: dt.datetime | None = None,
                limit: int = 200, writer: GroupWriter | None = None) -> Report:
    """One pass: the claims handed over (:meth:`Transport.hand`) and up to ``limit`` due
    chat rows claimed, sent (in id order per recipient), the outcomes recorded (through
    ``writer`` when given)."""
    now = now or utcnow()
    lease = transport.settings.lease_seconds
    claims = transport.take_handed(now)
    if transport.look_in_store(bool(claims)):
        claims += claim_due(store, now, limit, lease)
    claims.sort(key=lambda c: c.id)
    report = Report(claimed=len(claims))
    if not claims:
        return report
    outcomes = [o for group in transport.pool.map(
        lambda group: [_send(transport, c, now) for c in group], _by_recipient(claims))
        for o in group]
    _finish(store, outcomes, lease, writer)
    for o in outcomes:
        setattr(report, o.result, getattr(report, o.result) + 1)
        if o.result != "sent":
            report.errors.append(str(o.values.get("last_error")))
    return report


def run_sender(store: Store, transport: Transport, stop: threading.Event,
               wake: threading.Event, interval: float = 0.5,
               between: Callable[[], None] | None = None,
               writer: GroupWriter | None = None) -> None:
    """Deliver until ``stop``; ``wake`` (set by the webhook) cuts the wait short;
    ``between`` runs after each pass (the confirmation fan-out)."""
    while not stop.is_set():
        wake.clear()  # before the pass: a wake during it is not lost
        try:
            report = deliver_due(store, transport, writer=writer)
            if between is not None:
                between()
        except Exception:  # keep the loop alive; rows stay leased or pending
            log.exception("chat delivery pass failed")
            report = Report()
        if report.claimed == 0:
            wake.wait(interval)
