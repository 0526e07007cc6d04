"""Running the web service: one uvicorn process, or a supervisor of several.

``serve(config, store, options)`` is what ``qrpay serve`` calls.  With one worker the app
runs in this process; with several, each worker process builds its own app (and database
pool) from the environment (``QRPAY_CONFIG``, ``QRPAY_DATABASE_URL``; see
:func:`qrpay.web.app.app_from_env`).  On Linux each worker listens on its own
``SO_REUSEPORT`` socket and this process supervises them; elsewhere uvicorn's own
multiprocess mode is used.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from typing import IO, Any

from qrpay.config import Config
from qrpay.errors import ValidationError
from qrpay.store import Store
from qrpay.web.httpguard import ENV as LIMITS_ENV
from qrpay.web.httpguard import HttpLimits
from qrpay.web.proxies import ENV as PROXIES_ENV
from qrpay.web.proxies import parse_networks

APP_FACTORY = "qrpay.web.app:app_from_env"
# "1": the app's lifespan freezes what it loaded out of the garbage collector's sight
# (set for the processes `qrpay serve` serves from; tests make many apps and do not)
FREEZE_GC_ENV = "QRPAY_FREEZE_GC"
PR_SET_PDEATHSIG = 1
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    sender: bool = True  # run the SMS sender inside each worker
    access_log: bool = False
    log_level: str = "info"
    limits: HttpLimits = HttpLimits()  # slow and oversized requests (qrpay.web.httpguard)
    #: ``--trusted-proxy``: None keeps the profile's ``[web] trusted_proxies``
    trusted_proxies: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValidationError("--workers must be at least 1", code="bad_value",
                                  field="workers")
        parse_networks(self.trusted_proxies or ())  # a bad address fails here, not per worker
        for name, value in vars(self.limits).items():
            if value <= 0:
                raise ValidationError(f"--{name.replace('_', '-')} must be more than 0",
                                      code="bad_value", field=name)

    def uvicorn_options(self) -> dict[str, Any]:
        return {
            "host": self.host, "port": self.port, "log_level": self.log_level,
            "access_log": False, "loop": "auto", "http": "auto",  # qrpay.web.ops logs
            "proxy_headers": False,  # qrpay.web.proxies decides
            "server_header": False, "timeout_graceful_shutdown": 10,
            "backlog": 4096, **self.limits.uvicorn_options(),
        }


def serve(config: Config, store: Store, options: ServeOptions, out: IO[str]) -> int:
    """Serve until stopped; the exit status (non-zero when a worker died)."""
    import uvicorn

    if options.workers > 1:
        share_metrics()  # before anything imports prometheus_client
    if options.access_log:
        os.environ["QRPAY_ACCESS_LOG"] = "1"
    check_serve_secrets(config, options)
    os.environ[LIMITS_ENV] = options.limits.to_env()  # read by every worker's protocol
    if not options.sender:
        os.environ["QRPAY_SERVE_SENDER"] = "0"
    os.environ.setdefault(FREEZE_GC_ENV, "1")  # the app's lifespan freezes what it loaded
    if options.trusted_proxies is not None:  # read by every worker's app
        os.environ[PROXIES_ENV] = ",".join(options.trusted_proxies)
    common = options.uvicorn_options()
    workers = options.workers
    print(f"qrpay serving {', '.join(config.billers)} on http://{options.host}:"
          f"{options.port} ({workers} worker{'s' if workers > 1 else ''}, database "
          f"{'SQLite' if store.is_sqlite else 'PostgreSQL'})", file=out, flush=True)
    if workers == 1:
        from qrpay.web.app import create_app

        uvicorn.run(create_app(config, store), **common)
        return 0
    # Several processes: each builds its own app (and database pool) from the profile.
    if config.path is not None:
        os.environ["QRPAY_CONFIG"] = str(config.path)
    os.environ["QRPAY_DATABASE_URL"] = config.database_url
    store.dispose()
    if reuseport_available():
        return serve_reuseport(workers, common)
    uvicorn.run(APP_FACTORY, factory=True, workers=workers, **common)
    return 0


def share_metrics() -> None:
    """Several workers write their request metrics to one directory that ``/metrics``
    (in any of them) adds up: prometheus-client's multiprocess mode."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        import tempfile

        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="qrpay-metrics-")


def check_serve_secrets(config: Config, options: ServeOptions) -> None:
    """Refuse to start when a secret an enabled route (or the sender) needs is missing."""
    from qrpay.web.app import desk_routes, sender_wanted
    from qrpay.web.startup import check_secrets

    sender = options.sender and sender_wanted(None)
    check_secrets(config, desk=bool(desk_routes()), sender=sender)


# ----------------------------------------------------- several workers, one socket each
#
# uvicorn's own multiprocess mode shares one listening socket, and whichever worker
# accepts first takes the connection: under keep-alive load one worker often ends up
# with nearly all of them.  With SO_REUSEPORT every worker listens on its own socket
# bound to the same address and Linux spreads new connections over them by hash.


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

    def stop_children(_signum: int = signal.SIGTERM, _frame: Any = None) -> None:
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
