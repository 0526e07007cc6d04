"""Payment callbacks, framework-free: ``handle_callback(store, config, channel, headers,
raw_body, remote) -> CallbackResult(status, body)``.  The web layer only passes the raw
request through and writes the answer.

Order of work, each step committed before the next:

1. the callback is stored exactly as received (raw bytes, headers as JSON) in
   ``callbacks``, in its own transaction, whatever comes next;
2. the adapter of the channel verifies the signature on the raw bytes and parses them;
3. ``post_payment`` runs in one write transaction, which also writes the callback row's
   outcome; only after it commits is ``200 {"result", "receipt_no", ...}`` returned;
4. a rejected callback gets ``4xx {"error": {"code", "message", "field"}}`` and the code
   is written to its row.

Status codes: 401 bad or missing signature, stale timestamp; 400 malformed JSON or
fields, whatever the shape of a signed body; 422 a well-formed payment that cannot be
accepted (``unknown_bill``, ``channel_not_allowed``, ``currency_mismatch``,
``non_positive_amount``, ``bad_status``...); 409 the transaction
id was seen with another bill or amount; 404 ``unknown_channel``; 500 a profile or
secret missing.  Any other exception propagates after the row is marked
``internal_error`` (the web layer answers 500 and the channel retries).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from qrpay.config import Config
from qrpay.errors import AuthError, ConfigError, Conflict, NotFound, PaymentError, QrpayError
from qrpay.payments.adapters import ParsedCallback, get_adapter
from qrpay.payments.adapters._util import lower_headers
from qrpay.payments.posting import PostingResult, post_payment
from qrpay.store import Store, utcnow
from qrpay.store.schema import callbacks

# Headers worth keeping: never store Authorization or cookies.
DROP_HEADERS = {"authorization", "cookie", "proxy-authorization"}
MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class CallbackResult:
    status: int
    body: dict[str, Any]
    callback_id: int | None = None


def _status_for(exc: QrpayError) -> int:
    if isinstance(exc, AuthError):
        return 401
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, PaymentError):
        return 422
    if isinstance(exc, ConfigError):
        return 500
    return 400


def _error(exc: QrpayError, callback_id: int | None) -> CallbackResult:
    return CallbackResult(_status_for(exc), {"error": exc.as_dict()}, callback_id)


def _store_raw(store: Store, channel: str, headers: Mapping[str, str], body: bytes,
               remote: str | None, now: dt.datetime) -> int:
    kept = {k: v for k, v in headers.items() if k not in DROP_HEADERS}
    with store.begin() as conn:
        res = conn.execute(callbacks.insert().values(
            channel=channel[:40], received_at=now, headers=json.dumps(kept, sort_keys=True),
            body=body, remote=(remote or None) and remote[:64]))
        key = res.inserted_primary_key
        assert key is not None
        return int(key[0])


def _mark(conn: Connection, callback_id: int, **values: Any) -> None:
    conn.execute(callbacks.update().where(callbacks.c.id == callback_id).values(**values))


def _mark_error(store: Store, callback_id: int, code: str, *, signature_ok: bool | None,
                parsed: ParsedCallback | None) -> None:
    with store.begin() as conn:
        _mark(conn, callback_id, result=code[:40], signature_ok=signature_ok,
              event_id=parsed.event_id[:100] if parsed and parsed.event_id else None,
              txn_id=parsed.txn_id[:100] if parsed and parsed.txn_id else None)


def _answer(res: PostingResult, callback_id: int) -> CallbackResult:
    return CallbackResult(200, res.as_dict(), callback_id)


def _post(store: Store, config: Config, parsed: ParsedCallback, callback_id: int,
          now: dt.datetime) -> CallbackResult:
    assert parsed.payment is not None
    with store.begin() as conn:
        res = post_payment(conn, config, parsed.payment, now=now)
        _mark(conn, callback_id, result=res.result, signature_ok=True,
              event_id=parsed.event_id[:100] if parsed.event_id else None,
              txn_id=parsed.txn_id[:100] if parsed.txn_id else None,
              payment_id=res.payment_id)
    return _answer(res, callback_id)


def handle_callback(store: Store, config: Config, channel: str, headers: Mapping[str, str],
                    raw_body: bytes, remote: str | None, now: dt.datetime | None = None
                    ) -> CallbackResult:
    """Store, verify, parse and post one callback; see the module docstring."""
    now = now or utcnow()
    hdrs = lower_headers(headers)
    callback_id = _store_raw(store, channel, hdrs, raw_body, remote, now)
    ch = config.channels.get(channel)
    if ch is None:
        exc: QrpayError = NotFound(f"no payment channel {channel!r}", code="unknown_channel",
                                   field="channel")
        _mark_error(store, callback_id, exc.code, signature_ok=None, parsed=None)
        return _error(exc, callback_id)
    parsed: ParsedCallback | None = None
    signature_ok: bool | None = None
    try:
        if len(raw_body) > MAX_BODY:
            raise PaymentError("callback body too large", code="body_too_large")
        adapter = get_adapter(ch.adapter)
        adapter.verify(hdrs, raw_body, ch.secrets(), now.timestamp())
        signature_ok = True
        parsed = adapter.parse(channel, hdrs, raw_body)
        if parsed.payment is None:
            with store.begin() as conn:
                _mark(conn, callback_id, result=parsed.result, signature_ok=True,
                      event_id=parsed.event_id[:100] if parsed.event_id else None,
                      txn_id=parsed.txn_id[:100] if parsed.txn_id else None)
            return CallbackResult(200, {"result": parsed.result, "receipt_no": None,
                                        "reason": parsed.ignored}, callback_id)
        return _post(store, config, parsed, callback_id, now)
    except AuthError as exc:
        _mark_error(store, callback_id, exc.code, signature_ok=False, parsed=parsed)
        return _error(exc, callback_id)
    except QrpayError as exc:
        _mark_error(store, callback_id, exc.code, signature_ok=signature_ok, parsed=parsed)
        return _error(exc, callback_id)
    except Exception:
        # The posting transaction rolled back: record that, let the caller answer 500
        # so that the channel retries.
        with contextlib.suppress(Exception):
            _mark_error(store, callback_id, "internal_error", signature_ok=signature_ok,
                        parsed=parsed)
        raise
