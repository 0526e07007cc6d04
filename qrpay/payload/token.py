"""The short keyed token that makes a qrpay bill QR tamper-evident.

The token is ``<kid>.<mac>``: ``kid`` names the key (``Config.token_key_id`` when made;
any key of ``Config.token_keys()`` when checked, so keys rotate without invalidating bills
already printed), and ``mac`` is HMAC-SHA256 under that key over::

    biller code | bill number | amount in minor units | payee id

in one of two spellings:

* **QR** (``compact=True``, what a bill's QR carries since the payload was shortened for
  phone cameras, in UPI ``tn`` / Bangla QR 62/05, or in the QR URL of Bharat QR and of
  the bills printed until December 2026): the first 10 bytes (80 bits) as 16 base32
  characters (``A-Z2-7``) and the kid in upper case, e.g. ``K1.MFRGGZDFMZTWQ2LK``: every
  character is in the QR alphanumeric set, so the token costs 5.5 bits a character in
  the symbol, not 8;
* **link** (the bill-page links in SMS and chat, and the QRs printed before): the first
  9 bytes (72 bits) as 12 unpadded base64url characters, e.g. ``k1.BNM3DJwE3S17``.

Both check, whichever the key's case in the token.  80 (72) bits cannot be guessed: a
forger gets one try per resolver query, and the token says nothing about the key.
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
QR_MAC_BYTES = 10
QR_MAC_CHARS = 16  # base32 of 10 bytes, no padding
_KID = re.compile(r"[A-Za-z0-9]{1,8}")
_TOKEN = re.compile(r"([A-Za-z0-9]{1,8})\.([A-Za-z0-9_-]{12}|[A-Z2-7]{16})")


def _mac(key: bytes, biller_code: str, bill_no: str, amount: int, payee_id: str,
         chars: int = MAC_CHARS) -> str:
    message = "|".join((biller_code, bill_no, str(int(amount)), payee_id)).encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    if chars == QR_MAC_CHARS:
        return base64.b32encode(digest[:QR_MAC_BYTES]).decode("ascii")
    return base64.urlsafe_b64encode(digest[:MAC_BYTES]).decode("ascii")


def _key(config: Config, kid: str) -> bytes | None:
    """The key named ``kid``; a QR token spells the kid in upper case."""
    keys = config.token_keys()
    if kid in keys:
        return keys[kid]
    return next((v for k, v in keys.items() if k.upper() == kid.upper()), None)


def known_kid(config: Config, kid: str) -> bool:
    return _key(config, kid) is not None


def make_token(config: Config, biller_code: str, bill_no: str, amount: int,
               payee_id: str, *, compact: bool = False) -> str:
    """The token for one bill at one amount, under the current key (``compact``: the
    80-bit, QR-alphanumeric spelling for a QR)."""
    kid = config.token_key_id
    if not _KID.fullmatch(kid):
        raise PayloadError(f"token key id {kid!r} must be 1-8 letters or digits",
                           code="bad_key_id", field="token_key_id")
    key = config.token_keys().get(kid)
    if not key:
        raise PayloadError(f"no key for token key id {kid!r}", code="missing_key",
                           field="token_key_id")
    if compact:
        return f"{kid.upper()}.{_mac(key, biller_code, bill_no, amount, payee_id, QR_MAC_CHARS)}"
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
    key = _key(config, kid)
    if not key:
        return False
    return hmac.compare_digest(_mac(key, biller_code, bill_no, amount, payee_id, len(mac)),
                               mac)
