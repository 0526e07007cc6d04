"""The channels' status APIs: one small protocol per API (how to ask about one
transaction, and what the answer means), chosen by ``[channels.<name>.status] api``.

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
``gsma``      a wallet speaking the GSMA Mobile Money API v1.2 (the API provider's side):
              ``GET {base_url}/transactions/{transactionReference}`` ("View a
              transaction", gsmainclusivetechlab/mobilemoneyapi-devportal
              ``docs/api-versions-1.2/resources/api-service-definition.md``), the
              reference being the wallet's own transaction id (the
              ``requestingOrganisationTransactionReference`` it sent us).  HTTP Basic
              (``QRPAY_STATUS_<CHANNEL>_USER`` / ``_PASSWORD``) and/or ``X-API-Key``
              (``QRPAY_STATUS_<CHANNEL>_API_KEY``), whichever is set, and ``X-Date``.
              ``transactionStatus`` is "the status of the transaction as stored by the
              API provider" (free text): ``completed`` -> success, ``failed`` -> failed
              (the request-state values of the API's asynchronous flow), anything else
              -> pending; a profile may add its provider's words (``success_states``,
              ``failed_states``).  ``amount`` is a decimal string, parsed exactly by the GSMA
              dialect's own rule (``qrpay.biller.dialects.gsma.amount``).

A 404 means "not known there (yet)": still pending.  bKash Pay Bill, Rocket, BBPS and
Nagad have no status API that the biller calls (docs/reconciliation.md says why, with
the sources): their payments are reconciled from settlement files.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from qrpay.biller.dialects.gsma import amount as gsma_amount
from qrpay.config import Channel, secret
from qrpay.errors import ConfigError, QrpayError

APIS = ("razorpay", "phonepe", "gsma")
DEFAULT_BASE = {"razorpay": "https://api.razorpay.com",
                "phonepe": "https://api.phonepe.com/apis/hermes"}
RETRIES = (0.2, 0.6, 1.5)  # seconds between tries of one request
GSMA_SUCCESS = ("completed",)
GSMA_FAILED = ("failed",)


@dataclass(frozen=True)
class Status:
    state: str  # success, failed, pending
    amount: int | None = None
    utr: str | None = None
    mode: str | None = None
    currency: str | None = None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _basic(user: str | None, password: str | None) -> str:
    return "Basic " + base64.b64encode(f"{user or ''}:{password or ''}".encode()).decode()


@dataclass(frozen=True)
class StatusApi:
    channel: str
    api: str
    base_url: str
    pending_after: dt.timedelta
    give_up: dt.timedelta
    options: dict[str, Any]

    @property
    def var(self) -> str:
        return f"QRPAY_STATUS_{self.channel.upper()}"

    def request(self, txn_id: str) -> tuple[str, dict[str, str]]:
        """The URL and headers that ask about ``txn_id``."""
        return _REQUEST[self.api](self, txn_id)

    def parse(self, body: Any) -> Status:
        if not isinstance(body, dict):
            raise QrpayError(f"{self.channel} status API: the answer is not a JSON object",
                             code="status_api_failed")
        return _PARSE[self.api](self, body)

    def words(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        extra = self.options.get(key) or ()
        return (*default, *(str(w).lower() for w in extra))


def _razorpay_request(api: StatusApi, txn_id: str) -> tuple[str, dict[str, str]]:
    auth = _basic(secret(api.var + "_KEY_ID"), secret(api.var + "_KEY_SECRET"))
    return f"{api.base_url}/v1/payments/{txn_id}", {"Authorization": auth}


def _razorpay_parse(api: StatusApi, body: dict[str, Any]) -> Status:
    state = {"captured": "success", "failed": "failed"}.get(str(body.get("status", "")),
                                                            "pending")
    rrn = (body.get("acquirer_data") or {}).get("rrn")
    return Status(state, _int(body.get("amount")), rrn, body.get("method"),
                  body.get("currency"))


def _phonepe_request(api: StatusApi, txn_id: str) -> tuple[str, dict[str, str]]:
    merchant = str(api.options.get("merchant_id", ""))
    path = f"/pg/v1/status/{merchant}/{txn_id}"
    salt = secret(api.var + "_SALT_KEY") or ""
    digest = hashlib.sha256((path + salt).encode()).hexdigest()
    index = str(api.options.get("salt_index", "1"))
    return api.base_url + path, {"X-VERIFY": f"{digest}###{index}", "X-MERCHANT-ID": merchant}


def _phonepe_parse(api: StatusApi, body: dict[str, Any]) -> Status:
    code = str(body.get("code", ""))
    state = ("success" if code == "PAYMENT_SUCCESS" else "failed" if code in (
        "PAYMENT_ERROR", "PAYMENT_DECLINED", "TIMED_OUT") else "pending")
    data = body.get("data") or {}
    instrument = data.get("paymentInstrument") or {}
    return Status(state, _int(data.get("amount")), instrument.get("utr"),
                  str(instrument.get("type", "")).lower() or None)


def _gsma_request(api: StatusApi, txn_id: str) -> tuple[str, dict[str, str]]:
    headers = {"X-Date": email.utils.formatdate(usegmt=True), "Accept": "application/json"}
    user = secret(api.var + "_USER", required=False)
    key = secret(api.var + "_API_KEY", required=False)
    if user:
        headers["Authorization"] = _basic(user, secret(api.var + "_PASSWORD"))
    if key:
        headers["X-API-Key"] = key
    if not user and not key:
        raise ConfigError(f"set {api.var}_USER and _PASSWORD, or {api.var}_API_KEY",
                          code="missing_secret", field=api.var + "_USER")
    return f"{api.base_url}/transactions/{txn_id}", headers


def _gsma_parse(api: StatusApi, body: dict[str, Any]) -> Status:
    word = str(body.get("transactionStatus", "")).strip().lower()
    state = ("success" if word in api.words("success_states", GSMA_SUCCESS) else
             "failed" if word in api.words("failed_states", GSMA_FAILED) else "pending")
    amount = None
    if state == "success":
        try:
            amount = gsma_amount(body.get("amount"), "amount")  # the dialect's one rule
        except QrpayError as exc:
            raise QrpayError(f"{api.channel} status API: amount {body.get('amount')!r}: "
                             f"{exc.message}", code="status_api_failed") from None
    receipt = body.get("transactionReceipt")
    return Status(state, amount, str(receipt) if receipt else None, "wallet",
                  body.get("currency"))


_REQUEST: dict[str, Callable[[StatusApi, str], tuple[str, dict[str, str]]]] = {
    "razorpay": _razorpay_request, "phonepe": _phonepe_request, "gsma": _gsma_request}
_PARSE: dict[str, Callable[[StatusApi, dict[str, Any]], Status]] = {
    "razorpay": _razorpay_parse, "phonepe": _phonepe_parse, "gsma": _gsma_parse}


def status_api(channel: Channel) -> StatusApi | None:
    """The channel's status API from its profile (``None`` if it has none)."""
    raw = channel.settings.get("status")
    if not isinstance(raw, dict):
        return None
    api = str(raw.get("api") or channel.adapter)
    if api not in APIS:
        raise ConfigError(f"channels.{channel.name}.status.api must be one of "
                          f"{', '.join(APIS)}", code="bad_value", field="api")
    base = str(raw.get("base_url") or DEFAULT_BASE.get(api, ""))
    if not base:
        raise ConfigError(f"channels.{channel.name}.status.base_url is required for {api}",
                          code="missing_value", field="base_url")
    return StatusApi(channel=channel.name, api=api, base_url=base.rstrip("/"),
                     pending_after=dt.timedelta(minutes=float(raw.get(
                         "pending_after_minutes", 15))),
                     give_up=dt.timedelta(hours=float(raw.get("give_up_hours", 72))),
                     options=dict(raw))


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
                try:
                    return api.parse(r.json())
                except ValueError:
                    last = "the answer is not JSON"
                    break
            if r.status_code == 404:
                return Status("pending")  # not known there (yet)
            last = f"HTTP {r.status_code}"
            if r.status_code < 500 and r.status_code != 429:
                break
        if pause is not None:
            sleep(pause)
    raise QrpayError(f"{api.channel} status API: {last}", code="status_api_failed")
