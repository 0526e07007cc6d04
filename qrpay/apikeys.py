"""API keys for the scan resolver: ``qrpay apikey create|list|revoke``.

A key looks like ``qrp_<8 hex>_<32 url-safe chars>``.  It is shown once, when made; the
store keeps only its public prefix (``qrp_<8 hex>``, to find the row and to name the key
in lists) and the SHA-256 of the whole key.  A key has 190 random bits, so a fast hash is
enough: there is nothing to brute-force that a slow hash would protect.

:class:`KeyCache` remembers keys verified in the last few seconds so that the resolver
does not pay a database query per request; a revocation therefore takes effect within
``ttl`` seconds (5 by default) in every server process.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from sqlalchemy import Connection, select

from qrpay.clock import utcnow
from qrpay.errors import AuthError, NotFound, ValidationError
from qrpay.store import Store
from qrpay.store.schema import api_keys

PREFIX = "qrp"
#: What a key may be used for; a key made without ``--scope`` (and every key made before
#: scopes existed) may do all of them.
SCOPES = ("scan", "biller_api", "reports")


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None
    scopes: tuple[str, ...] = SCOPES

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def require(self, scope: str) -> None:
        """Refuse (403 ``forbidden``) a use outside the key's scopes."""
        if scope not in self.scopes:
            raise AuthError(f"this API key is not for {scope} (its scopes: "
                            f"{', '.join(self.scopes)})", code="forbidden", scope=scope)


def parse_scopes(values: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """``["scan", "reports"]`` or ``["scan,reports"]`` -> the scopes, in :data:`SCOPES`
    order; none given -> every scope.  Unknown names: ValidationError ``unknown_scope``."""
    names = {n.strip() for v in values or () for n in v.split(",") if n.strip()}
    unknown = sorted(names - set(SCOPES))
    if unknown:
        raise ValidationError(f"unknown scope {', '.join(unknown)}; known: "
                              f"{', '.join(SCOPES)}", code="unknown_scope", field="scope")
    return tuple(s for s in SCOPES if s in names) if names else SCOPES


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _row(row: object) -> ApiKey:
    m = row._mapping  # type: ignore[attr-defined]
    stored = m["scopes"]
    return ApiKey(id=m["id"], name=m["name"], prefix=m["prefix"], created_at=m["created_at"],
                  revoked_at=m["revoked_at"],
                  scopes=tuple(stored.split(",")) if stored else SCOPES)


def split_key(key: str) -> str:
    """The public prefix of ``key``; raises :class:`AuthError` if it is not shaped like one."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or len(parts[1]) != 8 or len(parts[2]) < 20:
        raise AuthError("malformed API key", code="bad_api_key")
    return f"{parts[0]}_{parts[1]}"


def create_key(store: Store, name: str, scopes: tuple[str, ...] = SCOPES
               ) -> tuple[ApiKey, str]:
    """Make a key called ``name`` for ``scopes``; return the stored record and the key
    (shown once)."""
    scopes = parse_scopes(scopes)
    name = name.strip()
    if not name:
        raise ValidationError("an API key needs a name", code="missing_name", field="name")
    now = utcnow()
    with store.begin() as conn:
        while True:
            prefix = f"{PREFIX}_{secrets.token_hex(4)}"
            if conn.execute(select(api_keys.c.id).where(api_keys.c.prefix == prefix)).first():
                continue
            key = f"{prefix}_{secrets.token_urlsafe(24)}"
            pk = conn.execute(api_keys.insert().values(
                name=name, prefix=prefix, key_hash=_hash(key), created_at=now,
                scopes=",".join(scopes),
            )).inserted_primary_key
            assert pk is not None
            return ApiKey(id=int(pk[0]), name=name, prefix=prefix, created_at=now,
                          scopes=scopes), key


def rotate_key(store: Store, ident: str) -> tuple[ApiKey, ApiKey, str]:
    """A new key with the name and scopes of the active key ``ident`` (prefix or unique
    name): (old, new, new key text).  Both stay valid until ``revoke_key(old.prefix)``,
    so clients move to the new key without a moment without one."""
    old = _find(store, ident)
    if not old.active:
        raise ValidationError(f"API key {old.prefix} is revoked: create a new one",
                              code="revoked_api_key", field="key")
    new, key = create_key(store, old.name, old.scopes)
    return old, new, key


def _find(store: Store, ident: str) -> ApiKey:
    with store.connect() as conn:
        return _find_on(conn, ident)


def _find_on(conn: Connection, ident: str) -> ApiKey:
    """The key whose prefix (or, if unique among active keys, name) is ``ident``."""
    rows = conn.execute(select(api_keys).where(api_keys.c.prefix == ident)).fetchall()
    if not rows:
        rows = conn.execute(select(api_keys).where(api_keys.c.name == ident,
                                                   api_keys.c.revoked_at.is_(None))
                            ).fetchall()
    if not rows:
        raise NotFound(f"no API key {ident!r}", code="unknown_api_key", field="key")
    if len(rows) > 1:
        raise ValidationError(f"{len(rows)} active keys are named {ident!r}: give the "
                              "prefix instead", code="ambiguous_api_key", field="key")
    return _row(rows[0])


def list_keys(store: Store) -> list[ApiKey]:
    with store.connect() as conn:
        rows = conn.execute(select(api_keys).order_by(api_keys.c.id)).fetchall()
    return [_row(r) for r in rows]


def revoke_key(store: Store, ident: str) -> ApiKey:
    """Revoke the key whose prefix (or, if unique, name) is ``ident``."""
    now = utcnow()
    with store.begin() as conn:
        key = _find_on(conn, ident)
        if key.revoked_at is None:
            conn.execute(api_keys.update().where(api_keys.c.id == key.id)
                         .values(revoked_at=now))
            key = ApiKey(key.id, key.name, key.prefix, key.created_at, now, key.scopes)
        return key


def verify_key(conn: Connection, key: str) -> ApiKey:
    """The active key record for ``key``; :class:`AuthError` ``bad_api_key`` otherwise."""
    prefix = split_key(key)
    row = conn.execute(select(api_keys).where(api_keys.c.prefix == prefix)).first()
    if row is None or not hmac.compare_digest(row._mapping["key_hash"], _hash(key)):
        raise AuthError("unknown API key", code="bad_api_key")
    record = _row(row)
    if not record.active:
        raise AuthError("this API key has been revoked", code="revoked_api_key")
    return record


class KeyCache:
    """Verified keys for ``ttl`` seconds, by SHA-256 of the key (the key itself is not kept)."""

    def __init__(self, ttl: float = 5.0, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._seen: dict[str, tuple[float, ApiKey]] = {}
        self._lock = threading.Lock()

    def verify(self, store: Store, key: str) -> ApiKey:
        digest = _hash(key)
        now = time.monotonic()
        hit = self._seen.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        with store.connect() as conn:
            record = verify_key(conn, key)
        with self._lock:
            if len(self._seen) >= self.max_entries:
                self._seen.clear()
            self._seen[digest] = (now + self.ttl, record)
        return record
