"""One request of a channel, end to end, whatever its dialect.

``handle(store, config, channel, op, request)`` (call from a worker thread) checks the
channel's allow-list and credentials, runs the dialect's operation, and stores the
request and its answer in ``channel_requests``.  An operation that writes (a payment)
runs in the store's group-commit writer (:mod:`qrpay.biller.writer`: a savepoint of a
shared transaction; on PostgreSQL the batch first locks the bills its payments name,
in bill-number order, so a payment op there names them: ``Op.bills``; one that does
not runs in a transaction of its own); its journal
row is written in that same transaction; a refusal rolls its writes back and is
journalled on its own.

A dialect module has ``NAME``, ``credentials(request) -> (user, password)``,
``OPS: {op: Op}`` and ``refusal(exc) -> Answer`` (its vocabulary for our error codes).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from sqlalchemy import Connection

from qrpay.biller import core, guard, journal
from qrpay.biller.core import PayRequest
from qrpay.biller.policy import ChannelApi, api_profile
from qrpay.biller.readconn import reading
from qrpay.biller.writer import Later, Named, Shared, shared, writer_for
from qrpay.clock import utcnow
from qrpay.config import Config
from qrpay.errors import AuthError, NotFound, QrpayError, ValidationError
from qrpay.store import Store
from qrpay.store.raw import Raw

log = logging.getLogger("qrpay.biller")
# PostgreSQL payments in flight per process: enough to keep the server busy, few enough
# not to take a connection (and a bill lock) per waiting worker thread
_PG_WRITERS = threading.BoundedSemaphore(4)


@dataclass(frozen=True)
class Request:
    """A request as received: ``fields`` parsed by the web layer (form, JSON or path)."""

    body: bytes
    headers: Mapping[str, str]
    fields: Mapping[str, Any]
    remote: str | None = None
    path: Mapping[str, str] = field(default_factory=dict)
    malformed: bool = False  # the body could not be parsed (``fields`` is then empty)
    biller: str | None = None  # a per-biller URL (``?biller=<code>``) names one biller


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # JSON-ready
    outcome: str = "ok"
    txn_id: str | None = None
    payment_id: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Context:
    config: Config
    channel: str
    allowed: tuple[str, ...]  # billers the credential reaches (empty: every biller)
    now: dt.datetime


@dataclass(frozen=True)
class Op:
    # a payment's answer may wait for its batch's receipt numbers (``core.answered``)
    run: Callable[[Connection, Context, Request], Answer | Later]
    writes: bool = False
    # a payment: the bill numbers it will post to (read only), so that a PostgreSQL batch
    # locks them up front; a writing op without it runs alone on PostgreSQL
    bills: Callable[[Connection, Context, Request], Named] | None = None
    # a payment: the request it will post, so that a batch sends the reads every payment
    # starts with (``core.prefetch``) for all its payments in one round trip
    prefetch: Callable[[Context, Request], PayRequest] | None = None


def _dialect(name: str) -> ModuleType:
    from qrpay.biller import dialects

    return dialects.get(name)


def channel_api(config: Config, channel: str) -> ChannelApi:
    api = api_profile(config).channel(channel)
    if api is None:
        raise NotFound(f"no biller API for channel {channel!r}", code="unknown_channel",
                       field="channel")
    return api


def _journal_row(channel: str, op: str, req: Request, answer: Answer, body: bytes,
                 now: dt.datetime) -> dict[str, Any]:
    return journal.row(channel=channel, op=op, received_at=now, remote=req.remote,
                       headers=dict(req.headers), body=req.body, status=answer.status,
                       answer=body, outcome=answer.outcome, txn_id=answer.txn_id,
                       payment_id=answer.payment_id)


Result = tuple[Answer, bytes]


def _job(ctx: Context, name: str, op: Op, req: Request
         ) -> Callable[[Connection], Result | Later]:
    """The payment as a job of the writer: its journal row is written in its
    transaction (in a shared batch, with the batch's postings)."""
    def kept(state: Shared, answer: Answer) -> Result:
        body = answer.encoded()
        state.add(journal.INSERT, [journal.values(Raw(state.conn), _journal_row(
            ctx.channel, name, req, answer, body, ctx.now))])
        return answer, body

    def job(conn: Connection) -> Result | Later:
        got = op.run(conn, ctx, req)
        state = shared(conn)
        if state is not None:
            return Later(lambda: kept(state, got.finish())) if isinstance(got, Later) \
                else kept(state, got)
        assert not isinstance(got, Later), "a receipt waits only in a shared batch"
        body = got.encoded()
        journal.write(conn, [_journal_row(ctx.channel, name, req, got, body, ctx.now)])
        return got, body
    return job


def _read(store: Store, ctx: Context, name: str, op: Op, req: Request) -> Result:
    with reading(store) as conn:
        answer = op.run(conn, ctx, req)
    assert not isinstance(answer, Later), "a read takes no receipt"
    body = answer.encoded()
    journal.journal_for(store).add(_journal_row(ctx.channel, name, req, answer, body, ctx.now))
    return answer, body


def _refused(store: Store, dialect: ModuleType, channel: str, name: str, req: Request,
             exc: QrpayError, now: dt.datetime) -> Result:
    answer = dialect.refusal(exc)
    body = answer.encoded()
    journal.journal_for(store).add(_journal_row(channel, name, req, answer, body, now))
    return answer, body


def _submitted(store: Store, dialect: ModuleType, ctx: Context, name: str, op: Op,
               req: Request) -> Future[Result]:
    """The payment goes to the group-commit writer; the future completes with the answer
    (a refusal already in the channel's words) once its batch committed."""
    out: Future[Result] = Future()

    def done(f: Future[Result]) -> None:
        try:
            out.set_result(f.result())
        except QrpayError as exc:
            out.set_result(_refused(store, dialect, ctx.channel, name, req, exc, ctx.now))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            out.set_exception(exc)

    named, reads = op.bills, op.prefetch
    bills = None if named is None else (lambda conn: named(conn, ctx, req))
    prefetch = None if reads is None else (
        lambda conn: core.prefetch(conn, ctx.config, reads(ctx, req)))
    writer_for(store).submit(_job(ctx, name, op, req), bills, shared=True,
                             prefetch=prefetch).add_done_callback(done)
    return out


def _reach(config: Config, allowed: tuple[str, ...], biller: str | None) -> tuple[str, ...]:
    """The billers a request may reach: the credential's, narrowed by a per-biller URL."""
    if biller is None:
        return allowed
    if biller not in config.billers or (allowed and biller not in allowed):
        raise NotFound(f"no biller {biller!r} for this channel", code="customer_not_found",
                       field="biller")
    return (biller,)


def start(store: Store, config: Config, channel: str, op_name: str, req: Request
          ) -> Result | Future[Result]:
    """The answer to ``req`` and its bytes (what was journalled), or, for a payment, a
    future of them (the caller need not block a thread on the group commit).  A
    PostgreSQL payment whose op names no bills runs here, in its own transaction: call
    from a worker thread."""
    now = utcnow()
    api = channel_api(config, channel)
    dialect = _dialect(api.dialect)
    op = dialect.OPS.get(op_name)
    if op is None:
        raise NotFound(f"{api.dialect} has no operation {op_name!r}", code="unknown_operation")
    try:
        guard.check_ip(api, req.remote)
        try:
            if api.auth == "jwt":
                cred = guard.authenticate_jwt(api, req.headers.get("authorization"), now)
            else:
                cred = guard.authenticate(api, *dialect.credentials(req))
        except AuthError:
            guard.note_failure(store, channel, now)
            raise
        if req.malformed:
            raise ValidationError("the body is not JSON or a form", code="malformed_request")
        ctx = Context(config=config, channel=channel, now=now,
                      allowed=_reach(config, cred.billers, req.biller))
        if not op.writes:
            return _read(store, ctx, op_name, op, req)
        if store.is_sqlite or op.bills is not None:  # share transactions and flushes
            return _submitted(store, dialect, ctx, op_name, op, req)
        # PostgreSQL, an op that cannot name its bills up front: a transaction of its own
        # (a shared one could lock bills out of order and deadlock with another process's)
        with _PG_WRITERS, store.begin() as conn:
            got = _job(ctx, op_name, op, req)(conn)
            assert not isinstance(got, Later)
            return got
    except QrpayError as exc:
        return _refused(store, dialect, channel, op_name, req, exc, now)


def handle(store: Store, config: Config, channel: str, op_name: str, req: Request
           ) -> Result:
    """:func:`start`, waiting for a payment's commit."""
    got = start(store, config, channel, op_name, req)
    return got.result() if isinstance(got, Future) else got
