"""X-Forwarded-For believed only from trusted proxies (``qrpay.web.proxies``): the
per-address rate limits and the desk's login throttle see the client behind the proxy,
and a client that sends the header itself cannot pick its own address."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.responses import PlainTextResponse
from starlette.testclient import TestClient

from qrpay.config import Config
from qrpay.desk import throttle
from qrpay.errors import ConfigError, QrpayError
from qrpay.store import Store
from qrpay.web.app import create_app
from qrpay.web.proxies import ENV, ForwardedFor, TrustedProxies, parse_networks
from qrpay.web.server import ServeOptions
from tests.desk.conftest import Desk

from .conftest import ROOT

PROXY = "10.0.0.1"


def proxies(*values: str) -> TrustedProxies:
    return TrustedProxies(parse_networks(values))


def test_an_untrusted_peer_is_the_client_whatever_it_forwards() -> None:
    assert proxies().client("203.0.113.7", "198.51.100.1") == "203.0.113.7"
    assert proxies(PROXY).client("203.0.113.7", "198.51.100.1") == "203.0.113.7"


def test_a_trusted_proxy_names_the_client_right_to_left() -> None:
    p = proxies(PROXY, "10.20.0.0/16")
    assert p.client(PROXY, "198.51.100.1") == "198.51.100.1"
    # the client's own entries left of what the proxies appended are not believed
    assert p.client(PROXY, "1.2.3.4, 198.51.100.1") == "198.51.100.1"
    # a chain of trusted proxies is walked past
    assert p.client(PROXY, "1.2.3.4, 198.51.100.1, 10.20.5.5") == "198.51.100.1"
    # all trusted: the left-most one is the client
    assert p.client(PROXY, "10.20.0.9, 10.20.5.5") == "10.20.0.9"
    # a malformed entry stops the walk at the last good address
    assert p.client(PROXY, "198.51.100.1, junk, 10.20.5.5") == "10.20.5.5"
    assert p.client(PROXY, "junk") == PROXY
    assert p.client(PROXY, "198.51.100.1:5123") == "198.51.100.1"


def test_ipv6_proxies_and_clients() -> None:
    p = proxies("::1", "fd00::/8")
    assert p.client("::1", "2001:db8::7, fd00::3") == "2001:db8::7"
    assert p.client("::1", "[2001:db8::7]:443") == "2001:db8::7"
    assert p.client("2001:db8::9", "198.51.100.1") == "2001:db8::9"


def test_the_setting_defaults_to_trusting_nothing(best_config: Config) -> None:
    assert TrustedProxies.of(best_config, {}).networks == ()
    raw = dict(best_config.raw, web={"trusted_proxies": ["10.0.0.1", "10.20.0.0/16"]})
    config = dataclasses.replace(best_config, raw=raw)
    assert TrustedProxies.of(config, {}).trusts("10.20.3.4")
    assert not TrustedProxies.of(config, {}).trusts("10.21.0.1")
    # ``qrpay serve --trusted-proxy`` (the environment) overrides the profile
    assert TrustedProxies.of(config, {ENV: "192.0.2.1"}).trusts("192.0.2.1")
    assert not TrustedProxies.of(config, {ENV: ""}).trusts("10.0.0.1")


@pytest.mark.parametrize("bad", ["10.0.0.300", "proxy.example", "10.0.0.0/33"])
def test_a_bad_proxy_address_is_refused_with_a_code(best_config: Config, bad: str) -> None:
    raw = dict(best_config.raw, web={"trusted_proxies": [bad]})
    with pytest.raises(ConfigError) as err:
        TrustedProxies.of(dataclasses.replace(best_config, raw=raw), {})
    assert err.value.code == "bad_trusted_proxy"
    with pytest.raises(QrpayError) as err2:
        ServeOptions(trusted_proxies=(bad,))
    assert err2.value.code == "bad_trusted_proxy"


def configured(config: Config, trusted: Iterable[str], **limits: int) -> Config:
    raw = dict(config.raw, web={"trusted_proxies": list(trusted)},
               rate_limits={"flush_every": 1, **limits})
    return dataclasses.replace(config, raw=raw)


def codes(client: TestClient, forwarded_for: str | None, n: int) -> list[int]:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return [client.get("/b/NOSUCHBILL", headers=headers).status_code for _ in range(n)]


def behind(app: Any, peer: str) -> TestClient:
    return TestClient(app, client=(peer, 40000), raise_server_exceptions=False)


def test_rate_limits_count_the_client_behind_a_trusted_proxy(
        store: Store, best_config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    app = create_app(configured(best_config, [PROXY], public_per_minute=3), store,
                     start_sender=False)
    with behind(app, PROXY) as proxy:
        assert 429 in codes(proxy, "198.51.100.1", 6)
        # another client through the same proxy has its own count
        assert 429 not in codes(proxy, "198.51.100.2", 3)
        # the first client cannot escape its count by sending its own header
        assert codes(proxy, "5.6.7.8, 198.51.100.1", 1) == [429]


def test_rate_limits_ignore_the_header_from_an_untrusted_peer(
        store: Store, best_config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    app = create_app(configured(best_config, [PROXY], public_per_minute=3), store,
                     start_sender=False)
    with behind(app, "203.0.113.7") as direct:
        # a new made-up address each time: still one client, refused after 3
        got = [direct.get("/b/NOSUCHBILL", headers={"X-Forwarded-For": f"198.51.100.{i}"})
               .status_code for i in range(6)]
        assert 429 in got


def test_without_trusted_proxies_everyone_behind_a_proxy_is_one_client(
        store: Store, best_config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default (trust nothing): the gap this setting closes."""
    monkeypatch.delenv(ENV, raising=False)
    app = create_app(configured(best_config, [], public_per_minute=3), store,
                     start_sender=False)
    with behind(app, PROXY) as proxy:
        got = [proxy.get("/b/NOSUCHBILL", headers={"X-Forwarded-For": f"198.51.100.{i}"})
               .status_code for i in range(6)]
        assert 429 in got


def test_the_login_throttle_blocks_the_client_not_the_proxy(
        store: Store, best_config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    app = create_app(configured(best_config, [PROXY]), store, start_sender=False)
    with behind(app, PROXY) as proxy:
        attacker = {"X-Forwarded-For": "198.51.100.66"}
        neighbour = {"X-Forwarded-For": "198.51.100.67"}
        for _ in range(throttle.MAX_FAILURES):
            proxy.headers.update(attacker)
            assert Desk(proxy).login("nobody", "wrong-password") == 401
        assert Desk(proxy).login("nobody", "wrong-password") == 429
        proxy.headers.update(neighbour)  # same proxy, another client: not blocked
        assert Desk(proxy).login("nobody", "wrong-password") == 401


def test_forwarded_proto_from_a_trusted_proxy_sets_the_scheme() -> None:
    seen: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(f"{scope['scheme']} {scope['client'][0]}")
        await PlainTextResponse("ok")(scope, receive, send)

    app = ForwardedFor(inner, proxies(PROXY))
    c = TestClient(app, client=(PROXY, 1))  # not entered: no lifespan for this probe
    c.get("/", headers={"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https"})
    c.get("/", headers={"X-Forwarded-Proto": "gopher"})
    TestClient(app, client=("203.0.113.7", 1)).get(
        "/", headers={"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https"})
    assert seen == ["https 198.51.100.1", "http 10.0.0.1", "http 203.0.113.7"]


def test_metrics_are_not_loopback_for_a_client_behind_a_trusted_proxy(
        store: Store, best_config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    app = create_app(configured(best_config, ["127.0.0.1"]), store, start_sender=False)
    with TestClient(app, client=("127.0.0.1", 1)) as local:
        assert local.get("/metrics").status_code == 200
        assert local.get("/metrics", headers={"X-Forwarded-For": "198.51.100.1"}
                         ).status_code == 403


def test_metrics_refuse_a_loopback_proxy_that_is_not_trusted(
        store: Store, best_config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    app = create_app(configured(best_config, []), store, start_sender=False)
    with TestClient(app, client=("127.0.0.1", 1)) as local:
        assert local.get("/metrics").status_code == 200
        assert local.get("/metrics", headers={"X-Forwarded-For": "198.51.100.1"}
                         ).status_code == 403


@pytest.mark.slow
def test_serve_trusted_proxy_option_reaches_every_worker(
        db_url: str, store: Store, serve: Any, tmp_path: Path) -> None:
    """``qrpay serve --workers 2 --trusted-proxy 127.0.0.1`` on a real socket: a client
    named in X-Forwarded-For is refused on its own, the next one is not."""
    text = (ROOT / "samples" / "best.toml").read_text(encoding="utf-8")
    text = text.replace('logo = "logos/', f'logo = "{ROOT}/samples/logos/')
    text += "\n[rate_limits]\npublic_per_minute = 4\nflush_every = 1\n"
    profile = tmp_path / "limited.toml"
    profile.write_text(text, encoding="utf-8")
    server = serve(profile, db_url, workers=2, args=["--trusted-proxy", "127.0.0.1"],
                   extra_env={"QRPAY_SERVE_SENDER": "0"})

    def get(client: str) -> int:
        return httpx.get(server.url + "/b/NOSUCHBILL", timeout=10,
                         headers={"X-Forwarded-For": client}).status_code

    first = [get("198.51.100.1") for _ in range(12)]
    assert 429 in first
    assert get("198.51.100.2") != 429
