"""The channel simulator walks query -> pay -> status against a real server, as the
wallet would; `qrpay channel simulate bkash ...` in-process, the other dialects' walks
directly."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from qrpay.cli import main
from qrpay.commands.channel import WALKS, Walk
from qrpay.store import Store
from qrpay.store.schema import payments
from tests.biller.conftest import PASSWORDS, add, bd_bill
from tests.conftest import SAMPLES


def test_simulate_bkash_walks_query_pay_search(live: str, store: Store,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    add(store, bd_bill("104231245"))
    code = main(["--config", str(SAMPLES / "breb.toml"), "channel", "simulate", "bkash",
                 "--account", "104231245", "--url", live])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "queryBill" in out and "payBill" in out and "searchTransaction" in out
    assert "walk complete" in out
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(payments)).scalar() == 1


def test_simulate_unknown_account_stops(live: str, store: Store,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", str(SAMPLES / "breb.toml"), "channel", "simulate", "bkash",
                 "--account", "999999999", "--url", live])
    assert code == 1
    assert "walk stopped" in capsys.readouterr().out


@pytest.mark.parametrize("channel", ["rocket", "gsma", "bbps"])
def test_other_dialects_walk(live: str, store: Store, channel: str,
                             capsys: pytest.CaptureFixture[str]) -> None:
    add(store, bd_bill("104231245"))
    password = PASSWORDS[f"QRPAY_CHANNEL_PASSWORD_{channel.upper()}"]
    with httpx.Client(timeout=30) as client:
        walk = Walk(client, f"{live}/api/v1/biller/{channel}", None, channel, password)
        assert WALKS[channel](walk, "104231245", None, "SIMTXN1" + channel)
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(payments)).scalar() == 1
