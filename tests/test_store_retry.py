"""``qrpay.store.retry.until_written``: a write retried while the database is away (a
restart), and only then."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from qrpay.store.retry import disconnected, until_written


def _failing(errors: list[Exception]):  # type: ignore[no-untyped-def]
    calls: list[int] = []

    def write() -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return "written"
    return write, calls


def lost() -> OperationalError:
    return OperationalError("COMMIT", {}, Exception("server closed the connection"))


def test_a_lost_connection_is_retried_until_the_write_goes_through() -> None:
    write, calls = _failing([lost(), lost()])
    pauses: list[float] = []
    assert until_written(write, sleep=pauses.append) == "written"
    assert len(calls) == 3 and pauses == [0.2, 0.4]


def test_other_errors_are_not_retried() -> None:
    write, calls = _failing([IntegrityError("INSERT", {}, Exception("duplicate key"))])
    with pytest.raises(IntegrityError):
        until_written(write, sleep=lambda _s: None)
    assert len(calls) == 1


def test_it_gives_up_after_its_time() -> None:
    write, calls = _failing([lost()] * 50)
    with pytest.raises(OperationalError):
        until_written(write, seconds=0.0, sleep=lambda _s: None)
    assert len(calls) == 1
    assert disconnected(lost()) and not disconnected(ValueError())
