"""``qrpay chat`` (the terminal simulator) and ``qrpay complaints``, in-process."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from qrpay.cli import main
from qrpay.importer import import_bills
from qrpay.store import Store

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parents[1] / "samples"


@pytest.fixture
def profile(db_url: str, store: Store, best_config: object, monkeypatch: pytest.MonkeyPatch
            ) -> list[str]:
    monkeypatch.setenv("QRPAY_DATABASE_URL", db_url)
    import_bills(store, best_config, HERE / "bills-best.csv")  # type: ignore[arg-type]
    return ["--config", str(SAMPLES / "best.toml")]


def _run(argv: list[str], stdin: str, capsys: pytest.CaptureFixture[str],
         monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    assert main(argv) == 0
    return capsys.readouterr().out


def test_simulator_pays_a_bill_on_whatsapp(profile: list[str], capsys, monkeypatch) -> None:
    out = _run(profile + ["chat", "--from", "919177777868", "--lang", "en"],
               "hi\n1\n1\n1\n100000000\n", capsys, monkeypatch)
    assert "> 100000000" in out and "Amount due now: ₹ 1,909.00" in out
    assert "[buttons]" in out


def test_simulator_on_ussd_and_complaints_commands(profile: list[str], capsys,
                                                    monkeypatch) -> None:
    out = _run(profile + ["chat", "--channel", "ussd", "--from", "919177777868"],
               "3\n1\nno light\n", capsys, monkeypatch)
    assert "END " in out and "000001" in out
    listed = _run(profile + ["complaints", "list", "--status", "open"], "", capsys, monkeypatch)
    assert "000001" in listed and "no_supply" in listed
    done = _run(profile + ["complaints", "resolve", "000001", "--by", "meera",
                           "--note", "fixed"], "", capsys, monkeypatch)
    assert "resolved" in done and "sms" in done  # the USSD caller is told by SMS
    shown = _run(profile + ["complaints", "show", "000001"], "", capsys, monkeypatch)
    assert "meera" in shown and "resolve" in shown
    assert main(profile + ["complaints", "resolve", "000001", "--by", "meera"]) == 2
    assert "already_resolved" in capsys.readouterr().err
