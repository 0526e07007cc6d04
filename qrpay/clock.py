"""The one clock: the current instant as an aware UTC datetime, and any timestamp made aware.

Every "now" in qrpay comes from :func:`utcnow`; a biller's local time and calendar day come
from ``Biller.local(ts)`` / ``Biller.today()`` (``qrpay.config``), which use :func:`local`.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import overload
from zoneinfo import ZoneInfo


def utcnow() -> dt.datetime:
    """The current instant, aware, in UTC."""
    return dt.datetime.now(dt.UTC)


@overload
def aware(value: dt.datetime) -> dt.datetime: ...
@overload
def aware(value: None) -> None: ...


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """``value`` as an aware UTC datetime (a naive value is taken to be UTC already, as
    every stored time is UTC); ``None`` stays ``None`` (an empty column).

    >>> aware(dt.datetime(2026, 12, 1, 10, 15))
    datetime.datetime(2026, 12, 1, 10, 15, tzinfo=datetime.timezone.utc)
    >>> aware(dt.datetime.fromisoformat("2026-12-01T10:15+05:30")).isoformat()
    '2026-12-01T04:45:00+00:00'
    """
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The time zone ``name`` (``Asia/Kolkata``), kept: ZoneInfo looks it up each time."""
    return ZoneInfo(name)


def local(value: dt.datetime, zone_name: str) -> dt.datetime:
    """The instant ``value`` (naive: UTC) on the wall clock of ``zone_name``.

    >>> local(dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC), "Asia/Dhaka").isoformat()
    '2026-12-02T02:00:00+06:00'
    """
    return aware(value).astimezone(zone(zone_name))
