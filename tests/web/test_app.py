from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from qrpay.config import Config
from qrpay.store import open_store
from qrpay.web.app import create_app


def test_healthz_answers_ok_when_the_database_answers(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_when_the_database_is_unreachable(best_config: Config) -> None:
    dead = open_store("postgresql+psycopg://postgres@127.0.0.1:1/none", upgrade=False)
    with TestClient(create_app(best_config, dead, start_sender=False)) as c:
        r = c.get("/healthz")
    assert r.status_code == 503
    assert r.json()["status"] == "unavailable"


def test_every_response_carries_the_security_headers(client: TestClient) -> None:
    for path in ("/b/B2611100000001", "/healthz", "/api/v1/bills/x", "/nowhere",
                 "/static/web/bill.css"):
        r = client.get(path)
        assert r.headers["referrer-policy"] == "no-referrer", path
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert "default-src 'none'" in r.headers["content-security-policy"], path


def test_api_errors_are_json_with_a_stable_code(client: TestClient) -> None:
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


def test_page_errors_are_html_in_the_biller_language(client: TestClient) -> None:
    r = client.get("/nothing-here")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert '<html lang="hi">' in r.text
    assert "not_found" in r.text


def test_wrong_method_on_an_api_route_is_a_json_405(client: TestClient) -> None:
    r = client.get("/api/v1/scan")
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"


def test_unexpected_exception_is_a_500_without_its_text(app_for: Any,
                                                        best_config: Config) -> None:
    from starlette.routing import Route

    async def boom(request: Any) -> Any:
        raise RuntimeError("secret internals")

    app = app_for(best_config)
    app.router.routes.insert(0, Route("/api/v1/boom", boom))
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/api/v1/boom")
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "internal"
    assert "secret internals" not in r.text


def test_counter_desk_routes_are_mounted_when_present(client: TestClient) -> None:
    import importlib.util

    paths = [getattr(r, "path", "") for r in client.app.routes]  # type: ignore[attr-defined]
    has_desk = importlib.util.find_spec("qrpay.web.desk") is not None
    assert any(p.startswith("/desk") for p in paths) == has_desk
