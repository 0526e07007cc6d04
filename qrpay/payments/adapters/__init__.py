"""Callback adapters: one per callback format, behind one small interface.

An adapter knows a channel's wire format and nothing of the store:

* ``verify(headers, body, secrets, now)`` checks the signature on the raw bytes (constant
  time) against each secret in turn (current, then previous during a rotation) and
  raises :class:`~qrpay.errors.AuthError` with a stable code;
* ``parse(channel, headers, body)`` turns the verified bytes into a
  :class:`ParsedCallback`: a :class:`~qrpay.payments.posting.PaymentIn`, or ``None`` with
  a reason for events that are acknowledged and not posted (``result`` ``ignored``, or
  ``partial_refund`` for a Razorpay partial refund).  A body that is valid JSON but not
  the expected shape raises :class:`~qrpay.errors.ValidationError` (400), never
  AttributeError/TypeError.

``headers`` always arrive with lower-cased names.  The registry maps the profile's
``[channels.<name>] adapter = "..."`` to the adapter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from qrpay.errors import ConfigError
from qrpay.payments.posting import PaymentIn


@dataclass(frozen=True)
class ParsedCallback:
    payment: PaymentIn | None
    event_id: str | None = None
    txn_id: str | None = None
    ignored: str | None = None  # why an event is acknowledged without posting
    result: str = "ignored"  # the answer's and callback row's result when not posting


class Adapter(Protocol):
    name: str

    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str],
               now: float) -> None: ...

    def parse(self, channel: str, headers: Mapping[str, str], body: bytes
              ) -> ParsedCallback: ...


def get_adapter(name: str) -> Adapter:
    from qrpay.payments.adapters import generic, phonepe, razorpay

    adapters: dict[str, Adapter] = {"generic": generic.GenericAdapter(),
                                    "razorpay": razorpay.RazorpayAdapter(),
                                    "phonepe": phonepe.PhonePeAdapter()}
    try:
        return adapters[name]
    except KeyError:
        raise ConfigError(f"unknown callback adapter {name!r}; known: {', '.join(adapters)}",
                          code="unknown_adapter", field="adapter") from None
