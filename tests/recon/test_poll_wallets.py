"""``qrpay recon poll`` for a wallet speaking the GSMA Mobile Money API v1.2 ("View a
transaction", ``GET /transactions/{transactionReference}``), against a local fake
provider: pending payments posted or closed exactly once, with its auth and backoff, and
the work shared by several pollers through leases (a crashed node's lease taken over;
two pollers at once on PostgreSQL)."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from qrpay.config import Channel, Config
from qrpay.errors import ConfigError
from qrpay.recon.poll import claim, poll_channels, status_api
from qrpay.store import Store
from qrpay.store.schema import ledger, outbox, payments, recon_exceptions, recon_polls
from tests.fakes.jsonhttp import GsmaProvider

from .conftest import add_bill, count, pay

T0 = dt.datetime(2026, 11, 21, 6, 0, tzinfo=dt.UTC)
AUTH = "Basic " + base64.b64encode(b"qrpay-biller:mm-secret").decode()


def provider_at(delay: float = 0.0) -> Iterator[tuple[GsmaProvider, str]]:
    p = GsmaProvider(auth=AUTH, delay=delay)
    with p.serve(GsmaProvider.PREFIX) as url:
        yield p, url


@pytest.fixture
def provider() -> Iterator[tuple[GsmaProvider, str]]:
    yield from provider_at()


def wallet_config(best_config: Config, url: str, **status: Any) -> Config:
    channels = dict(best_config.channels)
    channels["mmwallet"] = Channel(name="mmwallet", adapter="generic",
                                   display_name="Mobile money wallet",
                                   settings={"status": {"api": "gsma", "base_url": url,
                                                        "pending_after_minutes": 15,
                                                        **status}})
    best = dataclasses.replace(best_config.billers["best"],
                               channels=(*best_config.billers["best"].channels, "mmwallet"))
    return dataclasses.replace(best_config, channels=channels, billers={"best": best})


@pytest.fixture
def mm_config(best_config: Config, provider, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("QRPAY_STATUS_MMWALLET_USER", "qrpay-biller")
    monkeypatch.setenv("QRPAY_STATUS_MMWALLET_PASSWORD", "mm-secret")
    return wallet_config(best_config, provider[1])


def txn(status: str, amount: str = "1234.50", currency: str = "INR",
        ref: str = "MM0") -> tuple[int, dict[str, Any]]:
    """A transaction object as the API service definition shows it."""
    return 200, {"transactionReference": ref, "requestingOrganisationTransactionReference": ref,
                 "type": "billpay", "transactionStatus": status, "amount": amount,
                 "currency": currency, "transactionReceipt": "RCPT-" + ref,
                 "creationDate": "2026-11-21T05:40:00Z"}


def status_of(store: Store, txn_id: str) -> str:
    with store.connect() as conn:
        return str(conn.execute(select(payments.c.status).where(
            payments.c.txn_id == txn_id)).scalar_one())


def no_sleep(_: float) -> None:
    pass


def pending(store: Store, config: Config, n: int, *, age: dt.timedelta) -> list[str]:
    refs = []
    for i in range(n):
        bill_no = f"B2611W{i:08d}"
        add_bill(store, bill_no)
        pay(store, config, "mmwallet", f"MM{i}", bill_no, 123450, status="pending",
            now=T0 - age)
        refs.append(f"MM{i}")
    return refs


def test_gsma_pending_wallet_payment_posted_once_with_backoff(store: Store, mm_config: Config,
                                                              provider) -> None:
    fake, _ = provider
    pending(store, mm_config, 1, age=dt.timedelta(minutes=20))
    fake.answers["MM0"] = [txn("pending"), txn("completed")]
    first = poll_channels(store, mm_config, now=T0, sleep=no_sleep)
    assert first.outcomes == {"still_pending": 1} and fake.hits["MM0"] == 1
    # age 21 min crossed no threshold (15, 30, 60 ...): not asked
    poll_channels(store, mm_config, now=T0 + dt.timedelta(minutes=1), sleep=no_sleep)
    assert fake.hits["MM0"] == 1
    done = poll_channels(store, mm_config, now=T0 + dt.timedelta(minutes=11), sleep=no_sleep)
    assert done.outcomes == {"posted": 1} and fake.hits["MM0"] == 2
    assert status_of(store, "MM0") == "success"
    with store.connect() as conn:
        row = conn.execute(select(payments).where(payments.c.txn_id == "MM0")).one()
    assert (row.amount, row.utr, row.mode) == (123450, "RCPT-MM0", "upi")  # mode as first told
    again = poll_channels(store, mm_config, now=T0 + dt.timedelta(hours=5), sleep=no_sleep)
    assert again.asked == 0 and fake.hits["MM0"] == 2
    assert count(store, ledger, ledger.c.kind == "payment") == 1
    assert count(store, outbox, outbox.c.template == "payment_received") == 1
    assert fake.bad == 0


def test_gsma_failed_unknown_and_exact_amounts(store: Store, mm_config: Config,
                                               provider) -> None:
    fake, _ = provider
    pending(store, mm_config, 4, age=dt.timedelta(minutes=30))
    fake.answers["MM0"] = [txn("failed")]
    # MM1: 404, not known there yet
    fake.answers["MM2"] = [txn("completed", amount="1234.5000")]  # four decimals: exact
    fake.answers["MM3"] = [txn("completed", amount="1234.505")]  # not whole paise
    result = poll_channels(store, mm_config, now=T0, sleep=no_sleep)
    assert result.outcomes == {"recorded": 1, "still_pending": 1, "posted": 1, "error": 1}
    assert [status_of(store, f"MM{i}") for i in range(4)] == [
        "failed", "pending", "success", "pending"]
    assert "MM3" in result.errors[0]


def test_gsma_other_amount_or_currency_is_an_exception_not_a_posting(
        store: Store, mm_config: Config, provider) -> None:
    fake, _ = provider
    pending(store, mm_config, 2, age=dt.timedelta(minutes=30))
    fake.answers["MM0"] = [txn("completed", amount="1000.00")]
    fake.answers["MM1"] = [txn("completed", currency="BDT")]
    result = poll_channels(store, mm_config, now=T0, sleep=no_sleep)
    assert result.outcomes == {"amount_mismatch": 2}
    assert (status_of(store, "MM0"), status_of(store, "MM1")) == ("pending", "pending")
    assert count(store, recon_exceptions, recon_exceptions.c.outcome == "amount_mismatch") == 2


def test_gsma_provider_words_from_the_profile(store: Store, best_config: Config, provider,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    fake, url = provider
    monkeypatch.setenv("QRPAY_STATUS_MMWALLET_USER", "qrpay-biller")
    monkeypatch.setenv("QRPAY_STATUS_MMWALLET_PASSWORD", "mm-secret")
    config = wallet_config(best_config, url, success_states=["Successful"],
                           failed_states=["rejected"])
    pending(store, config, 2, age=dt.timedelta(minutes=30))
    fake.answers["MM0"] = [txn("successful")]
    fake.answers["MM1"] = [txn("REJECTED")]
    assert poll_channels(store, config, now=T0, sleep=no_sleep).outcomes == {
        "posted": 1, "recorded": 1}


def test_gsma_needs_credentials_from_env(best_config: Config, provider) -> None:
    api = status_api(wallet_config(best_config, provider[1]).channels["mmwallet"])
    assert api is not None
    with pytest.raises(ConfigError) as err:
        api.request("MM0")
    assert err.value.code == "missing_secret"
    no_url = Channel(name="w", adapter="generic", settings={"status": {"api": "gsma"}})
    with pytest.raises(ConfigError) as err:
        status_api(no_url)
    assert err.value.code == "missing_value"


# ------------------------------------------------------------------ leases

def test_a_crashed_nodes_lease_expires_and_is_taken_over(store: Store, mm_config: Config,
                                                         provider) -> None:
    fake, _ = provider
    pending(store, mm_config, 3, age=dt.timedelta(minutes=30))
    for i in range(3):
        fake.answers[f"MM{i}"] = [txn("completed", ref=f"MM{i}")]
    api = status_api(mm_config.channels["mmwallet"])
    assert api is not None
    taken = claim(store, api, "node-a", T0)  # node A claims, then dies
    assert len(taken) == 3
    during = poll_channels(store, mm_config, now=T0 + dt.timedelta(minutes=2),
                           sleep=no_sleep, holder="node-b")
    assert during.asked == 0 and not fake.hits  # A's lease (300 s) is live
    after = poll_channels(store, mm_config, now=T0 + dt.timedelta(minutes=6),
                          sleep=no_sleep, holder="node-b")
    assert after.outcomes == {"posted": 3}
    assert all(fake.hits[f"MM{i}"] == 1 for i in range(3))
    with store.connect() as conn:  # posted: their poll rows are gone with the lease
        assert conn.execute(select(recon_polls)).fetchall() == []


def test_poll_rows_stay_while_pending_and_go_once_settled(store: Store, mm_config: Config,
                                                          provider) -> None:
    fake, _ = provider
    pending(store, mm_config, 2, age=dt.timedelta(minutes=30))
    fake.answers["MM0"] = [txn("completed", ref="MM0")]
    fake.answers["MM1"] = [txn("pending", ref="MM1"),
                           txn("completed", ref="MM1")]
    first = poll_channels(store, mm_config, now=T0, sleep=no_sleep, holder="node-a")
    assert first.outcomes == {"posted": 1, "still_pending": 1}
    with store.connect() as conn:
        rows = conn.execute(select(recon_polls)).fetchall()
    assert [(r.holder, r.lease_until, r.asks, r.last_state) for r in rows] == [
        (None, None, 1, "still_pending")]
    later = poll_channels(store, mm_config, now=T0 + dt.timedelta(hours=2), sleep=no_sleep,
                          holder="node-a")
    assert later.outcomes == {"posted": 1}
    with store.connect() as conn:
        assert conn.execute(select(recon_polls)).fetchall() == []


def test_claims_do_not_overlap(store: Store, mm_config: Config) -> None:
    pending(store, mm_config, 5, age=dt.timedelta(minutes=30))
    api = status_api(mm_config.channels["mmwallet"])
    assert api is not None
    a = claim(store, api, "node-a", T0, limit=3)
    b = claim(store, api, "node-b", T0, limit=3)
    assert len(a) == 3 and len(b) == 2
    assert not {r.id for r in a} & {r.id for r in b}
    assert claim(store, api, "node-c", T0) == []


@pytest.fixture
def slow_provider() -> Iterator[tuple[GsmaProvider, str]]:
    yield from provider_at(delay=0.05)


def test_two_pollers_at_once_share_the_work(store: Store, best_config: Config, slow_provider,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Two nodes polling the same channel at the same moment (PostgreSQL: FOR UPDATE
    SKIP LOCKED; SQLite: BEGIN IMMEDIATE claims): every payment asked once, by one."""
    monkeypatch.setenv("QRPAY_STATUS_MMWALLET_USER", "qrpay-biller")
    monkeypatch.setenv("QRPAY_STATUS_MMWALLET_PASSWORD", "mm-secret")
    slow, url = slow_provider
    config = wallet_config(best_config, url, batch=2)
    refs = pending(store, config, 12, age=dt.timedelta(minutes=30))
    for ref in refs:
        slow.answers[ref] = [txn("completed", ref=ref)]
    results: dict[str, Any] = {}
    start = threading.Barrier(2)

    def node(name: str) -> None:
        start.wait()
        results[name] = poll_channels(store, config, now=T0, sleep=no_sleep, holder=name)

    threads = [threading.Thread(target=node, args=(n,)) for n in ("node-a", "node-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(slow.hits.values()) == [1] * 12  # each asked once, by one node
    assert results["node-a"].asked > 0 and results["node-b"].asked > 0
    assert results["node-a"].asked + results["node-b"].asked == 12
    assert all(status_of(store, ref) == "success" for ref in refs)
    assert count(store, ledger, ledger.c.kind == "payment") == 12
    assert count(store, outbox, outbox.c.template == "payment_received") == 12


def test_the_workers_periodic_pass_polls_the_wallet(store: Store, mm_config: Config,
                                                    provider) -> None:
    """``qrpay worker`` runs :func:`periodic_pass` on every node: it polls too."""
    from qrpay.commands.recon import periodic_pass

    fake, _ = provider
    add_bill(store, "B2611W00000000")
    pay(store, mm_config, "mmwallet", "MM0", "B2611W00000000", 123450, status="pending",
        now=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=20))
    fake.answers["MM0"] = [txn("completed")]
    assert "posted 1" in periodic_pass(store, mm_config)
    assert status_of(store, "MM0") == "success" and fake.hits["MM0"] == 1
