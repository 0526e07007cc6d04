"""``qrpay serve``, ``qrpay worker`` and ``qrpay apikey create|list|revoke``."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
import time
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
    p.add_argument("--log-level", default="info",
                   choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(func=serve)

    w = sub.add_parser("worker", help="run the SMS sender loop (outbox delivery)")
    w.add_argument("--interval", type=float, default=1.0,
                   help="seconds between looks at the outbox when it is empty")
    w.add_argument("--once", action="store_true", help="deliver what is due, then exit")
    w.set_defaults(func=worker)

    k = sub.add_parser("apikey", help="API keys for the scan resolver")
    ksub = k.add_subparsers(dest="apikey_command", required=True, metavar="ACTION")
    c = ksub.add_parser("create", help="make a key (printed once; only its hash is stored)")
    c.add_argument("name")
    c.set_defaults(func=apikey_create)
    ls = ksub.add_parser("list", help="list keys (prefix, name, state)")
    ls.set_defaults(func=apikey_list)
    r = ksub.add_parser("revoke", help="revoke a key by prefix (or unique name)")
    r.add_argument("key", metavar="PREFIX_OR_NAME")
    r.set_defaults(func=apikey_revoke)


def serve(args: argparse.Namespace, ctx: Any) -> int:
    import uvicorn

    from qrpay.errors import ValidationError

    if args.workers < 1:
        raise ValidationError("--workers must be at least 1", code="bad_value",
                              field="workers")
    config = ctx.config
    ctx.store  # noqa: B018 - fail now, in the parent, if the schema is not current
    if args.no_sender:
        os.environ["QRPAY_SERVE_SENDER"] = "0"
    common: dict[str, Any] = {
        "host": args.host, "port": args.port, "log_level": args.log_level,
        "access_log": args.access_log, "loop": "auto", "http": "auto",
        "proxy_headers": True, "server_header": False, "timeout_graceful_shutdown": 10,
        "backlog": 4096,
    }
    print(f"qrpay serving {', '.join(config.billers)} on http://{args.host}:{args.port} "
          f"({args.workers} worker{'s' if args.workers > 1 else ''}, database "
          f"{'SQLite' if ctx.store.is_sqlite else 'PostgreSQL'})", file=ctx.out, flush=True)
    if args.workers == 1:
        from qrpay.web.app import create_app

        uvicorn.run(create_app(config, ctx.store), **common)
        return 0
    # Several processes: each builds its own app (and database pool) from the profile.
    if config.path is not None:
        os.environ["QRPAY_CONFIG"] = str(config.path)
    os.environ["QRPAY_DATABASE_URL"] = config.database_url
    ctx.store.dispose()
    if reuseport_available():
        return serve_reuseport(args.workers, common)
    uvicorn.run("qrpay.web.app:app_from_env", factory=True, workers=args.workers, **common)
    return 0


# ----------------------------------------------------- several workers, one socket each
#
# uvicorn's own multiprocess mode shares one listening socket, and whichever worker
# accepts first takes the connection: under keep-alive load one worker often ends up
# with nearly all of them.  With SO_REUSEPORT every worker listens on its own socket
# bound to the same address and Linux spreads new connections over them by hash.

APP_FACTORY = "qrpay.web.app:app_from_env"
PR_SET_PDEATHSIG = 1
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def reuseport_available() -> bool:
    """SO_REUSEPORT load-balances accepted connections only on Linux."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def check_port_free(host: str, port: int) -> None:
    """Fail like a plain bind would if something else holds the port (a socket with
    SO_REUSEPORT would otherwise silently join another server's group)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def reuseport_socket(host: str, port: int, backlog: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.set_inheritable(True)
    except BaseException:
        sock.close()
        raise
    return sock


def die_with_parent(parent: int) -> None:
    """A worker gets SIGTERM when the supervisor dies (even by kill -9)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl")
    except (OSError, AttributeError):
        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.5)
            os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=watch, daemon=True, name="qrpay-parent-watch").start()
    if os.getppid() != parent:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def run_worker(sock: socket.socket, common: dict[str, Any], parent: int) -> int:
    """In a forked child: serve the app on this worker's own socket."""
    import uvicorn

    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    die_with_parent(parent)
    server = uvicorn.Server(uvicorn.Config(APP_FACTORY, factory=True, **common))
    server.run(sockets=[sock])
    return 0 if server.started else 3


def fork_worker(sock: socket.socket, common: dict[str, Any]) -> int:
    parent = os.getpid()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        code = run_worker(sock, common, parent)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve_reuseport(workers: int, common: dict[str, Any]) -> int:
    """Start ``workers`` processes, each on its own SO_REUSEPORT socket, and supervise
    them: SIGINT/SIGTERM are passed on (as SIGTERM: a graceful stop), and when one
    worker dies unexpectedly the others are stopped and the exit status is non-zero."""
    import logging

    import uvicorn

    host, port = common["host"], common["port"]
    uvicorn.Config(APP_FACTORY, factory=True, **common)  # logging as uvicorn sets it up
    log = logging.getLogger("uvicorn.error")
    try:
        check_port_free(host, port)
    except OSError as exc:  # as uvicorn reports it: "[Errno 98] Address already in use"
        log.error("%s", exc)
        return 1
    log.info("Started parent process [%d]", os.getpid())
    children: set[int] = set()
    stopping = False

    def stop_children(signum: int = signal.SIGTERM, _frame: Any = None) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        for _ in range(workers):
            sock = reuseport_socket(host, port, common["backlog"])
            try:
                children.add(fork_worker(sock, common))
            finally:
                sock.close()  # the parent must not hold a socket of the group
        for sig in STOP_SIGNALS:
            signal.signal(sig, stop_children)
    except BaseException:
        stop_children()
        raise
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    log.info("Uvicorn running on http://%s:%d (Press CTRL+C to quit)", host, port)
    status = 0
    while children:
        pid, wait_status = os.waitpid(-1, 0)
        if pid not in children:
            continue
        children.discard(pid)
        code = os.waitstatus_to_exitcode(wait_status)
        if not stopping:
            log.error("Worker process [%d] died (exit %d), stopping the others", pid, code)
            status = code if code > 0 else 1
            stop_children()
    log.info("Stopping parent process [%d]", os.getpid())
    return status


def worker(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay import notify

    store, config = ctx.store, ctx.config
    if args.once:
        report = notify.deliver_due(store, config)
        print(f"outbox: {report}", file=ctx.out)
        return 0
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"qrpay worker: SMS sender running (provider {config.sms_provider}); "
          "Ctrl-C to stop", file=ctx.out, flush=True)
    notify.run_worker(store, config, stop, args.interval)
    return 0


def apikey_create(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.apikeys import create_key

    record, key = create_key(ctx.store, args.name)
    print(key, file=ctx.out)
    print(f"made API key {record.prefix} ({record.name}); it is shown only this once",
          file=ctx.err)
    return 0


def apikey_list(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.apikeys import list_keys

    for key in list_keys(ctx.store):
        state = "active" if key.active else f"revoked {key.revoked_at:%Y-%m-%d %H:%M}"
        print(f"{key.prefix}\t{key.name}\t{key.created_at:%Y-%m-%d %H:%M}\t{state}",
              file=ctx.out)
    return 0


def apikey_revoke(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.apikeys import revoke_key

    key = revoke_key(ctx.store, args.key)
    print(f"revoked {key.prefix} ({key.name})", file=ctx.out)
    return 0
