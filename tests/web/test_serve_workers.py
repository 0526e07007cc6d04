"""``qrpay serve --workers N`` on Linux: one SO_REUSEPORT socket per worker, connections
spread over the workers, and a supervisor that never leaves workers behind."""

from __future__ import annotations

import os
import re
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from qrpay.store import open_store

from .conftest import ROOT

PROFILE = ROOT / "samples" / "best.toml"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_REUSEPORT balancing"),
]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    """The worker layout does not depend on the database: SQLite only keeps this lean."""
    url = f"sqlite:///{tmp_path / 'workers.db'}"
    open_store(url, upgrade=True).dispose()
    yield url


def children_of(ppid: int) -> set[int]:
    out = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == ppid and fields[0] != "Z":
            out.add(int(entry.name))
    return out


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def socket_inodes(pid: int) -> set[int]:
    out = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            m = re.fullmatch(r"socket:\[(\d+)\]", os.readlink(fd))
        except OSError:
            continue
        if m:
            out.add(int(m.group(1)))
    return out


def tcp_sockets(port: int) -> list[tuple[str, int, int]]:
    """(state, remote port, inode) of loopback IPv4 sockets whose local port is ``port``."""
    rows = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        f = line.split()
        local_port = int(f[1].split(":")[1], 16)
        if local_port == port:
            rows.append((f[3], int(f[2].split(":")[1], 16), int(f[9])))
    return rows


LISTEN, ESTABLISHED = "0A", "01"


def wait_for(check: Callable[[], bool], seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def open_connections(port: int, n: int) -> list[socket.socket]:
    """``n`` keep-alive connections, each answered once (so a worker has accepted it)."""
    conns = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        assert b" 200 " in s.recv(1000)
        conns.append(s)
    return conns


def test_two_workers_each_listen_on_their_own_socket_and_both_get_connections(
        sqlite_url: str, serve: Callable[..., Any]) -> None:
    server = serve(PROFILE, sqlite_url, workers=2, extra_env={"QRPAY_SERVE_SENDER": "0"})
    assert wait_for(lambda: len(children_of(server.proc.pid)) == 2)
    workers = children_of(server.proc.pid)
    conns = open_connections(server.port, 16)
    try:
        rows = tcp_sockets(server.port)
        listening = {inode for state, _, inode in rows if state == LISTEN}
        accepted = {inode for state, _, inode in rows if state == ESTABLISHED}
        per_worker = {pid: socket_inodes(pid) for pid in workers}
        assert not socket_inodes(server.proc.pid) & listening  # the supervisor accepts none
        assert len(listening) == 2
        assert all(len(inodes & listening) == 1 for inodes in per_worker.values())
        served = Counter(pid for pid, inodes in per_worker.items()
                         for inode in inodes & accepted)
        assert sum(served.values()) == 16
        assert set(served) == workers  # every worker got some of the connections
    finally:
        for c in conns:
            c.close()


def test_kill_9_of_the_supervisor_takes_the_workers_down(
        sqlite_url: str, serve: Callable[..., Any]) -> None:
    server = serve(PROFILE, sqlite_url, workers=2, extra_env={"QRPAY_SERVE_SENDER": "0"})
    assert wait_for(lambda: len(children_of(server.proc.pid)) == 2)
    workers = children_of(server.proc.pid)
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(timeout=10)
    assert wait_for(lambda: not any(alive(pid) for pid in workers))
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()


def test_a_worker_dying_stops_the_server_with_a_failure_status(
        sqlite_url: str, serve: Callable[..., Any]) -> None:
    server = serve(PROFILE, sqlite_url, workers=2, extra_env={"QRPAY_SERVE_SENDER": "0"})
    assert wait_for(lambda: len(children_of(server.proc.pid)) == 2)
    one, other = sorted(children_of(server.proc.pid))
    os.kill(one, signal.SIGKILL)
    assert server.proc.wait(timeout=20) != 0
    assert wait_for(lambda: not alive(other))


def test_sigterm_stops_every_worker_and_exits_cleanly(
        sqlite_url: str, serve: Callable[..., Any]) -> None:
    server = serve(PROFILE, sqlite_url, workers=2, extra_env={"QRPAY_SERVE_SENDER": "0"})
    assert wait_for(lambda: len(children_of(server.proc.pid)) == 2)
    workers = children_of(server.proc.pid)
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=20) == 0
    assert not any(alive(pid) for pid in workers)
