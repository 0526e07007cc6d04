"""A throwaway PostgreSQL cluster of our own (``initdb`` into a temporary folder, on a
port of its own), so that a test can restart it without touching the shared server on
5432 that every other test uses.

The binaries are found in ``/usr/lib/postgresql/*/bin`` (or ``$PATH``).  PostgreSQL
refuses to run as root; as root the cluster is made and run as the ``postgres`` user
(``runuser``).  :func:`unavailable` says why a cluster cannot be made here (the test
then skips with that reason).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg


def bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _run_as() -> list[str]:
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


def unavailable() -> str | None:
    """Why no cluster can be made here, or None."""
    if bindir() is None:
        return "no initdb (install the PostgreSQL server binaries)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run initdb as"
        if not shutil.which("runuser"):
            return "running as root without runuser"
    return None


@dataclass
class Cluster:
    port: int
    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        ctl = str((bindir() or Path()) / "pg_ctl")
        subprocess.run([*_run_as(), ctl, "-D", str(self.data), "-l",
                        str(self.root / "server.log"), "-w", "-t", "60", *args],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self) -> None:
        self._ctl("start", "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1")
        self.wait_ready()

    def stop(self, mode: str = "fast") -> None:
        self._ctl("stop", "-m", mode)

    def restart(self, mode: str = "fast") -> None:
        """``pg_ctl restart -m fast`` (clients disconnected, open transactions rolled
        back) or ``-m immediate`` (killed, recovered from the WAL: as after a crash)."""
        self.stop(mode)
        self.start()

    def wait_ready(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while True:
            try:
                psycopg.connect(self.url.replace("+psycopg", ""), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def log(self) -> str:
        try:
            return (self.root / "server.log").read_text(errors="replace")
        except OSError:
            return ""


def make(port: int) -> Cluster:
    """initdb and start a cluster on ``port`` (trust auth on loopback only)."""
    root = Path(tempfile.mkdtemp(prefix="qrpay-chaos-pg-"))
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(root, pw.pw_uid, pw.pw_gid)
    initdb = str((bindir() or Path()) / "initdb")
    subprocess.run([*_run_as(), initdb, "-D", str(root / "data"), "-U", "postgres",
                    "--auth=trust", "-E", "UTF8", "--no-instructions"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    with open(root / "data" / "postgresql.conf", "a") as conf:
        # a throwaway: no fsync (the OS does not crash in the test, only PostgreSQL)
        conf.write("\nfsync = off\nfull_page_writes = off\nmax_connections = 200\n")
    cluster = Cluster(port, root)
    cluster.start()
    return cluster


def destroy(cluster: Cluster) -> None:
    try:
        cluster.stop("immediate")
    except subprocess.CalledProcessError:
        pass
    shutil.rmtree(cluster.root, ignore_errors=True)
