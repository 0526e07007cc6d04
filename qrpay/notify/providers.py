"""SMS providers: console/file (default), MSG91 flow API (India), SSL Wireless (Bangladesh).

Each provider has ``send(OutgoingSms) -> provider reference`` and raises
:class:`SendError` (``permanent=True`` when retrying cannot help: a rejected number, a
template mismatch, bad credentials).  Base URLs come from ``[sms] base_url`` so that tests
point them at a local fake server; credentials come from the environment
(``QRPAY_MSG91_AUTHKEY``, ``QRPAY_SSLWIRELESS_API_TOKEN``, or the names set in
``[sms] authkey_env`` / ``api_token_env``).

Wire formats (see docs/callbacks.md, "SMS providers"):

* MSG91 ``POST {base}/api/v5/flow/``, header ``authkey``, JSON ``{"template_id",
  "short_url": "0", "recipients": [{"mobiles": "91...", "var1": ..., "var2": ...}]}``;
  answer ``{"type": "success", "message": "<request id>"}`` or ``{"type": "error",
  "message": "..."}``.  The MSG91 template must use ``##var1##``... in the order of the
  DLT ``{#var#}`` slots; the values are cut from the rendered body by the DLT pattern.
* SSL Wireless ``POST {base}/api/v3/send-sms`` JSON ``{"api_token", "sid", "msisdn",
  "sms", "csms_id"}``; answer ``{"status": "SUCCESS", "status_code": 200, "smsinfo":
  [{"reference_id": ...}]}``, otherwise ``status_code`` and ``error_message``.
  ``csms_id`` (our id for the SMS, unique per day at SSL) is derived from the outbox
  row's dedupe key, so a resend after a crash carries the same id.
"""

from __future__ import annotations

import hashlib
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO

import httpx

from qrpay.config import Config, secret
from qrpay.errors import ConfigError


@dataclass(frozen=True)
class OutgoingSms:
    id: int
    dedupe_key: str
    biller: str
    recipient: str
    body: str
    language: str
    template: str
    template_id: str | None
    encoding: str
    segments: int
    sender: str = ""
    variables: tuple[str, ...] = ()
    provider_template_id: str | None = None


class SendError(Exception):
    """A send that did not go through, or may have.

    ``permanent``: retrying cannot help.  ``unknown``: the request left but no answer came
    (a timeout after sending, a dropped connection): the provider may well have accepted
    it, so it must not simply be sent again (see ``SmsProvider.resend_is_safe``).
    """

    def __init__(self, message: str, *, permanent: bool = False, unknown: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.unknown = unknown


class SmsProvider(Protocol):
    name: str
    #: True when sending the same SMS again cannot deliver it twice (the provider
    #: dedupes on our client reference), so an unknown outcome may be resolved by
    #: resending; False: an unknown outcome is left for a person to check.
    resend_is_safe: bool

    def send(self, sms: OutgoingSms) -> str: ...

    # Optional: ``status(sms) -> "delivered" | "not_delivered" | None`` for a provider
    # that can be asked about an SMS by our own reference (``qrpay sms unknown --resend``
    # asks before resending).  MSG91's flow API cannot (the request id it returns was
    # lost with the timeout; its reports go by that id), so it has none.


class ConsoleProvider:
    """One line per SMS on stdout, or appended to a file (``[sms] file = "..."``)."""

    name = "console"
    resend_is_safe = True

    def __init__(self, path: str | None = None, out: TextIO | None = None) -> None:
        self.path = Path(path) if path else None
        self.out = out
        self._lock = threading.Lock()

    def send(self, sms: OutgoingSms) -> str:
        line = (f"SMS to={sms.recipient} from={sms.sender or '-'} "
                f"template_id={sms.template_id or '-'} {sms.encoding}x{sms.segments} "
                f"key={sms.dedupe_key} | {sms.body}\n")
        with self._lock:
            if self.path:
                with self.path.open("a", encoding="utf-8") as fh:
                    fh.write(line)
            else:
                (self.out or sys.stdout).write(line)
        return f"console-{sms.id}"


def csms_id(dedupe_key: str) -> str:
    """A short stable id for SSL Wireless from the outbox dedupe key."""
    return "qp" + hashlib.sha256(dedupe_key.encode()).hexdigest()[:18]


class _HttpProvider:
    name = "http"
    resend_is_safe = False

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout  # the sender keeps its batches within lease / timeout
        self.client = httpx.Client(timeout=timeout)

    def _post(self, path: str, payload: dict[str, Any],
              headers: dict[str, str] | None = None) -> dict[str, Any]:
        try:
            resp = self.client.post(self.base_url + path, json=payload, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # nothing was sent
            raise SendError(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        except httpx.HTTPError as exc:  # sent, but no answer: it may have been accepted
            raise SendError(f"{self.name}: no answer ({type(exc).__name__}); the provider "
                            "may have accepted it", unknown=True) from exc
        if resp.status_code >= 500 or resp.status_code == 429:
            raise SendError(f"{self.name}: HTTP {resp.status_code}")
        try:
            data = resp.json()
        except ValueError:
            raise SendError(f"{self.name}: HTTP {resp.status_code}, not JSON") from None
        if resp.status_code >= 400:
            raise SendError(f"{self.name}: HTTP {resp.status_code}: {data}", permanent=True)
        return data if isinstance(data, dict) else {}


class Msg91Provider(_HttpProvider):
    name = "msg91"

    def __init__(self, base_url: str, authkey: str, timeout: float = 10.0) -> None:
        super().__init__(base_url, timeout)
        self.authkey = authkey

    def send(self, sms: OutgoingSms) -> str:
        template = sms.provider_template_id or sms.template_id
        if not template:
            raise SendError("msg91: no template id for this SMS", permanent=True)
        recipient: dict[str, str] = {"mobiles": sms.recipient}
        recipient.update({f"var{i}": v for i, v in enumerate(sms.variables, 1)})
        payload: dict[str, Any] = {"template_id": template, "short_url": "0",
                                   "recipients": [recipient]}
        if sms.sender:
            payload["sender"] = sms.sender
        data = self._post("/api/v5/flow/", payload,
                          {"authkey": self.authkey, "accept": "application/json"})
        if data.get("type") != "success":
            raise SendError(f"msg91: {data.get('message') or data}", permanent=True)
        return str(data.get("message", ""))


class SslWirelessProvider(_HttpProvider):
    name = "sslwireless"
    resend_is_safe = True  # csms_id: SSL Wireless refuses a repeat, counted as sent below

    def __init__(self, base_url: str, api_token: str, sid: str, timeout: float = 10.0) -> None:
        super().__init__(base_url, timeout)
        self.api_token = api_token
        self.sid = sid

    def send(self, sms: OutgoingSms) -> str:
        cid = csms_id(sms.dedupe_key)
        data = self._post("/api/v3/send-sms", {
            "api_token": self.api_token, "sid": self.sid or sms.sender,
            "msisdn": sms.recipient, "sms": sms.body, "csms_id": cid})
        if str(data.get("status_code")) == "200":
            info = data.get("smsinfo") or [{}]
            return str(info[0].get("reference_id") or cid)
        message = str(data.get("error_message") or data)
        if "duplicate" in message.lower():
            # SSL Wireless refuses a csms_id it already has: the earlier attempt got
            # through before we could record it (the at-least-once edge).  Not resent.
            return cid
        raise SendError(f"sslwireless: {data.get('status_code')}: {message}",
                        permanent=str(data.get("status_code")).startswith("4"))


DEFAULT_URLS = {"msg91": "https://control.msg91.com",
                "sslwireless": "https://smsplus.sslwireless.com"}


def secret_names(config: Config) -> tuple[str, ...]:
    """The secrets the configured SMS provider needs (none for console/file)."""
    opts = config.sms_options
    if config.sms_provider == "msg91":
        return (opts.get("authkey_env") or "QRPAY_MSG91_AUTHKEY",)
    if config.sms_provider == "sslwireless":
        return (opts.get("api_token_env") or "QRPAY_SSLWIRELESS_API_TOKEN",)
    return ()


def make_provider(config: Config) -> SmsProvider:
    """The provider named by ``[sms] provider``."""
    opts = config.sms_options
    name = config.sms_provider
    timeout = float(opts.get("timeout", "10"))
    base = opts.get("base_url") or DEFAULT_URLS.get(name, "")
    if name in ("console", "file"):
        return ConsoleProvider(opts.get("file") or None)
    if name == "msg91":
        key = secret(secret_names(config)[0]) or ""
        return Msg91Provider(base, key, timeout)
    if name == "sslwireless":
        token = secret(secret_names(config)[0]) or ""
        return SslWirelessProvider(base, token, opts.get("sid", ""), timeout)
    raise ConfigError(f"unknown SMS provider {name!r}: console, file, msg91 or sslwireless",
                      code="unknown_sms_provider", field="sms.provider")
