import pytest

from qrpay.cli import main
from tests.conftest import SAMPLES


def test_db_upgrade_then_version(fresh_db_url, capsys, monkeypatch):
    monkeypatch.setenv("QRPAY_DATABASE_URL", fresh_db_url)
    cfg = ["--config", str(SAMPLES / "breb.toml")]
    assert main(cfg + ["db", "upgrade"]) == 0
    from qrpay.store import LATEST

    assert "applied migrations 1," in capsys.readouterr().out
    assert main(cfg + ["db", "upgrade"]) == 0
    assert "already at" in capsys.readouterr().out
    assert main(cfg + ["db", "version"]) == 0
    assert capsys.readouterr().out.startswith(f"{LATEST} ")


def test_missing_profile_is_an_error_with_code(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["bills", "show", "X"]) == 2
    assert capsys.readouterr().err.startswith("error[config_not_found]")


def test_no_command_prints_help(capsys):
    assert main([]) == 1
    assert "bills" in capsys.readouterr().out


def test_version_flag(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("qrpay ")
