"""``qrpay bills show`` and ``qrpay bills list --account|--mobile|--meter`` find bills the
way the desk does: by bill, account, meter or mobile number, in any digits."""

from __future__ import annotations

import json

import pytest

from qrpay.cli import main
from qrpay.config import Config
from tests.conftest import SAMPLES

BREB = ["--config", str(SAMPLES / "breb.toml")]


@pytest.fixture
def imported(breb_config: Config, capsys: pytest.CaptureFixture[str],
             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QRPAY_DATABASE_URL", breb_config.database_url)
    assert main(BREB + ["bills", "import", str(SAMPLES / "bills-breb.csv"),
                        "--no-progress"]) == 0
    capsys.readouterr()


def test_show_by_account_in_bengali_digits(imported: None,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(BREB + ["bills", "show", "১০৪২৩১২৪৫", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["account_no"] == "104231245" and shown["name"] == "রহিমা মিয়া"


def test_show_by_meter_and_list_by_mobile(imported: None,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(BREB + ["bills", "show", "040359823754"]) == 0
    assert "104231245" in capsys.readouterr().out
    assert main(BREB + ["bills", "list", "--mobile", "০১৭১৭-৭৮৪৪৮৩"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["bill_no", "period", "due_date"]
    assert any("104231245" in line and "unpaid" in line for line in out[1:])


def test_unknown_number_is_not_found(imported: None,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(BREB + ["bills", "list", "--account", "999999999"]) == 2
    assert capsys.readouterr().err.startswith("error[unknown_bill]")
