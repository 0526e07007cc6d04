"""``make chaos`` runs these scripts at full length: the ten-minute outage, a bigger
burst, both kinds of PostgreSQL restart."""

from __future__ import annotations

import subprocess

from tests.conftest import ROOT


def test_make_chaos_runs_the_chaos_tests_at_full_length() -> None:
    done = subprocess.run(["make", "-n", "chaos"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "CHAOS_OUTAGE=600" in done.stdout and "tests/chaos" in done.stdout
    assert "CHAOS_PG_MODES=immediate,fast" in done.stdout
