"""``/readyz``, ``/metrics`` and the request log (qrpay.web.ops)."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from qrpay.store import Store

from .conftest import ROOT, callback_body, insert_bill, make_bill, signed_headers


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text, or fail."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        key, value = line.rsplit(" ", 1)
        sample, _, raw = key.partition("{")
        got = ",".join(sorted(raw.rstrip("}").split(","))) if raw else ""
        if sample == name and got == want:
            return float(value)
    raise AssertionError(f"no sample {name}{{{want}}} in:\n{text}")


def test_readyz_is_ready_with_database_schema_and_secrets(client: TestClient) -> None:
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"database": "ok", "schema": "ok", "secrets": "ok", "ready": True}


def test_readyz_names_a_missing_secret_without_its_value(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QRPAY_SECRET_UPI")
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["ready"] is False
    assert r.json()["secrets"] == {"missing": ["QRPAY_SECRET_UPI"]}
    assert "test-secret" not in r.text


def test_readyz_says_when_the_schema_is_behind(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from qrpay.store import LATEST
    from qrpay.web import ops

    monkeypatch.setattr(ops, "LATEST", LATEST + 1)  # code newer than the database
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["schema"].startswith(f"outdated: {LATEST} < {LATEST + 1}")


def test_metrics_count_payments_and_the_outbox_from_the_store(
        client: TestClient, store: Store) -> None:
    bill = insert_bill(store, make_bill("B2611100000001"))
    body = callback_body("T-OPS-1", bill.bill_no, "1234.50")
    assert client.post("/api/v1/callbacks/upi", content=body,
                       headers=signed_headers(body)).status_code == 200
    text = client.get("/metrics").text
    assert metric(text, "qrpay_payments", channel="upi", status="success") == 1
    assert metric(text, "qrpay_payments_amount_minor", channel="upi", status="success") == 123450
    assert metric(text, "qrpay_outbox_backlog", kind="sms", status="pending") == 1
    assert metric(text, "qrpay_outbox_oldest_age_seconds", kind="sms") >= 0
    assert metric(text, "qrpay_http_requests_total", method="POST",
                  route="/api/v1/callbacks/{channel}", status="200") >= 1


def test_metrics_refuse_a_remote_client_without_the_token(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QRPAY_METRICS_TOKEN", "metrics-token-0123")
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    r = client.get("/metrics", headers={"Authorization": "Bearer metrics-token-0123"})
    assert r.status_code == 200 and "qrpay_payments" in r.text


def test_every_answer_carries_a_request_id_and_keeps_a_sane_incoming_one(
        client: TestClient) -> None:
    fresh = client.get("/healthz").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", fresh)
    kept = client.get("/healthz", headers={"X-Request-Id": "lb-4711-abcdef"})
    assert kept.headers["x-request-id"] == "lb-4711-abcdef"
    odd = client.get("/healthz", headers={"X-Request-Id": "bad id; drop\r"[:12]})
    assert re.fullmatch(r"[0-9a-f]{16}", odd.headers["x-request-id"])  # replaced, not echoed


def test_the_request_log_names_the_route_not_the_bill_or_its_token(
        client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="qrpay.access"):
        client.get("/b/B2611100000001?t=secret-token-abc", headers={"X-Request-Id": "rid-12345678"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "qrpay.access"]
    assert lines and lines[-1]["route"] == "/b/{bill_no}"
    assert lines[-1]["request_id"] == "rid-12345678"
    assert "B2611100000001" not in caplog.text and "secret-token" not in caplog.text


@pytest.mark.slow
def test_two_workers_report_one_set_of_request_figures(serve: Any, tmp_path: Path) -> None:
    from qrpay.store import open_store

    url = f"sqlite:///{tmp_path / 'ops.db'}"
    open_store(url, upgrade=True).dispose()
    server = serve(ROOT / "samples" / "best.toml", url, workers=2,
                   extra_env={"PROMETHEUS_MULTIPROC_DIR": ""}, args=["--no-sender"])
    with httpx.Client(base_url=server.url) as http:
        for _ in range(40):
            http.get("/healthz", headers={"Connection": "close"})
        seen = [metric(http.get("/metrics", headers={"Connection": "close"}).text,
                       "qrpay_http_requests_total", method="GET", route="/healthz",
                       status="200") for _ in range(6)]
    # Whichever worker answers the scrape, it reports every worker's requests (>= 40).
    assert min(seen) >= 40
