"""The flow files: validated at start-up with errors naming file, node and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qrpay.chat import actions
from qrpay.chat.flows import ACTION_OUTCOMES, FlowError, chat_root, load_flows
from qrpay.chat.service import check_screens
from qrpay.config import Config


@pytest.fixture
def root(tmp_path: Path) -> Path:
    dest = tmp_path / "chat"
    shutil.copytree(chat_root(), dest)
    return dest


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_shipped_flows_load_in_every_language() -> None:
    flows = load_flows(None, ("en", "hi", "bn", "mr"))
    assert "main" in flows.nodes and flows.version == 1


def test_shipped_flows_fit_every_channel(best_config: Config, breb_config: Config) -> None:
    flows = load_flows(None, ("en", "hi", "bn", "mr"))
    check_screens(flows, best_config)
    check_screens(flows, breb_config)


def test_actions_match_the_contract() -> None:
    assert set(actions.ACTIONS) == set(ACTION_OUTCOMES)


def test_unknown_next_names_file_node_and_field(root: Path) -> None:
    _edit(root / "flows" / "pay_bill.toml", 'next = "pay_area" }', 'next = "pay_areaa" }')
    with pytest.raises(FlowError) as err:
        load_flows(root, ("en",))
    assert err.value.code == "unknown_node"
    assert "flows/pay_bill.toml" in str(err.value) and "'pay_how'" in str(err.value)
    assert "options[0].next" in str(err.value)


def test_bad_schema_version(root: Path) -> None:
    _edit(root / "flows" / "main.toml", "schema_version = 1", "schema_version = 2")
    with pytest.raises(FlowError) as err:
        load_flows(root, ("en",))
    assert err.value.code == "bad_schema_version" and "flows/main.toml" in str(err.value)


def test_missing_text_in_a_listed_language(root: Path) -> None:
    _edit(root / "text" / "bn.toml", 'past = "আগের বিল"\n', "")
    load_flows(root, ("en", "hi"))  # Bengali not asked for: fine
    with pytest.raises(FlowError) as err:
        load_flows(root, ("en", "bn"))
    assert err.value.code == "missing_text"
    assert "main.past" in str(err.value) and "text/bn.toml" in str(err.value)


def test_missing_language_file(root: Path) -> None:
    (root / "text" / "mr.toml").unlink()
    with pytest.raises(FlowError) as err:
        load_flows(root, ("mr",))
    assert err.value.code == "missing_language"


def test_unknown_placeholder(root: Path) -> None:
    _edit(root / "text" / "en.toml", "Welcome to {biller_name}", "Welcome to {billername}")
    with pytest.raises(FlowError) as err:
        load_flows(root, ("en",))
    assert err.value.code == "unknown_placeholder" and "{billername}" in str(err.value)


def test_outcome_without_a_target(root: Path) -> None:
    _edit(root / "flows" / "pay_bill.toml",
          'next = { found = "bill", paid = "bill_paid", not_found = "pay_not_found" }',
          'next = { found = "bill", paid = "bill_paid" }')
    with pytest.raises(FlowError) as err:
        load_flows(root, ("en",))
    assert err.value.code == "missing_outcome" and "'pay_consumer'" in str(err.value)


def test_unknown_field(root: Path) -> None:
    _edit(root / "flows" / "main.toml", 'type = "say"\ntext = "help.text"',
          'type = "say"\ntext = "help.text"\ncolour = "red"')
    with pytest.raises(FlowError) as err:
        load_flows(root, ("en",))
    assert "colour" in str(err.value) and "'help'" in str(err.value)


def test_button_title_too_long_for_whatsapp(root: Path, best_config: Config) -> None:
    _edit(root / "text" / "en.toml", 'pay = "Pay"\n', 'pay = "Pay this bill right now please"\n')
    flows = load_flows(root, ("en", "hi"))
    with pytest.raises(FlowError) as err:
        check_screens(flows, best_config)
    assert err.value.code == "screen_too_long" and "'bill'" in str(err.value)
    assert "whatsapp" in str(err.value)


def test_ussd_screen_too_long(root: Path, best_config: Config) -> None:
    _edit(root / "text" / "en.toml", 'text = "Helpline: {helpline}.',
          'text = "' + "Call us. " * 200 + 'Helpline: {helpline}.')
    flows = load_flows(root, ("en", "hi"))
    with pytest.raises(FlowError) as err:
        check_screens(flows, best_config)
    assert err.value.code == "screen_too_long"
    assert "'help'" in str(err.value) and "ussd" in str(err.value)
