"""Status polling: ask the channels' status APIs about payments left ``pending``, and post
or close them exactly once through ``post_payment``.

Protocols (the profile's ``[channels.<name>.status]`` ``api``):

``razorpay``  ``GET {base_url}/v1/payments/{id}``, HTTP Basic with the API key id and
              secret (``QRPAY_STATUS_<CHANNEL>_KEY_ID`` / ``_KEY_SECRET``); ``status``
              ``captured`` -> success, ``failed`` -> failed, ``created``/``authorized``
              -> still pending; amounts in paise.
``phonepe``   PhonePe PG v1 ``GET {base_url}/pg/v1/status/{merchantId}/{merchantTxnId}``
              with ``X-VERIFY: sha256(path + saltKey) + "###" + saltIndex`` and
              ``X-MERCHANT-ID`` (salt key ``QRPAY_STATUS_<CHANNEL>_SALT_KEY``,
              ``merchant_id`` and ``salt_index`` in the profile); ``code``
              ``PAYMENT_SUCCESS`` -> success, ``PAYMENT_ERROR``/``PAYMENT_DECLINED``/
              ``TIMED_OUT`` -> failed, ``PAYMENT_PENDING`` (or anything else) -> pending.

Backoff without state of its own: a pending payment is asked about when its age crosses
``pending_after_minutes`` x 1, 2, 4, 8... since the channel's previous poll (kept in
``rollup_state`` as ``poll:<channel>``), so each payment is asked about about once per
doubling of its age; a request that fails (network, 5xx, 429) is retried a few times
with growing pauses in the same run.  A payment still pending after ``give_up_hours``
becomes a ``stuck_pending`` exception (once) for the accounts team.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import Connection, exists, select

from qrpay.clock import aware, utcnow
from qrpay.config import Channel, Config, secret
from qrpay.errors import ConfigError, QrpayError
from qrpay.payments.posting import PaymentIn, post_payment
from qrpay.store import Store
from qrpay.store.schema import payments, recon_exceptions, rollup_state

log = logging.getLogger("qrpay.recon.poll")
APIS = ("razorpay", "phonepe")
RETRIES = (0.2, 0.6, 1.5)  # seconds between tries of one request


@dataclass(frozen=True)
class Status:
    state: str  # success, failed, pending
    amount: int | None = None
    utr: str | None = None
    mode: str | None = None


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


# ------------------------------------------------------------------------ clients

@dataclass(frozen=True)
class StatusApi:
    channel: str
    api: str
    base_url: str
    pending_after: dt.timedelta
    give_up: dt.timedelta
    options: dict[str, Any]

    def request(self, txn_id: str) -> tuple[str, dict[str, str]]:
        """The URL and headers that ask about ``txn_id``."""
        var = f"QRPAY_STATUS_{self.channel.upper()}"
        if self.api == "razorpay":
            import base64

            key_id, key_secret = secret(var + "_KEY_ID"), secret(var + "_KEY_SECRET")
            token = base64.b64encode(f"{key_id}:{key_secret}".encode()).decode()
            return (f"{self.base_url}/v1/payments/{txn_id}",
                    {"Authorization": f"Basic {token}"})
        merchant = str(self.options.get("merchant_id", ""))
        path = f"/pg/v1/status/{merchant}/{txn_id}"
        salt = secret(var + "_SALT_KEY") or ""
        digest = hashlib.sha256((path + salt).encode()).hexdigest()
        index = str(self.options.get("salt_index", "1"))
        return (self.base_url + path, {"X-VERIFY": f"{digest}###{index}",
                                       "X-MERCHANT-ID": merchant})

    def parse(self, body: dict[str, Any]) -> Status:
        if self.api == "razorpay":
            state = {"captured": "success", "failed": "failed"}.get(
                str(body.get("status", "")), "pending")
            rrn = (body.get("acquirer_data") or {}).get("rrn")
            return Status(state, _int(body.get("amount")), rrn, body.get("method"))
        code = str(body.get("code", ""))
        state = ("success" if code == "PAYMENT_SUCCESS" else "failed" if code in (
            "PAYMENT_ERROR", "PAYMENT_DECLINED", "TIMED_OUT") else "pending")
        data = body.get("data") or {}
        instrument = data.get("paymentInstrument") or {}
        return Status(state, _int(data.get("amount")), instrument.get("utr"),
                      str(instrument.get("type", "")).lower() or None)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def status_api(channel: Channel) -> StatusApi | None:
    raw = channel.settings.get("status")
    if not isinstance(raw, dict):
        return None
    api = str(raw.get("api") or channel.adapter)
    if api not in APIS:
        raise ConfigError(f"channels.{channel.name}.status.api must be one of "
                          f"{', '.join(APIS)}", code="bad_value", field="api")
    base = str(raw.get("base_url") or ("https://api.razorpay.com" if api == "razorpay"
                                       else "https://api.phonepe.com/apis/hermes"))
    return StatusApi(channel=channel.name, api=api, base_url=base.rstrip("/"),
                     pending_after=dt.timedelta(minutes=float(raw.get(
                         "pending_after_minutes", 15))),
                     give_up=dt.timedelta(hours=float(raw.get("give_up_hours", 72))),
                     options={k: v for k, v in raw.items()})


def fetch(client: httpx.Client, api: StatusApi, txn_id: str,
          sleep: Callable[[float], None] = time.sleep) -> Status:
    """Ask once, retrying network errors, 5xx and 429 with growing pauses."""
    url, headers = api.request(txn_id)
    last = ""
    for pause in (*RETRIES, None):
        try:
            r = client.get(url, headers=headers)
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if r.status_code == 200:
                return api.parse(r.json())
            if r.status_code == 404:
                return Status("pending")  # not known there (yet)
            last = f"HTTP {r.status_code}"
            if r.status_code < 500 and r.status_code != 429:
                break
        if pause is not None:
            sleep(pause)
    raise QrpayError(f"{api.channel} status API: {last}", code="status_api_failed")


# ------------------------------------------------------------------------ the run

def _due(age: dt.timedelta, since_last: dt.timedelta | None, first: dt.timedelta) -> bool:
    """Whether ``age`` crossed ``first`` x 2^k within the last ``since_last``."""
    if age < first:
        return False
    if since_last is None:
        return True
    before = age - since_last
    step = first
    while step <= age:
        if step > before:
            return True
        step *= 2
    return False


def _last_poll(conn: Connection, channel: str) -> dt.datetime | None:
    found = conn.execute(select(rollup_state.c.updated_at).where(
        rollup_state.c.name == f"poll:{channel}")).scalar()
    return aware(found) if found else None


def _mark_poll(conn: Connection, channel: str, now: dt.datetime, seen: bool) -> None:
    if seen:
        conn.execute(rollup_state.update().where(rollup_state.c.name == f"poll:{channel}")
                     .values(updated_at=now))
    else:
        conn.execute(rollup_state.insert().values(name=f"poll:{channel}", last_id=0,
                                                  updated_at=now))


def poll_channels(store: Store, config: Config, *, channels: list[str] | None = None,
                  now: dt.datetime | None = None, client: httpx.Client | None = None,
                  sleep: Callable[[float], None] = time.sleep) -> PollResult:
    now = now or utcnow()
    result = PollResult()
    own = client is None
    client = client or httpx.Client(timeout=10)
    try:
        for name, channel in config.channels.items():
            api = status_api(channel)
            if api is not None and (not channels or name in channels):
                _poll_one(store, config, api, now, client, result, sleep)
    finally:
        if own:
            client.close()
    return result


def _poll_one(store: Store, config: Config, api: StatusApi, now: dt.datetime,
              client: httpx.Client, result: PollResult,
              sleep: Callable[[float], None]) -> None:
    with store.connect() as conn:
        last = _last_poll(conn, api.channel)
        rows = conn.execute(select(payments.c.id, payments.c.txn_id, payments.c.bill_no,
                                   payments.c.amount, payments.c.currency,
                                   payments.c.created_at)
                            .where(payments.c.channel == api.channel,
                                   payments.c.status == "pending")
                            .order_by(payments.c.id)).fetchall()
    since = now - last if last else None
    for row in rows:
        age = now - aware(row.created_at)
        if not _due(age, since, api.pending_after):
            continue
        result.asked += 1
        try:
            status = fetch(client, api, row.txn_id, sleep)
        except QrpayError as exc:
            result.errors.append(f"{row.txn_id}: {exc.message}")
            result.count("error")
            continue
        result.count(_apply(store, config, api, row, status, age, now))
    with store.begin() as conn:
        _mark_poll(conn, api.channel, now, last is not None)


def _apply(store: Store, config: Config, api: StatusApi, row: Any, status: Status,
           age: dt.timedelta, now: dt.datetime) -> str:
    if status.state == "pending":
        if age >= api.give_up:
            return _stuck(store, api, row, age, now)
        return "still_pending"
    p = PaymentIn(channel=api.channel, txn_id=row.txn_id, bill_no=row.bill_no,
                  amount=status.amount if status.amount is not None else row.amount,
                  currency=row.currency, status=status.state, utr=status.utr,
                  mode=status.mode)
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
