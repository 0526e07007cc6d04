"""``qrpay db backup``: an online, consistent, atomically named copy of the SQLite store."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from qrpay.cli import main
from qrpay.errors import ConfigError
from qrpay.store import open_store
from qrpay.store.backup import backup_sqlite
from qrpay.store.schema import audit
from tests.conftest import SAMPLES


def _audit_row(i: int) -> dict[str, object]:
    from qrpay.clock import utcnow

    return {"at": utcnow(), "actor": "test", "action": "backup_test", "biller": "best",
            "detail": f"row {i}"}


def test_backup_copies_a_store_that_keeps_taking_writes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    store = open_store(url)
    row = _audit_row(0)
    with store.begin() as conn:
        conn.execute(audit.insert(), [_audit_row(i) for i in range(2000)])
    stop = threading.Event()

    def writer() -> None:  # the service keeps writing while the copy runs
        while not stop.is_set():
            with store.begin() as conn:
                conn.execute(audit.insert().values(**row))

    t = threading.Thread(target=writer)
    t.start()
    try:
        result = backup_sqlite(url, tmp_path / "copy.db")
    finally:
        stop.set()
        t.join()
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT count(*) FROM audit").fetchone()[0] >= 2000
    assert result.pages > 0 and result.bytes == (tmp_path / "copy.db").stat().st_size
    assert not (tmp_path / "copy.db.partial").exists()
    with store.connect() as conn:  # the live store is untouched and still open
        assert conn.execute(select(func.count()).select_from(audit)).scalar_one() >= 2000
    store.dispose()


def test_backup_command_prints_what_it_wrote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    open_store(url).dispose()
    monkeypatch.setenv("QRPAY_DATABASE_URL", url)
    assert main(["--config", str(SAMPLES / "best.toml"), "db", "backup",
                 str(tmp_path / "b" / "q-copy.db")]) == 0
    assert "integrity check ok" in capsys.readouterr().out
    assert open_store(f"sqlite:///{tmp_path / 'b' / 'q-copy.db'}", upgrade=False).version() > 0


def test_backup_refuses_postgresql_and_its_own_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as pg:
        backup_sqlite("postgresql+psycopg://postgres@127.0.0.1/test", tmp_path / "x.db")
    assert pg.value.code == "not_sqlite"
    url = f"sqlite:///{tmp_path / 'same.db'}"
    open_store(url).dispose()
    with pytest.raises(ConfigError) as same:
        backup_sqlite(url, tmp_path / "same.db")
    assert same.value.code == "bad_value"
    with pytest.raises(ConfigError) as missing:
        backup_sqlite(f"sqlite:///{tmp_path / 'nope.db'}", tmp_path / "x.db")
    assert missing.value.code == "not_found"
