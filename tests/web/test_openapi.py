from __future__ import annotations

from openapi_spec_validator import validate
from starlette.routing import Mount, Route
from starlette.testclient import TestClient


def test_openapi_document_is_valid_openapi_3(client: TestClient) -> None:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    validate(doc)
    assert doc["openapi"].startswith("3.")


def test_openapi_describes_every_route_the_app_serves(client: TestClient) -> None:
    described = set(client.get("/openapi.json").json()["paths"])
    served = {route.path for route in client.app.routes  # type: ignore[attr-defined]
              if isinstance(route, Route) and not route.path.startswith("/desk")}
    assert served - described == set()
    assert not any(isinstance(r, Mount) and r.path.startswith("/api")
                   for r in client.app.routes)  # type: ignore[attr-defined]
