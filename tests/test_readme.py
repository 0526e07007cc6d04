"""Every command in the README runs as written against the demo (issue 10 item 22).

The ``sh`` code blocks of README.md are run in order, each in its own ``bash -e``, in a
folder that looks like a checkout after ``make demo``: ``samples/`` and ``.venv/`` of this
repository, the demo's secrets in ``~/.config/qrpay/demo.env`` (``HOME`` is a temporary
folder, and exported as the README's "Commands" section says, with the virtual environment
active), the sample bills imported and the cycle rendered as ``make demo-data`` does, and
BEST's site served.  The one liberty taken: the demo's port 8000 is replaced by a free
port (engineers share the machine).  Blocks of ``make`` targets are not run (this test is
what they do).  Synopses with ``[--options]`` belong in ``text`` blocks, not ``sh``.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.executable).parent.parent  # the environment running the tests (.venv)
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)


def sh_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [b for b in BLOCK.findall(text)
            if not all(line.startswith(("make ", "#")) or not line.strip()
                       for line in b.splitlines())]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _secrets_file(home: Path) -> Path:
    path = home / ".config" / "qrpay" / "demo.env"
    path.parent.mkdir(parents=True)
    lines = [f"QRPAY_TOKEN_KEY_K1={secrets.token_hex(32)}",
             f"QRPAY_SESSION_KEY={secrets.token_hex(32)}"]
    lines += [f"QRPAY_SECRET_{ch}={secrets.token_hex(24)}"
              for ch in ("UPI", "RAZORPAY", "PHONEPE", "BKASH", "ROCKET", "NAGAD")]
    lines += [f"{name}={secrets.token_hex(16)}"  # what make demo adds (DEMO_LATER_SECRETS)
              for name in ("QRPAY_CHANNEL_PASSWORD_BKASH", "QRPAY_WHATSAPP_APP_SECRET",
                           "QRPAY_WHATSAPP_VERIFY_TOKEN", "QRPAY_WHATSAPP_TOKEN",
                           "QRPAY_BDAPPS_PASSWORD")]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str], int]]:
    """A checkout after ``make demo-data``, with ``make demo``'s server running."""
    work = tmp_path_factory.mktemp("checkout")
    home = tmp_path_factory.mktemp("home")
    (work / "samples").symlink_to(ROOT / "samples")
    (work / ".venv").symlink_to(VENV)
    secrets_file = _secrets_file(home)
    env = {k: v for k, v in os.environ.items() if not k.startswith("QRPAY_")}
    # as the README's "Commands" section says: the venv active, the demo's secrets exported
    env.update(HOME=str(home), PATH=f"{VENV / 'bin'}:{env.get('PATH', '')}",
               QRPAY_DATABASE_URL=f"sqlite:///{work / 'demo.db'}",
               QRPAY_SECRETS_FILE=str(secrets_file))
    run_env = env
    qrpay = str(VENV / "bin" / "qrpay")
    for p in ("best", "breb"):  # what make demo-data does
        for args in (["bills", "import", f"samples/bills-{p}.csv", "--no-progress"],
                     ["render", "--period", "2026-11", "--out", f"out/{p}", "--books",
                      "--verify", "sample", "--resume", "--workers", "1"]):
            subprocess.run([qrpay, "--config", f"samples/{p}.toml", *args], cwd=work,
                           env=run_env, check=True, capture_output=True, timeout=300)
    for p, bill, lang in (("best", "B2611100000000", "hi"), ("breb", "2611104231245", "bn")):
        subprocess.run([qrpay, "--config", f"samples/{p}.toml", "render", "--bill", bill, "-o",
                        f"out/preview-{lang}.pdf", "--png"], cwd=work, env=run_env,
                       check=True, capture_output=True, timeout=300)
    port = _free_port()
    server = subprocess.Popen([qrpay, "--config", "samples/best.toml", "serve", "--host",
                               "127.0.0.1", "--port", str(port)], cwd=work, env=run_env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "demo did not start"
            time.sleep(0.2)
        yield work, env, port
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_readme_has_runnable_blocks() -> None:
    blocks = sh_blocks()
    assert len(blocks) >= 5
    assert not [b for b in blocks if re.search(r"\s\[--", b)], "synopses go in text blocks"


@pytest.mark.skipif(sys.platform != "linux", reason="the demo is for Debian/Ubuntu")
def test_every_sh_block_of_the_readme_runs_as_written(
        demo: tuple[Path, dict[str, str], int]) -> None:
    work, env, port = demo
    failures = []
    for block in sh_blocks():
        script = block.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=work,
                              env=env, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            failures.append(f"--- exit {done.returncode}:\n{block}\n{done.stderr[-800:]}")
    assert not failures, "\n".join(failures)
