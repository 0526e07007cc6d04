"""The importer's fast path accepts a row only when the full checks give the same bill.

Generated rows (with the sample generator's awkward forms: native digits, grouping, +91,
credits) and mutated copies of them go through both; the fast path may decline a row
(None), but a bill it returns must equal what ``parse_row_errors`` returns."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from qrpay import importer, samplegen
from qrpay.config import load_config

ROOT = Path(__file__).resolve().parent.parent
ODD = ["", " ", "0", "-1", "1,234.50", "1234.5", "1234.567", "१२३४.००", "১২৩৪", "12 34",
       "abc", "²", "1;2", ";", "x=1.00", "energy=1.00;energy=2.00", "2026-13",
       "2026-02-30", "99999999999.99", "+919812345678", "09812345678", "5812345678",
       "01712345678", "8801712345678", "a" * 70, "LT I", "domestic", "URBAN", "hi", "2.5",
       "0", "3816", "3365", "  padded  ", "B2611100000001", "bad bill no!",
       "dhaka-pbs-1", "khulna-pbs", "nobody"]


def _pairs(profile: str, n: int) -> list[dict[str, str]]:
    billers = ("dhaka-pbs-1", "khulna-pbs") if profile == "breb" else ()
    return [{k: str(v) for k, v in row.items()}
            for row in samplegen.rows(profile, n, billers=billers)]


@pytest.mark.parametrize("profile", ["best", "breb"])
def test_fast_path_equals_full_checks(profile: str) -> None:
    config = load_config(ROOT / "samples" / f"{profile}.toml")
    fast = importer.FastParser(config)
    rng = random.Random(14)
    accepted = 0
    for raw in _pairs(profile, 400):
        cases = [raw]
        for _ in range(6):
            bent = dict(raw)
            bent[rng.choice(importer.COLUMNS)] = rng.choice(ODD)
            cases.append(bent)
        for case in cases:
            got = fast(case)
            full, errors = importer.parse_row_errors(case, config)
            if got is not None:
                accepted += 1
                assert not errors, (case, errors)
                assert got == full, case
    assert accepted > 400  # the fast path takes the ordinary rows


def test_fast_path_declines_non_text() -> None:
    config = load_config(ROOT / "samples" / "best.toml")
    raw = _pairs("best", 1)[0]
    assert importer.FastParser(config)(raw) is not None
    assert importer.FastParser(config)(dict(raw, units=286)) is None
