"""Rate limits per client, shared by every node and worker: 429 with ``Retry-After``.

Public pages are limited per client address (``ip:<address>``), the JSON API per
credential (``key:<API key prefix>``, ``channel:<name>`` for the biller API), each per
minute.  Counts live in the store (``rate_limits``: one row per bucket and minute) so
that several nodes count against one limit.  A process does not write every request:
it counts locally and adds its count to the row every :attr:`Limits.flush_every` hits
(and then reads the total the other processes added), so a client may go over by at
most ``flush_every`` hits per process before it is refused.  Payment callbacks, chat
webhooks, health and metrics are never limited (a refused callback only delays a
payment the channel retries anyway; providers have their own limits).

Profile (all optional)::

    [rate_limits]
    enabled = true
    public_per_minute = 120000  # per client address (2,000/s)
    api_per_minute = 600000    # per API key or biller-API channel (10,000/s)
    flush_every = 200

The defaults are generous on purpose: one address is often a carrier's NAT with thousands
of phones behind it, and the month-end peak and the benchmarks (``bench/serve.py``: a few
thousand requests/s from one address and one key) must not meet them; they stop a runaway
client.  A deployment behind a proxy sees the proxy's address: limit per address there.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from qrpay.config import Config
from qrpay.errors import ConfigError
from qrpay.store import Store
from qrpay.store.schema import rate_limits
from qrpay.store.upsert import add_to

log = logging.getLogger("qrpay.web")
WINDOW = 60  # seconds
#: never limited: money in (callbacks), providers' webhooks, probes
EXEMPT = ("/api/v1/callbacks/", "/api/v1/chat/", "/healthz", "/readyz", "/metrics",
          "/static/")


@dataclass(frozen=True)
class Limits:
    enabled: bool = True
    public_per_minute: int = 120_000
    api_per_minute: int = 600_000
    flush_every: int = 200

    @classmethod
    def of(cls, config: Config) -> Limits:
        raw = config.raw.get("rate_limits", {}) if isinstance(config.raw, dict) else {}
        try:
            limits = cls(enabled=bool(raw.get("enabled", True)),
                         public_per_minute=int(raw.get("public_per_minute", cls.public_per_minute)),
                         api_per_minute=int(raw.get("api_per_minute", cls.api_per_minute)),
                         flush_every=int(raw.get("flush_every", cls.flush_every)))
        except (TypeError, ValueError):
            raise ConfigError("[rate_limits] values must be whole numbers",
                              code="bad_value", field="rate_limits") from None
        if min(limits.public_per_minute, limits.api_per_minute, limits.flush_every) < 1:
            raise ConfigError("[rate_limits] values must be 1 or more", code="bad_value",
                              field="rate_limits")
        return limits


def bucket_of(scope: Scope) -> tuple[str, bool] | None:
    """(bucket, is_api) for a request, or None when it is not limited."""
    path: str = scope.get("path", "")
    if path.startswith(EXEMPT):
        return None
    if path.startswith("/api/"):
        if path.startswith("/api/v1/biller/"):
            return "channel:" + path.split("/")[4][:60], True
        header = dict(scope.get("headers") or ()).get(b"authorization", b"")
        key = header.decode("latin-1").partition(" ")[2].strip()
        if key.count("_") >= 2:
            return "key:" + "_".join(key.split("_", 2)[:2])[:60], True
    client = scope.get("client")
    return "ip:" + (client[0] if client else "unknown"), False


class Counter:
    """Local counts per (bucket, minute), added to the store every ``flush_every`` hits."""

    def __init__(self, store: Store, limits: Limits) -> None:
        self.store = store
        self.limits = limits
        self._lock = threading.Lock()
        self._local: dict[tuple[str, int], int] = {}  # hits not yet in the store
        self._seen: dict[tuple[str, int], int] = {}  # the store's total when last read

    def hit(self, bucket: str, window: int) -> tuple[int, bool]:
        """(hits so far this minute, whether the store must be told now)."""
        key = (bucket, window)
        with self._lock:
            local = self._local.get(key, 0) + 1
            self._local[key] = local
            return self._seen.get(key, 0) + local, local >= self.limits.flush_every

    def known_over(self, bucket: str, window: int, limit: int) -> bool:
        """Whether the store already said the bucket is over (refuse without asking)."""
        return self._seen.get((bucket, window), 0) > limit

    def flush(self, bucket: str, window: int) -> int:
        """Add this process's hits to the store; the total of every process."""
        key = (bucket, window)
        with self._lock:
            local = self._local.pop(key, 0)
            if len(self._seen) > 10_000:
                self._seen = {k: v for k, v in self._seen.items() if k[1] >= window}
        with self.store.begin() as conn:
            if local:
                add_to(conn, rate_limits, [{"bucket": bucket, "window": window,
                                            "hits": local}], ["hits"])
            total = int(conn.execute(select(rate_limits.c.hits).where(
                rate_limits.c.bucket == bucket, rate_limits.c.window == window)
            ).scalar() or 0)
            if local and total == local:  # the bucket's first flush this minute: tidy up
                conn.execute(rate_limits.delete().where(rate_limits.c.window < window - 1))
        with self._lock:
            self._seen[key] = total
            return total + self._local.get(key, 0)


class RateLimits:
    """Pure-ASGI middleware answering 429 ``rate_limited`` with ``Retry-After``."""

    def __init__(self, app: ASGIApp, store: Store, limits: Limits) -> None:
        self.app = app
        self.limits = limits
        self.counter = Counter(store, limits)
        self._flushing: set[tuple[str, int]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = bucket_of(scope) if scope["type"] == "http" and self.limits.enabled else None
        if found is None:
            await self.app(scope, receive, send)
            return
        bucket, is_api = found
        now = time.time()
        window = int(now // WINDOW)
        hits, flush = self.counter.hit(bucket, window)
        limit = self.limits.api_per_minute if is_api else self.limits.public_per_minute
        if hits > limit and not self.counter.known_over(bucket, window, limit):
            hits = await run_in_threadpool(self.counter.flush, bucket, window)  # be sure
        elif flush:
            self._flush_later(bucket, window)
        if hits > limit:
            await self._refuse(scope, receive, send, int((window + 1) * WINDOW - now) + 1)
            return
        await self.app(scope, receive, send)

    def _flush_later(self, bucket: str, window: int) -> None:
        """Tell the store in the background: the request that filled the local count must
        not wait for a write transaction (on SQLite that wait set the bill page's p99 at
        111 ms instead of 7)."""
        key = (bucket, window)
        if key in self._flushing:
            return
        self._flushing.add(key)
        done = asyncio.get_running_loop().run_in_executor(None, self.counter.flush, bucket,
                                                          window)

        def finished(future: asyncio.Future[int]) -> None:
            self._flushing.discard(key)
            if not future.cancelled() and future.exception() is not None:
                log.warning("rate limits: could not add counts to the store: %s",
                            future.exception())

        done.add_done_callback(finished)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, wait: int) -> None:
        from qrpay.web.errors import error_response

        response = error_response(Request(scope, receive), 429, "rate_limited",
                                  f"too many requests: try again in {wait} s")
        response.headers["Retry-After"] = str(wait)
        await response(scope, receive, send)


def install(app: Any, store: Store, config: Config) -> None:
    """Add the middleware to a Starlette app (``app.add_middleware``)."""
    app.add_middleware(RateLimits, store=store, limits=Limits.of(config))
