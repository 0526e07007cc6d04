"""``qrpay explain`` in-process: text table, --json, --kind, options, and exit 2."""

from __future__ import annotations

import json

import pytest

from qrpay.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["explain", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_text_mode_prints_an_aligned_table_of_parts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "১০৪২৩১২৪৫")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("1 04 2 3 12 45  bd_account")
    header = next(line for line in lines if line.startswith("pos"))
    office = next(line for line in lines if line.startswith("2-3"))
    column = header.index("meaning")
    assert office[column:].startswith("Sales & Distribution Division-4, Khulna")
    assert "বিক্রয় ও বিতরণ বিভাগ-৪, খুলনা" in office


def test_bill_shows_period_and_the_accounts_own_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "2202104231245")
    assert code == 0
    assert "period: 2022-02" in out
    assert "account 1 04 2 3 12 45:" in out
    assert "Nirala feeder" in out


def test_words_are_joined_so_the_spaced_tracking_number_works(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "6", "305", "191204", "122348", "404", "|", "1", "|", "2")
    assert code == 0
    assert "demand charge" in out and "2019-12-04" in out


def test_json_mode_prints_the_explain_dict(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "০৫০৩৫০১৪৩১১৭", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["scheme"] == "bd_meter"
    assert data["parts"][1]["meaning_bn"] == "বাংলাদেশ স্মার্ট ইলেকট্রিক্যাল কোম্পানি (বিসেকো)"
    assert "বিসেকো" in out  # not \u-escaped


def test_kind_and_consumer_options_pick_in_consumer(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "901234567", "--kind", "in_consumer", "--length", "9",
                       "--prefix", "90", "--json")
    assert code == 0
    assert json.loads(out)["formatted"] == "90 1234 567"


@pytest.mark.parametrize(("argv", "code"), [
    (["2213104231245"], "invalid_component"),
    (["12345678a"], "invalid_character"),
    (["12345"], "unknown_kind"),
    (["123456789", "--length", "9"], "ambiguous_kind"),
    (["104231245", "--kind", "bd_meter"], "invalid_length"),
    (["123", "--kind", "in_consumer", "--length", "0"], "bad_value"),
])
def test_invalid_input_prints_error_code_and_exits_2(
        capsys: pytest.CaptureFixture[str], argv: list[str], code: str) -> None:
    exit_code, out, err = run(capsys, *argv)
    assert exit_code == 2
    assert out == ""
    assert err.startswith(f"error[{code}]: ")


def test_ambiguity_error_names_the_candidates(capsys: pytest.CaptureFixture[str]) -> None:
    _, _, err = run(capsys, "123456789", "--length", "9")
    assert "bd_account" in err and "in_consumer" in err
