"""The database out of reach is answered 503 ``database_unavailable`` with Retry-After
(not a 500 crash): the request was not acknowledged and the client should send it again."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from starlette.testclient import TestClient

from qrpay.web.errors import EXCEPTION_HANDLERS


def app_raising(exc: Exception) -> Starlette:
    async def boom(request: Request) -> None:
        raise exc
    return Starlette(routes=[Route("/api/v1/x", boom), Route("/b/x", boom)],
                     exception_handlers=EXCEPTION_HANDLERS)


def lost() -> OperationalError:
    return OperationalError("SELECT 1", {}, Exception("connection refused"))


def test_a_lost_database_is_503_with_retry_after() -> None:
    client = TestClient(app_raising(lost()), raise_server_exceptions=False)
    r = client.get("/api/v1/x")
    assert r.status_code == 503 and r.headers["Retry-After"] == "5"
    assert r.json()["error"]["code"] == "database_unavailable"
    page = client.get("/b/x")
    assert page.status_code == 503 and "database_unavailable" in page.text


def test_the_drivers_own_lost_connection_is_503_too() -> None:
    import psycopg

    client = TestClient(app_raising(psycopg.OperationalError("server closed the connection")),
                        raise_server_exceptions=False)
    assert client.get("/api/v1/x").status_code == 503


@pytest.mark.parametrize("exc", [IntegrityError("INSERT", {}, Exception("duplicate")),
                                 RuntimeError("bug")])
def test_other_database_errors_stay_500(exc: Exception) -> None:
    r = TestClient(app_raising(exc), raise_server_exceptions=False).get("/api/v1/x")
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal"
