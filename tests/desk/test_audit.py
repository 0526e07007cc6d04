"""The audit trail: append-only rows with who, when, where; `qrpay audit` prints them."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from qrpay.cli import main
from qrpay.desk import audit
from qrpay.errors import ValidationError
from qrpay.store import Store
from tests.conftest import SAMPLES

T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def test_rows_come_back_oldest_first_with_where_and_detail(store: Store) -> None:
    with store.begin() as conn:
        audit.record(conn, "asha", "login", audit.Where("best", "C1", "10.0.0.7"), at=T0)
        audit.record(conn, "asha", "collect", audit.Where("best", "C1", "10.0.0.7"),
                     detail={"receipt_no": "BEST-000000001", "amount": 123450},
                     at=T0 + dt.timedelta(minutes=1))
    with store.connect() as conn:
        rows = list(audit.entries(conn, since=T0))
    assert [r.action for r in rows] == ["login", "collect"]
    assert rows[1].detail["receipt_no"] == "BEST-000000001"
    assert (rows[1].biller, rows[1].counter, rows[1].remote) == ("best", "C1", "10.0.0.7")
    assert rows[0].at == T0


def test_unknown_action_is_refused(store: Store) -> None:
    with store.begin() as conn, pytest.raises(ValidationError) as err:
        audit.record(conn, "asha", "delete_everything")
    assert err.value.code == "bad_audit_action"


def test_audit_command_prints_rows_since_date(store: Store, db_url: str,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("QRPAY_DATABASE_URL", db_url)
    with store.begin() as conn:
        audit.record(conn, "old", "login", at=T0 - dt.timedelta(days=3))
        audit.record(conn, "asha", "scan", audit.Where("best", "C1"),
                     detail={"bill_no": "B2611100000001"}, at=T0)
    config = str(SAMPLES / "best.toml")
    assert main(["--config", config, "audit", "--since", "2026-11-22", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["actor"], r["action"], r["detail"]["bill_no"]) for r in rows] == [
        ("asha", "scan", "B2611100000001")]
    assert main(["--config", config, "audit", "--since", "2026-11-22"]) == 0
    assert "B2611100000001" in capsys.readouterr().out
    assert main(["--config", config, "audit", "--since", "yesterday"]) == 2
    assert "error[bad_date]" in capsys.readouterr().err


def test_audit_command_speaks_the_billers_time_and_checks_the_action(
        store: Store, db_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("QRPAY_DATABASE_URL", db_url)
    now = dt.datetime.now(dt.UTC)
    with store.begin() as conn:
        audit.record(conn, "asha", "collect", audit.Where("best", "C1"), at=now)
    config = str(SAMPLES / "best.toml")
    assert main(["--config", config, "audit"]) == 0  # default: since today
    out = capsys.readouterr().out
    assert "asha" in out and "+05:30" in out  # BEST's time zone, not UTC
    assert main(["--config", config, "audit", "--action", "bogus"]) == 2
    assert "error[unknown_action]" in capsys.readouterr().err
