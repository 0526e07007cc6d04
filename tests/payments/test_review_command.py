"""``qrpay payments held|release|refuse``."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from qrpay.cli import main
from qrpay.config import Config
from qrpay.payments.posting import PaymentIn, post_payment
from qrpay.store import Store
from qrpay.store.schema import payments
from tests.conftest import SAMPLES

from .conftest import add_bill

CONFIG = str(SAMPLES / "best.toml")


def test_review_held_payments_from_the_command_line(
        db_url: str, store: Store, best_config: Config, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("QRPAY_DATABASE_URL", db_url)
    add_bill(store)
    with store.begin() as conn:
        for txn in ("H1", "H2"):
            res = post_payment(conn, best_config, PaymentIn(
                channel="upi", txn_id=txn, bill_no="B2405100000001", amount=999900,
                currency="INR"))
            assert res.result == "held"
    assert main(["--config", CONFIG, "payments", "held"]) == 0
    listing = capsys.readouterr().out
    assert "H1" in listing and "H2" in listing and "2 held" in listing
    with store.connect() as conn:
        ids = dict(conn.execute(select(payments.c.txn_id, payments.c.id)).all())
    assert main(["--config", CONFIG, "payments", "release", str(ids["H1"])]) == 0
    assert "posted: receipt BEST-000000001" in capsys.readouterr().out
    assert main(["--config", CONFIG, "payments", "refuse", str(ids["H2"]), "--reason",
                 "paid twice"]) == 0
    assert main(["--config", CONFIG, "payments", "release", str(ids["H2"])]) != 0
    assert "error[not_held]" in capsys.readouterr().err
    assert main(["--config", CONFIG, "payments", "held"]) == 0
    assert "0 held" in capsys.readouterr().out
