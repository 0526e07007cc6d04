"""Utility profiles: one TOML file per deployment, one or more billers in it.

A deployment (``qrpay.toml``) names its database, its public base URL and the payment
channels it accepts; each ``[[billers]]`` entry is one utility or co-operative with its
own payee, numbering, languages and late-payment rule.  Secrets never live in the file:
see :func:`secret`.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from qrpay import clock
from qrpay.errors import ConfigError
from qrpay.money import parse_amount

COUNTRIES = {"IN": "INR", "BD": "BDT"}
LANGUAGES = {"en", "hi", "mr", "bn"}
QR_FORMATS = {"upi", "bharatqr", "banglaqr"}


def _secrets_file_values() -> dict[str, str]:
    path = os.environ.get("QRPAY_SECRETS_FILE")
    if not path:
        return {}
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError as exc:
        raise ConfigError(f"cannot read QRPAY_SECRETS_FILE {path}: {exc}",
                          code="secrets_file_unreadable") from exc
    return _parse_secrets_file(path, mtime)


@lru_cache(maxsize=4)
def _parse_secrets_file(path: str, _mtime_ns: int) -> dict[str, str]:
    """Parsed once per file version (the modification time is part of the key)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read QRPAY_SECRETS_FILE {path}: {exc}",
                          code="secrets_file_unreadable") from exc
    values = {}
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def secret(name: str, *, required: bool = True) -> str | None:
    """Read a secret from the environment, else from the file ``QRPAY_SECRETS_FILE``.

    The file (``KEY=value`` lines) lives outside the repository; ``make demo`` creates
    one with random values under ``~/.config/qrpay/``.
    """
    value = os.environ.get(name) or _secrets_file_values().get(name)
    if not value and required:
        raise ConfigError(f"secret {name} is not set (environment or QRPAY_SECRETS_FILE)",
                          code="missing_secret", field=name)
    return value or None


@dataclass(frozen=True)
class Payee:
    """Who the QR pays.  UPI needs ``vpa`` and ``name``; EMV adds the merchant account."""

    name: str
    vpa: str = ""
    name_local: str = ""
    city: str = ""
    postal_code: str = ""
    # EMV merchant account template (Bangla QR tag 26 as the acquirer gives it,
    # or Bharat QR's RuPay/UPI template): sub-tag -> value.
    emv_gui: str = ""
    emv_account: dict[str, str] = field(default_factory=dict)
    allow_part_payment: bool = False
    extra_params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Numbering:
    """How consumer and bill numbers look for one biller.

    ``scheme`` is ``bd`` (9-digit account, bill number = YYMM + account) or ``in``
    (opaque consumer numbers of ``length`` digits starting with ``prefix``; bill number
    = ``bill_prefix`` + YYMM + consumer number).  ``offices = "wzpdcl"`` names WZPDCL's
    circles, offices, substations and feeders in decoded account numbers (another
    utility's codes mean other offices, so by default none are named).
    """

    scheme: str = "bd"
    length: int = 9
    prefix: str = ""
    bill_prefix: str = ""
    offices: str = ""


@dataclass(frozen=True)
class LatePayment:
    """Amount payable after the due date when the bill file gives no ``late_amount``."""

    kind: str = "none"  # none | fixed | percent
    amount: int = 0  # minor units, for kind = fixed
    percent_bp: int = 0  # basis points, for kind = percent (200 = 2 %)
    grace_days: int = 0  # days after the due date before the late amount applies

    def late_amount(self, amount: int) -> int:
        if amount <= 0 or self.kind == "none":
            return amount
        if self.kind == "fixed":
            return amount + self.amount
        # percent, rounded half up to the minor unit, integer arithmetic only
        return amount + (amount * self.percent_bp + 5000) // 10000


# Cash ceilings when the profile names none: India's Income-tax Act s.269ST forbids
# receiving Rs 2 lakh or more in cash in one transaction; Bangladesh has no such rule, so a
# counter default of Tk 5 lakh.
DEFAULT_CASH_MAX = {"IN": 19_999_900, "BD": 50_000_000}


@dataclass(frozen=True)
class AmountLimits:
    """How far a payment may exceed what is due (``[billers.amount_limits]``).

    Above what is due a desk asks for an explicit confirmation; above :meth:`ceiling`
    it needs a supervisor (and a channel's payment is held for review); a mode's
    maximum (``max_by_mode``, minor units) refuses the payment outright.
    """

    ceiling_percent_bp: int = 1000  # 10 % of what is due, in basis points
    ceiling_amount: int = 10_000  # or this much (minor units), whichever is more
    max_by_mode: tuple[tuple[str, int], ...] = ()

    def ceiling(self, due: int) -> int:
        """The most a payment may be without approval, for ``due`` still owed."""
        due = max(due, 0)
        by_percent = (due * self.ceiling_percent_bp + 5000) // 10000
        return due + max(by_percent, self.ceiling_amount)

    def mode_max(self, mode: str) -> int | None:
        return dict(self.max_by_mode).get(mode)


@dataclass(frozen=True)
class Channel:
    """A payment channel that calls back (bKash, Razorpay...)."""

    name: str
    adapter: str = "generic"
    secret_env: str = ""
    display_name: str = ""
    # the rest of the channel's table, e.g. ``settlement`` and ``status`` (qrpay.recon)
    settings: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def secret_var(self) -> str:
        return self.secret_env or f"QRPAY_SECRET_{self.name.upper()}"

    def secrets(self) -> list[str]:
        """Current secret first, then the previous one during a rotation window."""
        current = secret(self.secret_var)
        previous = secret(self.secret_var + "_PREVIOUS", required=False)
        return [s for s in (current, previous) if s]


@dataclass(frozen=True)
class Biller:
    code: str
    name: str
    country: str
    currency: str
    languages: tuple[str, ...]
    timezone: str
    payee: Payee
    numbering: Numbering
    late_payment: LatePayment
    qr_format: str
    mcc: str
    public_base_url: str
    channels: tuple[str, ...]
    name_local: str = ""
    helpline: str = ""
    complaint_route: str = ""
    numerals: str = "latn"  # latn | beng | deva: digits on printed bills
    sms_sender: str = ""
    amount_limits: AmountLimits = AmountLimits()
    digital_target_percent: str = ""  # e.g. "80": share of payments made digitally
    logo: str = ""  # image file printed in the e-bill's header (absolute after loading)

    @property
    def language(self) -> str:
        return self.languages[0]

    def local(self, ts: dt.datetime) -> dt.datetime:
        """The instant ``ts`` (naive: UTC) on the biller's wall clock."""
        return clock.local(ts, self.timezone)

    def today(self, now: dt.datetime | None = None) -> dt.date:
        """The biller's calendar day at ``now`` (default: the current instant); due
        dates and late fees are decided on this day."""
        return self.local(now or clock.utcnow()).date()


@dataclass(frozen=True)
class Config:
    path: Path | None
    database_url: str
    public_base_url: str
    token_key_id: str
    billers: dict[str, Biller]
    channels: dict[str, Channel]
    sms_provider: str = "console"
    sms_options: dict[str, str] = field(default_factory=dict)
    # the parsed TOML as written, for modules that read their own keys (qrpay.biller)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def default_biller(self) -> Biller:
        return next(iter(self.billers.values()))

    def biller(self, code: str | None) -> Biller:
        if not code:
            return self.default_biller
        try:
            return self.billers[code]
        except KeyError:
            raise ConfigError(f"unknown biller {code!r}; known: {', '.join(self.billers)}",
                              code="unknown_biller", field="biller") from None

    def token_keys(self) -> dict[str, bytes]:
        """Keys for the bill-page token, by key id.  ``QRPAY_TOKEN_KEY_<KID>``."""
        keys = {self.token_key_id: secret(f"QRPAY_TOKEN_KEY_{self.token_key_id.upper()}")}
        old = os.environ.get("QRPAY_TOKEN_OLD_KEYS", "")
        for kid in filter(None, (k.strip() for k in old.split(","))):
            keys[kid] = secret(f"QRPAY_TOKEN_KEY_{kid.upper()}")
        return {k: v.encode() for k, v in keys.items() if v}


def _req(table: dict[str, Any], key: str, where: str) -> Any:
    if key not in table:
        raise ConfigError(f"{where}: missing key {key!r}", code="missing_key", field=key)
    return table[key]


def _payee(raw: dict[str, Any], where: str) -> Payee:
    return Payee(
        name=str(_req(raw, "name", where)),
        vpa=str(raw.get("vpa", "")),
        name_local=str(raw.get("name_local", "")),
        city=str(raw.get("city", "")),
        postal_code=str(raw.get("postal_code", "")),
        emv_gui=str(raw.get("emv_gui", "")),
        emv_account={str(k): str(v) for k, v in raw.get("emv_account", {}).items()},
        allow_part_payment=bool(raw.get("allow_part_payment", False)),
        extra_params={str(k): str(v) for k, v in raw.get("extra_params", {}).items()},
    )


def _late(raw: dict[str, Any]) -> LatePayment:
    kind = raw.get("kind", "none")
    if kind not in {"none", "fixed", "percent"}:
        raise ConfigError(f"late_payment.kind must be none, fixed or percent, not {kind!r}",
                          code="bad_value", field="late_payment.kind")
    percent = str(raw.get("percent", "0"))
    grace = raw.get("grace_days", 0)
    if isinstance(grace, bool) or not isinstance(grace, int) or not 0 <= grace <= 365:
        raise ConfigError(f"late_payment.grace_days must be a whole number of days from 0 "
                          f"to 365, not {grace!r}", code="bad_value",
                          field="late_payment.grace_days")
    return LatePayment(kind=kind, amount=parse_amount(str(raw.get("amount", "0"))),
                       percent_bp=parse_amount(percent), grace_days=grace)


def _limits(raw: dict[str, Any], country: str) -> AmountLimits:
    modes = {"cash": DEFAULT_CASH_MAX[country]}
    modes.update({str(k): parse_amount(str(v), field=f"amount_limits.max_by_mode.{k}",
                                       allow_negative=False)
                  for k, v in raw.get("max_by_mode", {}).items()})
    return AmountLimits(
        ceiling_percent_bp=parse_amount(str(raw.get("ceiling_percent", "10")),
                                        field="amount_limits.ceiling_percent",
                                        allow_negative=False),
        ceiling_amount=parse_amount(str(raw.get("ceiling_amount", "100")),
                                    field="amount_limits.ceiling_amount",
                                    allow_negative=False),
        max_by_mode=tuple(sorted(modes.items())))


def _biller(raw: dict[str, Any], defaults: dict[str, Any], index: int) -> Biller:
    where = f"billers[{index}]"
    code = str(_req(raw, "code", where))
    where = f"biller {code!r}"
    country = str(raw.get("country", defaults.get("country", ""))).upper()
    if country not in COUNTRIES:
        raise ConfigError(f"{where}: country must be IN or BD, not {country!r}",
                          code="bad_value", field="country")
    currency = str(raw.get("currency", COUNTRIES[country])).upper()
    if currency != COUNTRIES[country]:
        raise ConfigError(f"{where}: currency {currency} does not match country {country}",
                          code="bad_value", field="currency")
    languages = tuple(raw.get("languages", defaults.get("languages", ["en"])))
    for lang in languages:
        if lang not in LANGUAGES:
            raise ConfigError(f"{where}: unsupported language {lang!r}", code="bad_value",
                              field="languages")
    qr_format = str(raw.get("qr_format", "upi" if country == "IN" else "banglaqr"))
    if qr_format not in QR_FORMATS:
        raise ConfigError(f"{where}: qr_format must be one of {sorted(QR_FORMATS)}",
                          code="bad_value", field="qr_format")
    payee = _payee(_req(raw, "payee", where), where + ".payee")
    if qr_format in {"upi", "bharatqr"} and not payee.vpa:
        raise ConfigError(f"{where}: a UPI payee needs payee.vpa", code="missing_key",
                          field="payee.vpa")
    num = raw.get("numbering", {})
    numbering = Numbering(scheme=str(num.get("scheme", "bd" if country == "BD" else "in")),
                          length=int(num.get("length", 9)), prefix=str(num.get("prefix", "")),
                          bill_prefix=str(num.get("bill_prefix", "")),
                          offices=str(num.get("offices", "")))
    if numbering.scheme not in {"bd", "in"}:
        raise ConfigError(f"{where}: numbering.scheme must be bd or in", code="bad_value",
                          field="numbering.scheme")
    base = str(raw.get("public_base_url", defaults.get("public_base_url", ""))).rstrip("/")
    return Biller(
        code=code, name=str(_req(raw, "name", where)), country=country, currency=currency,
        languages=languages,
        timezone=str(raw.get("timezone", "Asia/Kolkata" if country == "IN" else "Asia/Dhaka")),
        payee=payee, numbering=numbering, late_payment=_late(raw.get("late_payment", {})),
        qr_format=qr_format, mcc=str(raw.get("mcc", "4900")), public_base_url=base,
        channels=tuple(raw.get("channels", [])), name_local=str(raw.get("name_local", "")),
        helpline=str(raw.get("helpline", "")),
        complaint_route=str(raw.get("complaint_route", "")),
        numerals=str(raw.get("numerals", "latn")), sms_sender=str(raw.get("sms_sender", "")),
        amount_limits=_limits(raw.get("amount_limits", {}), country),
        digital_target_percent=str(raw.get("digital_target_percent", "")),
        logo=str(raw.get("logo", "")),
    )


def _with_logo_path(biller: Biller, path: Path | None) -> Biller:
    """The biller's ``logo`` relative to the profile's folder (a missing file is the
    e-bill's error, ``logo_missing``, so the profile still loads for everything else)."""
    if not biller.logo or Path(biller.logo).is_absolute() or path is None:
        return biller
    return replace(biller, logo=str(path.parent / biller.logo))


_CHANNEL_KEYS = {"adapter", "secret_env", "display_name"}


def parse_config(raw: dict[str, Any], path: Path | None = None) -> Config:
    billers_raw = raw.get("billers")
    if not billers_raw:
        raise ConfigError("profile has no [[billers]]", code="missing_key", field="billers")
    billers: dict[str, Biller] = {}
    for i, entry in enumerate(billers_raw):
        b = _biller(entry, raw, i)
        if b.code in billers:
            raise ConfigError(f"biller code {b.code!r} appears twice", code="duplicate_biller",
                              field="billers")
        billers[b.code] = _with_logo_path(b, path)
    channels = {}
    for name, entry in raw.get("channels", {}).items():
        channels[name] = Channel(name=name, adapter=str(entry.get("adapter", "generic")),
                                 secret_env=str(entry.get("secret_env", "")),
                                 display_name=str(entry.get("display_name", name)),
                                 settings={str(k): v for k, v in entry.items()
                                           if k not in _CHANNEL_KEYS})
    for b in billers.values():
        for ch in b.channels:
            if ch not in channels:
                channels[ch] = Channel(name=ch, display_name=ch)
    database = os.environ.get("QRPAY_DATABASE_URL") or str(raw.get("database", ""))
    if not database:
        base = path.parent if path else Path.cwd()
        database = f"sqlite:///{base / 'qrpay.db'}"
    elif database.startswith("sqlite:///") and not database.startswith("sqlite:////") and path:
        rel = database.removeprefix("sqlite:///")
        if rel and rel != ":memory:":
            database = f"sqlite:///{(path.parent / rel).resolve()}"
    sms = raw.get("sms", {})
    return Config(
        path=path, database_url=database,
        public_base_url=str(raw.get("public_base_url", "")).rstrip("/"),
        token_key_id=str(raw.get("token_key_id", "k1")),
        billers=billers, channels=channels,
        sms_provider=str(sms.get("provider", "console")),
        sms_options={str(k): str(v) for k, v in sms.items() if k != "provider"},
        raw=raw,
    )


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load the profile at ``path``, ``$QRPAY_CONFIG`` or ``./qrpay.toml``."""
    p = Path(path or os.environ.get("QRPAY_CONFIG") or "qrpay.toml")
    try:
        with p.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"no profile at {p} (pass --config or set QRPAY_CONFIG)",
                          code="config_not_found") from None
    except IsADirectoryError:
        raise ConfigError(f"{p} is a folder: --config (or QRPAY_CONFIG) names the profile "
                          f"file, e.g. {p / 'qrpay.toml'}", code="config_not_a_file",
                          field="config") from None
    except OSError as exc:
        raise ConfigError(f"cannot read the profile {p}: {exc.strerror or exc}",
                          code="config_unreadable", field="config") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: {exc}", code="bad_toml") from exc
    return parse_config(raw, p.resolve())
