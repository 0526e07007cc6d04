"""The ``[chat]`` section of a profile: which biller answers which WhatsApp number and
USSD code, the Graph API base URL, session expiry per channel.  Secrets (the app secret,
the verify token, the access token, the bdapps password) come from the environment like
every other secret (:func:`qrpay.config.secret`); the profile names the variables only.

.. code-block:: toml

    [chat]
    session_minutes = { whatsapp = 30, ussd = 3 }   # idle expiry per channel
    resume_minutes = { ussd = 10, whatsapp = 1440 }  # offer to continue a lost session
    lease_seconds = 30  # a claimed message is this sender's; a dead node's go after this

    [chat.whatsapp]
    graph_base_url = "https://graph.facebook.com/v21.0"
    rate_per_second = 80                            # per business phone number
    templates = { payment_received = "payment_received", complaint_update = "complaint_update",
                  complaint_note = "complaint_note" }

    [chat.ussd]
    bdapps_url = "https://developer.bdapps.com/ussd/send"
    bdapps_app_id = "APP_000001"

    [chat.billers.best]
    whatsapp_phone_number_id = "106540352242922"
    ussd_codes = ["*384*123#"]
    ask_area = true
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qrpay.config import Biller, Config, secret
from qrpay.errors import ConfigError

CHANNELS = ("whatsapp", "ussd")
DEFAULT_SESSION_MINUTES = {"whatsapp": 30, "ussd": 3}
# How long after the last message a conversation lost mid-flow is offered back (continue
# or start again): USSD within 10 minutes of the dropped session (issue 12 item 5), on
# WhatsApp for a day after the idle expiry cut a flow short.
DEFAULT_RESUME_MINUTES = {"whatsapp": 24 * 60, "ussd": 10}
DEFAULT_GRAPH = "https://graph.facebook.com/v21.0"
APP_SECRET_ENV = "QRPAY_WHATSAPP_APP_SECRET"
VERIFY_TOKEN_ENV = "QRPAY_WHATSAPP_VERIFY_TOKEN"
ACCESS_TOKEN_ENV = "QRPAY_WHATSAPP_TOKEN"
BDAPPS_PASSWORD_ENV = "QRPAY_BDAPPS_PASSWORD"


@dataclass(frozen=True)
class BillerChat:
    """One biller's chat numbers and choices."""

    biller: str
    phone_number_id: str = ""
    ussd_codes: tuple[str, ...] = ()
    ask_area: bool = False


@dataclass(frozen=True)
class ChatSettings:
    graph_base_url: str = DEFAULT_GRAPH
    rate_per_second: float = 80.0
    session_minutes: dict[str, int] = field(
        default_factory=lambda: dict(DEFAULT_SESSION_MINUTES))
    resume: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_RESUME_MINUTES))
    templates: dict[str, str] = field(default_factory=dict)
    bdapps_url: str = ""
    bdapps_app_id: str = ""
    billers: dict[str, BillerChat] = field(default_factory=dict)
    lease_seconds: float = 30.0  # qrpay.chat.sender: how long a claimed row is a sender's

    def for_biller(self, code: str) -> BillerChat:
        return self.billers.get(code) or BillerChat(biller=code)

    def biller_for_phone_number_id(self, phone_number_id: str) -> str | None:
        for entry in self.billers.values():
            if entry.phone_number_id and entry.phone_number_id == phone_number_id:
                return entry.biller
        return None

    def biller_for_ussd(self, config: Config, service_code: str) -> Biller:
        """The biller whose ``ussd_codes`` list the code, else the first biller."""
        for entry in self.billers.values():
            if service_code in entry.ussd_codes:
                return config.biller(entry.biller)
        return config.default_biller

    def expiry_minutes(self, channel: str) -> int:
        return int(self.session_minutes.get(channel, DEFAULT_SESSION_MINUTES[channel]))

    def resume_minutes(self, channel: str) -> int:
        return int(self.resume.get(channel, DEFAULT_RESUME_MINUTES[channel]))


def _minutes(raw: Any, name: str, defaults: dict[str, int]) -> dict[str, int]:
    out = dict(defaults)
    if name == "resume_minutes" and isinstance(raw, int) and not isinstance(raw, bool):
        raw = {"ussd": raw}  # the older form: a number for USSD
    if not isinstance(raw, dict):
        raise ConfigError(f"chat.{name} must be a table", code="bad_value",
                          field=f"chat.{name}")
    for channel, value in raw.items():
        if channel not in CHANNELS or not isinstance(value, int) or value <= 0:
            raise ConfigError(f"chat.{name}.{channel} must be a positive integer "
                              f"for one of {', '.join(CHANNELS)}", code="bad_value",
                              field=f"chat.{name}.{channel}")
        out[channel] = value
    return out


def _biller_chat(config: Config, code: str, raw: dict[str, Any]) -> BillerChat:
    if code not in config.billers:
        raise ConfigError(f"[chat.billers.{code}]: no such biller", code="unknown_biller",
                          field=f"chat.billers.{code}")
    return BillerChat(biller=code, phone_number_id=str(raw.get("whatsapp_phone_number_id", "")),
                      ussd_codes=tuple(str(c) for c in raw.get("ussd_codes", ())),
                      ask_area=bool(raw.get("ask_area", False)))


def chat_settings(config: Config) -> ChatSettings:
    """Parse the profile's ``[chat]``; ``ConfigError`` naming the key on a bad value."""
    raw = config.raw.get("chat", {})
    wa = raw.get("whatsapp", {})
    ussd = raw.get("ussd", {})
    billers = {code: _biller_chat(config, code, entry)
               for code, entry in raw.get("billers", {}).items()}
    rate = wa.get("rate_per_second", 80)
    if not isinstance(rate, int | float) or rate <= 0:
        raise ConfigError("chat.whatsapp.rate_per_second must be positive", code="bad_value",
                          field="chat.whatsapp.rate_per_second")
    lease = raw.get("lease_seconds", 30)
    if not isinstance(lease, int | float) or isinstance(lease, bool) or lease <= 0:
        raise ConfigError("chat.lease_seconds must be a positive number of seconds",
                          code="bad_value", field="chat.lease_seconds")
    return ChatSettings(
        lease_seconds=float(lease),
        graph_base_url=str(wa.get("graph_base_url", DEFAULT_GRAPH)).rstrip("/"),
        rate_per_second=float(rate),
        session_minutes=_minutes(raw.get("session_minutes", {}), "session_minutes",
                                 DEFAULT_SESSION_MINUTES),
        resume=_minutes(raw.get("resume_minutes", {}), "resume_minutes",
                        DEFAULT_RESUME_MINUTES),
        templates={str(k): str(v) for k, v in wa.get("templates", {}).items()},
        bdapps_url=str(ussd.get("bdapps_url", "")),
        bdapps_app_id=str(ussd.get("bdapps_app_id", "")),
        billers=billers)


def needed_secrets(settings: ChatSettings, *, sender: bool) -> list[str]:
    """The secrets the chat routes need (``qrpay serve`` refuses to start without them):
    the WhatsApp app secret and verify token where a biller has a WhatsApp number, and
    the Graph API token when this process sends the replies; the bdapps password where
    the bdapps USSD gateway is configured."""
    names = []
    if any(b.phone_number_id for b in settings.billers.values()):
        names += [APP_SECRET_ENV, VERIFY_TOKEN_ENV] + ([ACCESS_TOKEN_ENV] if sender else [])
    if settings.bdapps_url:
        names.append(BDAPPS_PASSWORD_ENV)
    return names


def app_secret() -> str | None:
    return secret(APP_SECRET_ENV, required=False)


def verify_token() -> str | None:
    return secret(VERIFY_TOKEN_ENV, required=False)


def access_token() -> str | None:
    return secret(ACCESS_TOKEN_ENV, required=False)


def bdapps_password() -> str | None:
    return secret(BDAPPS_PASSWORD_ENV, required=False)
