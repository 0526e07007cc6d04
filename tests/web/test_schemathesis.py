"""Schemathesis against ``/openapi.json``: requests generated from the document (valid
and not), sent to the app in-process; no answer may be a server error, and status codes
and content types must be ones the document gives.  Bounded to a few examples per
operation so that the suite stays fast."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    status_code_conformance,
)

# The public API and the bill pages (the desk, admin, biller API and chat have their own
# tests and, behind logins or their dialects' signatures, would only test the refusals).
PATHS = ("/api/v1/scan", "/api/v1/bills/{bill_no}", "/api/v1/callbacks/{channel}",
         "/b/{bill_no}", "/b/{bill_no}/qr.svg", "/b/{bill_no}/qr.png", "/b/{bill_no}/bill.pdf",
         "/healthz", "/openapi.json")
MAX_EXAMPLES = 10


def _operations(schema: Any) -> list[Any]:
    ops = []
    for result in schema.get_all_operations():
        ops.append(result.ok())
    return ops


def test_no_generated_request_is_a_server_error(app_for: Any, best_config: Any, store: Any,
                                                api_key: str) -> None:
    from .conftest import insert_bill, make_bill

    insert_bill(store, make_bill("B2611100000001"))
    app = app_for(best_config)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(
        path=list(PATHS))
    headers = {"Authorization": f"Bearer {api_key}"}
    operations = _operations(schema)
    assert len(operations) >= len(PATHS)
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def call(case: Any) -> None:
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                                   content_type_conformance])

        call()
