"""What ``qrpay serve`` checks before it listens: every secret an enabled route needs.

Without them the server used to start, ``/healthz`` said ok, and every bill page, callback
and desk login answered 500.  :func:`check_secrets` names all the missing ones at once
(``error[missing_secret]``, exit 2).
"""

from __future__ import annotations

import os

from qrpay.config import Config, secret
from qrpay.errors import ConfigError


def token_key_names(config: Config) -> list[str]:
    """The bill-page token keys: the current one and any still accepted."""
    kids = [config.token_key_id]
    old = os.environ.get("QRPAY_TOKEN_OLD_KEYS", "")
    kids += [k.strip() for k in old.split(",") if k.strip()]
    return [f"QRPAY_TOKEN_KEY_{kid.upper()}" for kid in dict.fromkeys(kids)]


def needed_secrets(config: Config, *, desk: bool, sender: bool) -> list[str]:
    """Secret names the routes (bill pages, callbacks, biller API, chat, desk) and the
    in-process SMS sender need, in a stable order."""
    from qrpay.biller.policy import password_variables
    from qrpay.chat.settings import chat_settings
    from qrpay.chat.settings import needed_secrets as chat_secrets

    names = token_key_names(config)
    names += [ch.secret_var for ch in config.channels.values()]
    names += password_variables(config)  # the biller API's per-channel credentials
    names += chat_secrets(chat_settings(config), sender=sender)  # WhatsApp, bdapps USSD
    if desk:
        names.append("QRPAY_SESSION_KEY")
    if sender:
        from qrpay.notify.providers import secret_names

        names += secret_names(config)
    return list(dict.fromkeys(names))


def missing_secrets(config: Config, *, desk: bool, sender: bool) -> list[str]:
    return [n for n in needed_secrets(config, desk=desk, sender=sender)
            if not secret(n, required=False)]


def check_secrets(config: Config, *, desk: bool, sender: bool) -> None:
    """Raise ``ConfigError(missing_secret)`` naming every secret that is not set."""
    missing = missing_secrets(config, desk=desk, sender=sender)
    if missing:
        raise ConfigError(
            f"secret{'s' if len(missing) > 1 else ''} not set: {', '.join(missing)} "
            "(set them in the environment or in the file named by QRPAY_SECRETS_FILE)",
            code="missing_secret", field=missing[0], missing=missing)
