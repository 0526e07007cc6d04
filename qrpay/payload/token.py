"""The short keyed token that makes a qrpay bill QR tamper-evident.

The token is ``<kid>.<mac>``: ``kid`` names the key (``Config.token_key_id`` when made;
any key of ``Config.token_keys()`` when checked, so keys rotate without invalidating bills
already printed), and ``mac`` is HMAC-SHA256 under that key over::

    biller code | bill number | amount in minor units | payee id

truncated to the first 9 bytes (72 bits) and written as 12 unpadded base64url characters.
72 bits cannot be guessed: a forger gets one try per resolver query, and the token says
nothing about the key.  The whole token is 15 characters for a two-character kid, which
keeps the bill URL (and so the QR version) small.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from qrpay.config import Config
from qrpay.errors import PayloadError

MAC_BYTES = 9
MAC_CHARS = 12  # base64url of 9 bytes, no padding
_KID = re.compile(r"[A-Za-z0-9]{1,8}")
_TOKEN = re.compile(r"([A-Za-z0-9]{1,8})\.([A-Za-z0-9_-]{12})")


def _mac(key: bytes, biller_code: str, bill_no: str, amount: int, payee_id: str) -> str:
    message = "|".join((biller_code, bill_no, str(int(amount)), payee_id)).encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()[:MAC_BYTES]
    return base64.urlsafe_b64encode(digest).decode("ascii")


def make_token(config: Config, biller_code: str, bill_no: str, amount: int,
               payee_id: str) -> str:
    """The token for one bill at one amount, under the current key."""
    kid = config.token_key_id
    if not _KID.fullmatch(kid):
        raise PayloadError(f"token key id {kid!r} must be 1-8 letters or digits",
                           code="bad_key_id", field="token_key_id")
    key = config.token_keys().get(kid)
    if not key:
        raise PayloadError(f"no key for token key id {kid!r}", code="missing_key",
                           field="token_key_id")
    return f"{kid}.{_mac(key, biller_code, bill_no, amount, payee_id)}"


def split_token(token: str) -> tuple[str, str] | None:
    """``(kid, mac)`` if ``token`` has the shape of a qrpay token, else None."""
    m = _TOKEN.fullmatch(token)
    return (m.group(1), m.group(2)) if m else None


def check_token(config: Config, token: str, biller_code: str, bill_no: str, amount: int,
                payee_id: str) -> bool:
    """True iff ``token`` was made by one of our keys for exactly these values."""
    parts = split_token(token)
    if parts is None:
        return False
    kid, mac = parts
    key = config.token_keys().get(kid)
    if not key:
        return False
    return hmac.compare_digest(_mac(key, biller_code, bill_no, amount, payee_id), mac)
