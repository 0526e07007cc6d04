"""The client's address behind a reverse proxy: ``X-Forwarded-For`` from trusted proxies only.

Without a proxy, the client is the TCP peer.  Behind nginx or a load balancer every
request comes from the proxy's address, so the per-address rate limits
(:mod:`qrpay.web.ratelimit`) and the desk's login throttle would count the whole city as
one client.  The proxies named in the profile (or ``qrpay serve --trusted-proxy``) are
believed; nobody else is::

    [web]
    trusted_proxies = ["127.0.0.1", "10.20.0.0/16"]   # default: [] (trust nothing)

For a request whose TCP peer is a trusted proxy, :class:`ForwardedFor` walks
``X-Forwarded-For`` from the right (the entry the nearest proxy appended) past every
trusted address; the first address that is not a trusted proxy is the client.  Entries to
its left were written by the client itself and are ignored, so a client cannot choose its
own address by sending the header.  A malformed entry stops the walk at the last good
address.  ``X-Forwarded-Proto`` from a trusted proxy sets the scheme (``https`` cookies
are then ``Secure``).  From any other peer both headers are ignored and the peer is the
client.  The address is written into the ASGI scope (``scope["client"]``) before any
other middleware runs, so everything downstream (rate limits, lockouts, audit rows, the
``/metrics`` loopback check) sees the same client.

uvicorn's own proxy-header handling is switched off (``proxy_headers=False`` in
:mod:`qrpay.web.server`): by default it believes ``X-Forwarded-For`` from 127.0.0.1,
which this module does only when told to.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from qrpay.config import Config
from qrpay.errors import ConfigError

#: set by ``qrpay serve --trusted-proxy`` for every worker process (comma-separated)
ENV = "QRPAY_TRUSTED_PROXIES"

#: set in the scope when the client address was taken from a trusted X-Forwarded-For
RESOLVED = "qrpay.forwarded_for"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Addresses and CIDR blocks (``10.0.0.1``, ``10.20.0.0/16``, ``::1``)."""
    out = []
    for value in values:
        value = str(value).strip()
        if not value:
            continue
        try:
            out.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ConfigError(f"trusted proxy {value!r} is not an IP address or CIDR block",
                              code="bad_trusted_proxy", field="trusted_proxies") from None
    return tuple(out)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:5123"
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class TrustedProxies:
    networks: tuple[Network, ...] = ()

    @classmethod
    def of(cls, config: Config, environ: dict[str, str] | None = None) -> TrustedProxies:
        """``$QRPAY_TRUSTED_PROXIES`` (from ``qrpay serve``) if set, else the profile's
        ``[web] trusted_proxies``; empty (trust nothing) by default."""
        env = (os.environ if environ is None else environ).get(ENV)
        if env is not None:
            return cls(parse_networks(env.split(",")))
        web = config.raw.get("web", {}) if isinstance(config.raw, dict) else {}
        values = web.get("trusted_proxies", []) if isinstance(web, dict) else []
        if isinstance(values, str):
            values = values.split(",")
        if not isinstance(values, list):
            raise ConfigError("[web] trusted_proxies must be a list of addresses",
                              code="bad_trusted_proxy", field="trusted_proxies")
        return cls(parse_networks(values))

    def trusts(self, host: str) -> bool:
        address = _address(host)
        return address is not None and any(address in n for n in self.networks)

    def client(self, peer: str, forwarded_for: str) -> str:
        """The client's address for a request from ``peer`` carrying ``forwarded_for``."""
        if not self.trusts(peer):
            return peer
        client = peer
        for entry in reversed(forwarded_for.split(",")):
            address = _address(entry)
            if address is None:
                break  # a malformed entry: nothing left of it can be believed
            client = str(address)
            if not self.trusts(client):
                break
        return client


def _header(scope: Scope, name: bytes) -> str:
    """All values of a header, joined as one comma-separated list."""
    values = [v.decode("latin-1") for k, v in scope.get("headers") or () if k == name]
    return ",".join(values)


class ForwardedFor:
    """ASGI middleware: the client address (and scheme) as the trusted proxies report it."""

    def __init__(self, app: ASGIApp, proxies: TrustedProxies) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.proxies.networks:
            peer = scope.get("client")
            if peer and self.proxies.trusts(peer[0]):
                scope = dict(scope)
                forwarded = _header(scope, b"x-forwarded-for")
                if forwarded:
                    scope["client"] = (self.proxies.client(peer[0], forwarded), 0)
                    scope[RESOLVED] = True
                proto = _header(scope, b"x-forwarded-proto").rpartition(",")[2].strip()
                if proto in ("http", "https"):
                    scope["scheme"] = proto if scope["type"] == "http" else \
                        {"http": "ws", "https": "wss"}[proto]
        await self.app(scope, receive, send)
