"""``qrpay callback sign|send``: sign a callback body as a channel would, and send it.

For integrators and for trying a deployment: the body file is sent byte for byte, signed
with the channel's secret by its channel module (``qrpay.channels``: generic
``X-Qrpay-Signature``, Razorpay ``X-Razorpay-Signature``, PhonePe ``X-VERIFY``).
Samples: ``samples/callbacks/``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from qrpay.config import Config
from qrpay.errors import ConfigError, QrpayError


def register(sub: Any) -> None:
    p = sub.add_parser("callback", help="sign or send a payment callback, as a channel would")
    csub = p.add_subparsers(dest="callback_command", required=True, metavar="ACTION")
    for name, func, helptext in (("sign", sign_cmd, "print the signature header(s)"),
                                 ("send", send_cmd, "sign and POST to a running server")):
        c = csub.add_parser(name, help=helptext)
        c.add_argument("file", type=Path, help="the raw JSON body")
        c.add_argument("--channel", required=True, help="channel name from the profile")
        c.add_argument("--time", type=int, help="unix time to sign at (default: now)")
        if name == "send":
            c.add_argument("--url", default="http://127.0.0.1:8000",
                           help="the server's base URL (default %(default)s)")
        c.set_defaults(func=func)


def signature_headers(config: Config, channel: str, body: bytes,
                      t: int | None = None) -> dict[str, str]:
    """The headers the channel's module expects for ``body``, signed with its secret."""
    from qrpay.channels import callback_format

    try:
        spec = config.channels[channel]
    except KeyError:
        raise ConfigError(f"unknown channel {channel!r}; known: {', '.join(config.channels)}",
                          code="unknown_channel", field="channel") from None
    fmt = callback_format(spec.adapter)
    return fmt.sign(spec.secrets()[0], body, time.time() if t is None else t)


def sign_cmd(args: argparse.Namespace, ctx: Any) -> int:
    body = args.file.read_bytes()
    for name, value in signature_headers(ctx.config, args.channel, body, args.time).items():
        print(f"{name}: {value}", file=ctx.out)
    return 0


def send_cmd(args: argparse.Namespace, ctx: Any) -> int:
    import httpx

    body = args.file.read_bytes()
    headers = signature_headers(ctx.config, args.channel, body, args.time)
    headers["Content-Type"] = "application/json"
    url = f"{args.url.rstrip('/')}/api/v1/callbacks/{args.channel}"
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=30)
    except httpx.HTTPError as exc:
        raise QrpayError(f"cannot reach {url}: {exc} (is `qrpay serve` running there? "
                         "pass --url)", code="connection_failed") from None
    print(f"{response.status_code} {response.text}", file=ctx.out)
    return 0 if response.status_code == 200 else 1
