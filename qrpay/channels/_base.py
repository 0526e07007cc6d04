"""What a channel module provides: a :class:`Channel` record of optional capabilities.

Each capability is a small protocol; a channel has the ones its wire formats need and
``None`` for the rest (a PSP that calls back has ``callback``; a wallet that calls the
biller API has ``biller_api``; one that sends settlement files has ``settlement``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from qrpay.payments.events import ParsedCallback


class CallbackFormat(Protocol):
    """A channel's signed server-to-server callback (``POST /api/v1/callbacks/<channel>``).

    ``headers`` always arrive with lower-cased names; ``body`` is the raw bytes."""

    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str],
               now: float) -> None:
        """Check the signature on the raw bytes, in constant time, against each secret
        (current, then previous during a rotation); raise ``AuthError`` with a code."""
        ...

    def parse(self, channel: str, headers: Mapping[str, str], body: bytes
              ) -> ParsedCallback:
        """The verified bytes as a payment (or an acknowledged non-payment).  A body of
        the wrong shape raises ``ValidationError`` (never AttributeError/TypeError)."""
        ...

    def sign(self, secret: str, body: bytes, now: float) -> dict[str, str]:
        """The headers a sender puts on ``body`` (``qrpay callback sign|send``, tests)."""
        ...


class BillerDialect(Protocol):
    """A channel's dialect of the biller API (bill inquiry, payment, status): a module of
    :mod:`qrpay.biller.dialects` (see :mod:`qrpay.biller.service`).

    ``NAME``; ``OPS``: operation name -> ``qrpay.biller.service.Op`` (what the routes of
    ``qrpay.web.biller_api`` call); ``credentials(request) -> (user, password)`` from
    where the channel sends them; ``refusal(exc) -> Answer``: our error codes in the
    channel's vocabulary."""

    @property
    def NAME(self) -> str: ...  # noqa: N802 - a module constant

    @property
    def OPS(self) -> Mapping[str, Any]: ...  # noqa: N802 - a module constant

    def credentials(self, req: Any) -> tuple[str | None, str | None]: ...

    def refusal(self, exc: Any) -> Any: ...


class SettlementFormat(Protocol):
    """A channel's settlement or collection-report file format: a
    :class:`qrpay.recon.formats.ColumnMap` (which column holds each field, the amount
    unit, how a row's type reads), found by ``qrpay.recon.formats.built_in(name)``."""

    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class Channel:
    """One channel module's capabilities.  ``name`` is the module's name and what a
    profile's ``[channels.<x>] adapter = "<name>"`` refers to."""

    name: str
    title: str
    callback: CallbackFormat | None = None
    biller_api: BillerDialect | None = None
    settlement: SettlementFormat | None = None
