"""``qrpay serve``, ``qrpay worker`` and ``qrpay apikey create|list|revoke``."""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="run the scan-to-pay web service (uvicorn)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1,
                   help="worker processes (use one per core; each runs an SMS sender)")
    p.add_argument("--no-sender", action="store_true",
                   help="do not run the SMS sender inside the server (run `qrpay worker`)")
    p.add_argument("--access-log", action="store_true", help="log every request")
    p.add_argument("--trusted-proxy", action="append", metavar="ADDR",
                   help="a reverse proxy (address or CIDR; repeat or comma-separate) whose "
                        "X-Forwarded-For is believed; default: the profile's [web] "
                        "trusted_proxies, else none")
    p.add_argument("--log-level", default="info",
                   choices=["critical", "error", "warning", "info", "debug"])
    add_limit_options(p)
    p.set_defaults(func=serve)

    w = sub.add_parser("worker", help="run the SMS sender loop (outbox delivery)")
    w.add_argument("--interval", type=float, default=1.0,
                   help="seconds between looks at the outbox when it is empty")
    w.add_argument("--once", action="store_true", help="deliver what is due, then exit")
    w.add_argument("--recon-interval", type=float, default=60.0,
                   help="seconds between rollups of the daily totals and status polls "
                        "(0: none)")
    w.set_defaults(func=worker)

    k = sub.add_parser("apikey", help="API keys for the scan resolver")
    ksub = k.add_subparsers(dest="apikey_command", required=True, metavar="ACTION")
    c = ksub.add_parser("create", help="make a key (printed once; only its hash is stored)")
    c.add_argument("name")
    c.add_argument("--scope", action="append", metavar="SCOPE",
                   help="what the key may do: scan, biller_api, reports (repeat or comma-"
                        "separate; default: all)")
    c.set_defaults(func=apikey_create)
    ro = ksub.add_parser("rotate", help="a new key with the same name and scopes; the old "
                         "one stays valid until you revoke it (no downtime)")
    ro.add_argument("key", metavar="PREFIX_OR_NAME")
    ro.set_defaults(func=apikey_rotate)
    ls = ksub.add_parser("list", help="list keys (prefix, name, state)")
    ls.set_defaults(func=apikey_list)
    r = ksub.add_parser("revoke", help="revoke a key by prefix (or unique name)")
    r.add_argument("key", metavar="PREFIX_OR_NAME")
    r.set_defaults(func=apikey_revoke)


def add_limit_options(p: argparse.ArgumentParser) -> None:
    """``qrpay serve`` options for slow and oversized requests (``qrpay.web.httpguard``)."""
    from qrpay.web.httpguard import HttpLimits

    d = HttpLimits()
    g = p.add_argument_group("limits (per worker)")
    g.add_argument("--header-timeout", type=float, default=d.header_timeout, metavar="S",
                   help="seconds a client has to send a request's head (default %(default)s)")
    g.add_argument("--read-timeout", type=float, default=d.read_timeout, metavar="S",
                   help="seconds allowed between two pieces of a body (default %(default)s)")
    g.add_argument("--keep-alive-timeout", type=float, default=d.keep_alive_timeout,
                   metavar="S", help="seconds an idle connection stays open "
                   "(default %(default)s)")
    g.add_argument("--max-header-bytes", type=int, default=d.max_head_bytes, metavar="N",
                   help="largest request head, in bytes; larger is refused 431 "
                   "(default %(default)s)")
    g.add_argument("--max-headers", type=int, default=d.max_headers, metavar="N",
                   help="most header lines in a request (default %(default)s)")
    g.add_argument("--max-connections", type=int, default=d.max_connections, metavar="N",
                   help="open connections beyond this are closed (default %(default)s)")
    g.add_argument("--limit-concurrency", type=int, default=d.limit_concurrency,
                   metavar="N", help="requests in progress beyond this are answered 503 "
                   "(default %(default)s)")


def http_limits(args: argparse.Namespace) -> Any:
    from qrpay.web.httpguard import HttpLimits

    return HttpLimits(
        header_timeout=args.header_timeout, read_timeout=args.read_timeout,
        keep_alive_timeout=args.keep_alive_timeout, max_head_bytes=args.max_header_bytes,
        max_headers=args.max_headers, max_connections=args.max_connections,
        limit_concurrency=args.limit_concurrency)


def trusted_proxies(values: list[str] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


def serve(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.web.server import ServeOptions
    from qrpay.web.server import serve as run_server

    options = ServeOptions(host=args.host, port=args.port, workers=args.workers,
                           sender=not args.no_sender, access_log=args.access_log,
                           log_level=args.log_level, limits=http_limits(args),
                           trusted_proxies=trusted_proxies(args.trusted_proxy))
    ctx.store  # noqa: B018 - fail now, in the parent, if the schema is not current
    return run_server(ctx.config, ctx.store, options, ctx.out)


def worker(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay import notify

    store, config = ctx.store, ctx.config
    if args.once:
        report = notify.deliver_due(store, config)
        print(f"outbox: {report}", file=ctx.out)
        if args.recon_interval > 0:
            from qrpay.commands.recon import periodic_pass

            print(periodic_pass(store, config), file=ctx.out)
        return 0
    stop = threading.Event()

    def on_signal(_signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"qrpay worker: SMS sender running (provider {config.sms_provider}); "
          "Ctrl-C to stop", file=ctx.out, flush=True)
    if args.recon_interval > 0:  # daily totals for the reports, status polling
        from qrpay.commands.recon import run_periodic

        threading.Thread(target=run_periodic, name="qrpay-recon", daemon=True,
                         args=(store, config, stop, args.recon_interval)).start()
    notify.run_worker(store, config, stop, args.interval)
    return 0


def apikey_create(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.apikeys import create_key, parse_scopes

    record, key = create_key(ctx.store, args.name, parse_scopes(args.scope))
    print(key, file=ctx.out)
    print(f"made API key {record.prefix} ({record.name}; scopes {','.join(record.scopes)}); "
          "it is shown only this once", file=ctx.err)
    return 0


def apikey_rotate(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.apikeys import rotate_key

    old, new, key = rotate_key(ctx.store, args.key)
    print(key, file=ctx.out)
    print(f"made API key {new.prefix} ({new.name}; scopes {','.join(new.scopes)}); it is "
          f"shown only this once. {old.prefix} stays valid: move the clients to the new "
          f"key, then `qrpay apikey revoke {old.prefix}`", file=ctx.err)
    return 0


def apikey_list(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.apikeys import list_keys

    for key in list_keys(ctx.store):
        state = "active" if key.active else f"revoked {key.revoked_at:%Y-%m-%d %H:%M}"
        print(f"{key.prefix}\t{key.name}\t{key.created_at:%Y-%m-%d %H:%M}\t{state}"
              f"\t{','.join(key.scopes)}", file=ctx.out)
    return 0


def apikey_revoke(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.apikeys import revoke_key

    key = revoke_key(ctx.store, args.key)
    print(f"revoked {key.prefix} ({key.name})", file=ctx.out)
    return 0
