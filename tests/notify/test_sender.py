from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from pathlib import Path

from sqlalchemy import select

from qrpay.config import Config
from qrpay.notify.messages import payment_context, render_sms
from qrpay.notify.outbox import enqueue
from qrpay.notify.providers import ConsoleProvider, Msg91Provider, csms_id, make_provider
from qrpay.notify.sender import (
    backoff,
    batch_size,
    claim_due,
    deliver_claims,
    deliver_due,
    run_worker,
)
from qrpay.store import Store
from qrpay.store.schema import outbox

from .conftest import FakeProvider

NOW = dt.datetime(2024, 6, 10, 6, 0, tzinfo=dt.UTC)


def later(seconds: float) -> dt.datetime:
    return NOW + dt.timedelta(seconds=seconds)


def add_sms(store: Store, config: Config, n: int = 1, *, biller: str = "best",
            lang: str = "en") -> None:
    b = config.biller(biller)
    with store.begin() as conn:
        for i in range(n):
            sms = render_sms(b, "payment_received", lang, payment_context(
                b, lang, amount=123450, bill_no=f"B24051000000{i:02d}",
                receipt_no=f"BEST-{i + 1:09d}"))
            enqueue(conn, dedupe_key=f"payment:{i + 1}:received", biller=b.code,
                    recipient="919812345678" if b.country == "IN" else "8801712345678",
                    language=lang, template="payment_received", template_id=sms.template_id,
                    body=sms.body, encoding=sms.encoding, segments=sms.segments, now=NOW)


def rows(store: Store):
    with store.connect() as conn:
        return conn.execute(select(outbox).order_by(outbox.c.id)).all()


def msg91(config: Config, fake: FakeProvider) -> Config:
    return dataclasses.replace(config, sms_provider="msg91",
                               sms_options={"base_url": fake.url})


def no_jitter() -> float:
    return 0.0


def test_msg91_flow_request_shape(store: Store, best_config: Config,
                                  fake_provider: FakeProvider, monkeypatch) -> None:
    monkeypatch.setenv("QRPAY_MSG91_AUTHKEY", "test-authkey")
    add_sms(store, best_config)
    report = deliver_due(store, msg91(best_config, fake_provider), now=NOW)
    assert (report.claimed, report.sent) == (1, 1)
    req = fake_provider.requests[0]
    assert req["path"] == "/api/v5/flow/"
    assert req["headers"]["authkey"] == "test-authkey"
    assert req["json"]["template_id"] == "1107000000000000001"
    assert req["json"]["recipients"] == [{"mobiles": "919812345678", "var1": "Rs. 1,234.50",
                                          "var2": "B2405100000000", "var3": "BEST-000000001",
                                          "var4": "BEST Undertaking"}]
    row = rows(store)[0]
    assert (row.status, row.provider_ref, row.attempts) == ("sent", "3661726b4d6f313233343536",
                                                            1)


def test_transient_failures_retry_with_backoff_until_sent(
        store: Store, best_config: Config, fake_provider: FakeProvider, monkeypatch) -> None:
    monkeypatch.setenv("QRPAY_MSG91_AUTHKEY", "k")
    config = msg91(best_config, fake_provider)
    add_sms(store, best_config)
    fake_provider.script = [(500, {"type": "error"}), (503, b"busy")]
    first = deliver_due(store, config, now=NOW, rng=no_jitter)
    assert first.retrying == 1
    assert deliver_due(store, config, now=later(14), rng=no_jitter).claimed == 0
    assert deliver_due(store, config, now=later(15), rng=no_jitter).retrying == 1
    assert deliver_due(store, config, now=later(44), rng=no_jitter).claimed == 0
    assert deliver_due(store, config, now=later(45), rng=no_jitter).sent == 1
    row = rows(store)[0]
    assert (row.status, row.attempts, len(fake_provider.requests)) == ("sent", 3, 3)


def test_permanent_error_fails_without_retry(store: Store, best_config: Config,
                                             fake_provider: FakeProvider, monkeypatch) -> None:
    monkeypatch.setenv("QRPAY_MSG91_AUTHKEY", "k")
    add_sms(store, best_config)
    fake_provider.script = [(200, {"type": "error", "message": "Template ID Missing"})]
    assert deliver_due(store, msg91(best_config, fake_provider), now=NOW).failed == 1
    row = rows(store)[0]
    assert row.status == "failed"
    assert "Template" in row.last_error


def test_gives_up_after_max_attempts(store: Store, best_config: Config,
                                     fake_provider: FakeProvider, monkeypatch) -> None:
    monkeypatch.setenv("QRPAY_MSG91_AUTHKEY", "k")
    config = msg91(best_config, fake_provider)
    add_sms(store, best_config)
    fake_provider.script = [(500, {})] * 3
    outcomes = [deliver_due(store, config, now=later(10_000 * i), max_attempts=3)
                for i in range(4)]
    assert [o.retrying for o in outcomes] == [1, 1, 0, 0]
    assert outcomes[2].failed == 1 and outcomes[3].claimed == 0
    assert rows(store)[0].status == "failed"


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(a, rng=no_jitter) for a in (1, 2, 3)] == [15.0, 30.0, 60.0]
    assert backoff(3, rng=lambda: 1.0) == 120.0
    assert backoff(30, rng=lambda: 1.0) == 3600.0


def test_sslwireless_request_shape_and_stable_csms_id(
        store: Store, breb_config: Config, fake_provider: FakeProvider, monkeypatch) -> None:
    monkeypatch.setenv("QRPAY_SSLWIRELESS_API_TOKEN", "tok")
    config = dataclasses.replace(breb_config, sms_provider="sslwireless",
                                 sms_options={"base_url": fake_provider.url, "sid": "PBSAPI"})
    add_sms(store, breb_config, biller="dhaka-pbs-1", lang="bn")
    fake_provider.script = [(200, {"status": "FAILED", "status_code": 5000,
                                   "error_message": "gateway busy"})]
    deliver_due(store, config, now=NOW, rng=no_jitter)
    deliver_due(store, config, now=later(3600), rng=no_jitter)
    first, second = (r["json"] for r in fake_provider.requests)
    assert first == second
    assert set(first) == {"api_token", "sid", "msisdn", "sms", "csms_id"}
    assert (first["msisdn"], first["sid"]) == ("8801712345678", "PBSAPI")
    assert first["csms_id"] == csms_id("payment:1:received")
    assert "৳ ১,২৩৪.৫০" in first["sms"]
    assert rows(store)[0].provider_ref == "ssl-ref-1"


def test_sslwireless_duplicate_csms_id_counts_as_sent(
        store: Store, breb_config: Config, fake_provider: FakeProvider, monkeypatch) -> None:
    monkeypatch.setenv("QRPAY_SSLWIRELESS_API_TOKEN", "tok")
    config = dataclasses.replace(breb_config, sms_provider="sslwireless",
                                 sms_options={"base_url": fake_provider.url})
    add_sms(store, breb_config, biller="dhaka-pbs-1", lang="bn")
    fake_provider.script = [(200, {"status": "FAILED", "status_code": 4025,
                                   "error_message": "Duplicate csms id"})]
    assert deliver_due(store, config, now=NOW).sent == 1


def test_leased_rows_of_a_crashed_sender_are_sent_once_after_the_lease(
        store: Store, best_config: Config, fake_provider: FakeProvider, monkeypatch) -> None:
    monkeypatch.setenv("QRPAY_MSG91_AUTHKEY", "k")
    config = msg91(best_config, fake_provider)
    add_sms(store, best_config, 3)
    crashed = claim_due(store, config, now=NOW, limit=10, lease_seconds=60)
    assert len(crashed) == 3  # ... and the sender dies before sending
    assert deliver_due(store, config, now=later(59)).claimed == 0
    assert deliver_due(store, config, now=later(61)).sent == 3
    assert deliver_due(store, config, now=later(600)).claimed == 0
    assert len(fake_provider.requests) == 3
    assert [r.attempts for r in rows(store)] == [2, 2, 2]


def test_concurrent_senders_send_each_sms_once(store: Store, best_config: Config,
                                               fake_provider: FakeProvider,
                                               monkeypatch) -> None:
    monkeypatch.setenv("QRPAY_MSG91_AUTHKEY", "k")
    config = msg91(best_config, fake_provider)
    add_sms(store, best_config, 12)
    barrier = threading.Barrier(4)

    def sender() -> None:
        barrier.wait()
        deliver_due(store, config, now=NOW, limit=4)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = [r["json"]["recipients"][0]["var3"] for r in fake_provider.requests]
    assert sorted(keys) == sorted(set(keys)) and len(keys) == 12
    assert {r.status for r in rows(store)} == {"sent"}


def test_file_provider_and_worker_loop(store: Store, best_config: Config,
                                       tmp_path: Path) -> None:
    path = tmp_path / "sms.log"
    config = dataclasses.replace(best_config, sms_provider="file",
                                 sms_options={"file": str(path)})
    assert isinstance(make_provider(config), ConsoleProvider)
    add_sms(store, best_config, 2, lang="hi")
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(store, config, stop, 0.02))
    thread.start()
    for _ in range(200):
        if {r.status for r in rows(store)} == {"sent"}:
            break
        stop.wait(0.02)
    stop.set()
    thread.join()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert "to=919812345678" in lines[0] and "रसीद BEST-000000001" in lines[0]


def test_two_senders_with_a_slow_provider_send_each_sms_once(
        store: Store, best_config: Config, fake_provider: FakeProvider, monkeypatch) -> None:
    """A pass sends its rows one by one; a row whose batch lease ran out meanwhile is
    claimed by the other sender, and must then not be sent by the first as well."""
    monkeypatch.setenv("QRPAY_MSG91_AUTHKEY", "k")
    config = dataclasses.replace(best_config, sms_provider="msg91", sms_options={
        "base_url": fake_provider.url, "timeout": "1.0"})
    n = 10
    add_sms(store, best_config, n)
    fake_provider.delay = 0.3
    reports: list = []

    def sender(start: float) -> None:
        time.sleep(start)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and {r.status for r in rows(store)} != {"sent"}:
            reports.append(deliver_due(store, config, lease_seconds=2.0))
            time.sleep(0.05)

    threads = [threading.Thread(target=sender, args=(s,)) for s in (0.0, 0.4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = [r["json"]["recipients"][0]["var3"] for r in fake_provider.requests]
    assert sorted(keys) == [f"BEST-{i:09d}" for i in range(1, n + 1)]
    assert sum(r.sent for r in reports) == n
    assert {r.status for r in rows(store)} == {"sent"}


def test_claims_taken_over_after_their_lease_are_skipped_not_sent_again(
        store: Store, best_config: Config, fake_provider: FakeProvider, monkeypatch) -> None:
    monkeypatch.setenv("QRPAY_MSG91_AUTHKEY", "k")
    config = msg91(best_config, fake_provider)
    add_sms(store, best_config, 3)
    stale = claim_due(store, config, now=NOW, limit=10, lease_seconds=60)
    assert deliver_due(store, config, now=later(61)).sent == 3  # the lease ran out
    late = deliver_claims(store, make_provider(config), stale, later(62), lease_seconds=60)
    assert (late.claimed, late.sent, late.skipped) == (3, 0, 3)
    assert len(fake_provider.requests) == 3
    assert [(r.status, r.attempts) for r in rows(store)] == [("sent", 2)] * 3


def test_batch_is_kept_within_lease_over_provider_timeout(best_config: Config) -> None:
    http = Msg91Provider("http://127.0.0.1:9", "k", timeout=10.0)
    assert batch_size(50, 60.0, http) == 6
    assert batch_size(4, 60.0, http) == 4
    assert batch_size(50, 5.0, http) == 1
    assert batch_size(50, 60.0, ConsoleProvider()) == 50


# ------------------------------------------------------------ a provider slower than our timeout

def _slow(fake: FakeProvider, seconds: float) -> None:
    fake.delay = seconds


def test_msg91_answering_after_the_timeout_is_unknown_and_not_resent(
        store: Store, best_config: Config, fake_provider: FakeProvider, monkeypatch) -> None:
    """No client reference at MSG91: a resend would deliver again (each SMS 3 times)."""
    monkeypatch.setenv("QRPAY_MSG91_AUTHKEY", "k")
    config = dataclasses.replace(best_config, sms_provider="msg91", sms_options={
        "base_url": fake_provider.url, "timeout": "0.3"})
    add_sms(store, best_config)
    _slow(fake_provider, 1.0)
    first = deliver_due(store, config, now=NOW, rng=no_jitter)
    assert (first.unknown, first.retrying, first.failed) == (1, 0, 0)
    for minutes in (5, 60, 600):  # every later pass leaves it alone
        deliver_due(store, config, now=later(minutes * 60), rng=no_jitter)
    (row,) = rows(store)
    assert row.status == "unknown" and "check the provider" in row.last_error
    assert fake_provider.delivered == 1


def test_an_unknown_sms_is_sent_again_only_when_a_person_says_so(
        store: Store, best_config: Config, fake_provider: FakeProvider, monkeypatch) -> None:
    from qrpay.notify.sender import resend_unknown

    monkeypatch.setenv("QRPAY_MSG91_AUTHKEY", "k")
    config = dataclasses.replace(best_config, sms_provider="msg91", sms_options={
        "base_url": fake_provider.url, "timeout": "0.3"})
    add_sms(store, best_config)
    _slow(fake_provider, 1.0)
    deliver_due(store, config, now=NOW)
    _slow(fake_provider, 0.0)
    (row,) = rows(store)
    assert resend_unknown(store, row.id, now=later(60))
    assert deliver_due(store, config, now=later(61)).sent == 1
    assert not resend_unknown(store, row.id)  # sent now: nothing to resend


def test_sslwireless_answering_after_the_timeout_is_delivered_once(
        store: Store, breb_config: Config, fake_provider: FakeProvider, monkeypatch) -> None:
    """SSL Wireless dedupes our csms_id: the retry settles the unknown outcome as sent."""
    monkeypatch.setenv("QRPAY_SSLWIRELESS_API_TOKEN", "t")
    config = dataclasses.replace(breb_config, sms_provider="sslwireless", sms_options={
        "base_url": fake_provider.url, "timeout": "0.3"})
    add_sms(store, breb_config, biller="dhaka-pbs-1", lang="bn")
    _slow(fake_provider, 1.0)
    first = deliver_due(store, config, now=NOW, rng=no_jitter)
    assert first.retrying == 1 and first.unknown == 0
    _slow(fake_provider, 0.0)
    for minutes in (5, 60, 600):
        deliver_due(store, config, now=later(minutes * 60), rng=no_jitter)
    (row,) = rows(store)
    assert row.status == "sent"
    assert fake_provider.delivered == 1
    assert len({r["json"]["csms_id"] for r in fake_provider.requests}) == 1


def test_a_provider_that_cannot_be_reached_is_retried_not_unknown(
        store: Store, best_config: Config, monkeypatch) -> None:
    monkeypatch.setenv("QRPAY_MSG91_AUTHKEY", "k")
    config = dataclasses.replace(best_config, sms_provider="msg91", sms_options={
        "base_url": "http://127.0.0.1:9", "timeout": "0.3"})  # nothing listens: not sent
    add_sms(store, best_config)
    report = deliver_due(store, config, now=NOW, rng=no_jitter)
    assert (report.retrying, report.unknown) == (1, 0)
