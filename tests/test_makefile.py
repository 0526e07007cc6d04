"""``make`` (issue 10 item 22): the demo installs only what qrpay needs to run (no
Chromium), and an install stops at once when another package install holds the lock."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _dry_run(target: str) -> str:
    done = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "HOME": "/nonexistent-home"})
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_demo_does_not_install_chromium_but_make_test_does() -> None:
    demo = _dry_run("demo-data")
    assert "libzbar0" in demo and "chromium" not in demo and "poppler" not in demo
    assert "chromium" in _dry_run("test")


def test_a_held_package_lock_fails_at_once(tmp_path: Path) -> None:
    lock = tmp_path / "lock-frontend"
    lock.write_bytes(b"")
    env = {**os.environ, "QRPAY_APT_LOCKS": f"{tmp_path / 'absent'}:{lock}"}
    script = [sys.executable, str(ROOT / "tools" / "apt_lock_free.py")]
    assert subprocess.run(script, env=env, timeout=30).returncode == 0
    with lock.open("r+b") as fh:
        fcntl.lockf(fh, fcntl.LOCK_EX)  # as a running apt-get holds it
        started = time.monotonic()
        done = subprocess.run(script, env=env, capture_output=True, text=True, timeout=30)
        assert time.monotonic() - started < 10
    assert done.returncode == 1
    assert "another package install is running" in done.stderr and str(lock) in done.stderr
