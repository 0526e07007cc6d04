"""What a biller accepts through the biller API, read from the profile.

Per biller, ``[billers.biller_api]`` (every key optional)::

    amount_rule = "exact_down"   # exact | exact_down | exact_up | any | range
    min_amount = "100.00"        # exact_down: smallest part payment; range: lower bound
    max_amount = "50000.00"      # range: upper bound
    cutoff_days = 30             # refuse payments more than N days after the due date
                                 # (0: refuse from the day after it; absent: never refuse)
    already_paid = "refuse"      # refuse | credit (a second payment becomes a credit)
    account_prefixes = ["1"]     # account numbers starting so belong to this biller
    howto = ["bkash", "rocket"]  # channels shown under "how to pay" on the bill page

Per channel, in ``[channels.<name>]``: ``biller_api`` (the dialect: ``bkash``, ``bbps``,
``gsma``, ``rocket``), ``username``, ``password_env``, ``allow_ips``, ``ussd``, and
``[channels.<name>.credentials.<biller code>]`` tables (``username``, ``password_env``)
for co-operatives with credentials of their own.  Passwords come from the environment or
``QRPAY_SECRETS_FILE`` (:func:`qrpay.config.secret`): ``QRPAY_CHANNEL_PASSWORD_<CHANNEL>``
and ``QRPAY_CHANNEL_PASSWORD_<CHANNEL>_<BILLER>`` unless ``password_env`` names another.

``auth`` says how a channel proves who it is: ``"basic"`` (the default: HTTP Basic, or
bKash's form fields) or, for the ``bbps`` dialect, ``"jwt"``: Setu's bearer JWT
(:func:`qrpay.biller.guard.authenticate_jwt`), where a credential's ``username`` is the
``aud`` claim Setu signs (the scheme id agreed with Setu) and its secret, shared with
Setu, comes from ``QRPAY_CHANNEL_JWT_SECRET_<CHANNEL>`` (``..._<BILLER>`` for a
co-operative's own) unless ``password_env`` names another.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from qrpay.config import Biller, Config
from qrpay.errors import ConfigError
from qrpay.money import parse_amount

AMOUNT_RULES = ("exact", "exact_down", "exact_up", "any", "range")
ALREADY_PAID = ("refuse", "credit")
DIALECTS = ("bkash", "bbps", "gsma", "rocket")


@dataclass(frozen=True)
class BillerPolicy:
    biller: str
    amount_rule: str = "exact"
    min_amount: int | None = None  # minor units
    max_amount: int | None = None
    cutoff_days: int | None = None
    already_paid: str = "refuse"
    account_prefixes: tuple[str, ...] = ()
    howto: tuple[str, ...] = ()


@dataclass(frozen=True)
class Credential:
    """One user name and the variable holding its password; ``billers`` it may reach
    (empty: every biller that takes the channel)."""

    username: str
    password_env: str
    billers: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChannelApi:
    name: str
    dialect: str
    display_name: str
    credentials: tuple[Credential, ...]
    allow_ips: tuple[str, ...] = ()
    auth: str = "basic"  # basic | jwt (module docstring)
    ussd: str = ""


def _env_part(text: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", text.upper()).strip("_")


def _amount(raw: dict[str, Any], key: str, where: str) -> int | None:
    if key not in raw:
        return None
    value = parse_amount(str(raw[key]), field=f"{where}.{key}", allow_negative=False)
    return value


def _policy(biller: Biller, raw: dict[str, Any]) -> BillerPolicy:
    where = f"biller {biller.code!r} biller_api"
    rule = str(raw.get("amount_rule", "exact_down" if biller.payee.allow_part_payment
                       else "exact"))
    if rule not in AMOUNT_RULES:
        raise ConfigError(f"{where}: amount_rule must be one of {', '.join(AMOUNT_RULES)}",
                          code="bad_value", field="amount_rule")
    already = str(raw.get("already_paid", "refuse"))
    if already not in ALREADY_PAID:
        raise ConfigError(f"{where}: already_paid must be refuse or credit",
                          code="bad_value", field="already_paid")
    low, high = _amount(raw, "min_amount", where), _amount(raw, "max_amount", where)
    if rule == "range" and (low is None or high is None or low > high):
        raise ConfigError(f"{where}: range needs min_amount <= max_amount",
                          code="bad_value", field="max_amount")
    cutoff = raw.get("cutoff_days")
    if cutoff is not None and (not isinstance(cutoff, int) or cutoff < 0):
        raise ConfigError(f"{where}: cutoff_days must be a whole number >= 0",
                          code="bad_value", field="cutoff_days")
    return BillerPolicy(
        biller=biller.code, amount_rule=rule, min_amount=low, max_amount=high,
        cutoff_days=cutoff, already_paid=already,
        account_prefixes=tuple(str(p) for p in raw.get("account_prefixes", ())),
        howto=tuple(str(c) for c in raw.get("howto", ())))


def _raw_billers(config: Config) -> dict[str, dict[str, Any]]:
    out = {}
    for entry in config.raw.get("billers", ()):
        if isinstance(entry, dict) and "code" in entry:
            out[str(entry["code"])] = entry.get("biller_api", {}) or {}
    return out


AUTH = {"basic": "QRPAY_CHANNEL_PASSWORD_", "jwt": "QRPAY_CHANNEL_JWT_SECRET_"}
JWT_DIALECTS = ("bbps",)  # the contracts that define a JWT (Setu's)


def _auth(name: str, dialect: str, raw: dict[str, Any]) -> str:
    auth = str(raw.get("auth", "basic"))
    if auth not in AUTH or (auth == "jwt" and dialect not in JWT_DIALECTS):
        raise ConfigError(f"channel {name!r}: auth must be basic"
                          f"{' or jwt' if dialect in JWT_DIALECTS else ''}, not {auth!r}",
                          code="bad_value", field="auth")
    return auth


def _credentials(name: str, raw: dict[str, Any], auth: str = "basic"
                 ) -> tuple[Credential, ...]:
    base = f"{AUTH[auth]}{_env_part(name)}"
    creds = [Credential(username=str(raw.get("username", name)),
                        password_env=str(raw.get("password_env", base)))]
    for code, entry in (raw.get("credentials", {}) or {}).items():
        creds.append(Credential(
            username=str(entry.get("username", f"{name}-{code}")),
            password_env=str(entry.get("password_env", f"{base}_{_env_part(code)}")),
            billers=(str(code),)))
    return tuple(creds)


def _channel(name: str, raw: dict[str, Any]) -> ChannelApi | None:
    dialect = raw.get("biller_api")
    if not dialect:
        return None
    if dialect not in DIALECTS:
        raise ConfigError(f"channel {name!r}: biller_api must be one of {', '.join(DIALECTS)}",
                          code="bad_value", field="biller_api")
    auth = _auth(name, str(dialect), raw)
    return ChannelApi(name=name, dialect=str(dialect),
                      display_name=str(raw.get("display_name", name)),
                      credentials=_credentials(name, raw, auth),
                      allow_ips=tuple(str(ip) for ip in raw.get("allow_ips", ())),
                      ussd=str(raw.get("ussd", "")), auth=auth)


@dataclass(frozen=True)
class ApiProfile:
    """Everything the biller API reads from one profile."""

    policies: dict[str, BillerPolicy]
    channels: dict[str, ChannelApi]

    def policy(self, biller: str) -> BillerPolicy:
        return self.policies.get(biller) or BillerPolicy(biller=biller)

    def channel(self, name: str) -> ChannelApi | None:
        return self.channels.get(name)


_CACHE: dict[int, tuple[Config, ApiProfile]] = {}


def _parse(config: Config) -> ApiProfile:
    raw_billers = _raw_billers(config)
    policies = {code: _policy(b, raw_billers.get(code, {}))
                for code, b in config.billers.items()}
    channels = {}
    for name, entry in (config.raw.get("channels", {}) or {}).items():
        api = _channel(str(name), entry or {})
        if api is not None:
            channels[str(name)] = api
    return ApiProfile(policies=policies, channels=channels)


def api_profile(config: Config) -> ApiProfile:
    """The biller-API settings of ``config``, parsed once per config object."""
    hit = _CACHE.get(id(config))
    if hit is not None and hit[0] is config:
        return hit[1]
    if len(_CACHE) > 32:
        _CACHE.clear()
    profile = _parse(config)
    _CACHE[id(config)] = (config, profile)
    return profile


def password_variables(config: Config) -> list[str]:
    """The environment variables holding the biller-API passwords this profile needs
    (for a start-up check of the secrets)."""
    return sorted({cred.password_env for api in api_profile(config).channels.values()
                   for cred in api.credentials})
