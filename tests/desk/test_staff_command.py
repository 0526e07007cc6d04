"""`qrpay staff add|list|passwd|disable`: passwords from stdin, never argv."""

from __future__ import annotations

import io

import pytest

from qrpay.cli import main
from qrpay.desk import staff
from qrpay.store import Store
from tests.conftest import SAMPLES

CONFIG = str(SAMPLES / "best.toml")


@pytest.fixture(autouse=True)
def _db(db_url: str, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QRPAY_DATABASE_URL", db_url)


def run(monkeypatch: pytest.MonkeyPatch, argv: list[str], stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["--config", CONFIG, *argv])


def test_add_reads_password_from_stdin_and_login_works(
        monkeypatch: pytest.MonkeyPatch, store: Store,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert run(monkeypatch, ["staff", "add", "meera", "--role", "supervisor", "--biller",
                             "best", "--counter", "C2"], "s3cret-pass\n") == 0
    with store.begin() as conn:
        assert staff.attempt_login(conn, "meera", "s3cret-pass").staff.role == "supervisor"
    assert run(monkeypatch, ["staff", "list"]) == 0
    listing = capsys.readouterr().out
    assert "meera" in listing and "supervisor" in listing and "s3cret" not in listing


def test_password_option_on_the_command_line_does_not_exist(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit):
        run(monkeypatch, ["staff", "add", "meera", "--role", "cashier", "--biller", "best",
                          "--counter", "C1", "--password", "x"])


def test_unknown_biller_and_weak_password_fail_with_codes(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["staff", "add", "meera", "--role", "cashier", "--counter", "C1", "--biller"]
    assert run(monkeypatch, [*args, "kesco"], "s3cret-pass\n") == 2
    assert "error[unknown_biller]" in capsys.readouterr().err
    assert run(monkeypatch, [*args, "best"], "short\n") == 2
    assert "error[weak_password]" in capsys.readouterr().err


def test_passwd_and_disable_change_what_login_accepts(monkeypatch: pytest.MonkeyPatch,
                                                       store: Store) -> None:
    run(monkeypatch, ["staff", "add", "ravi", "--role", "cashier", "--biller", "best",
                      "--counter", "C1"], "first-pass-1\n")
    assert run(monkeypatch, ["staff", "passwd", "ravi"], "second-pass-2\n") == 0
    with store.begin() as conn:
        assert staff.attempt_login(conn, "ravi", "second-pass-2").ok
    assert run(monkeypatch, ["staff", "disable", "ravi"]) == 0
    with store.begin() as conn:
        assert staff.attempt_login(conn, "ravi", "second-pass-2").code == "disabled"
