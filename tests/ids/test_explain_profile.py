"""``qrpay explain`` with a profile reads numbers as that deployment numbers them
(issue 10 item 7): BEST's consumer and bill numbers, the co-operatives' names, WZPDCL's
office names only for WZPDCL, Bengali month names, the danda as a tracking bar."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qrpay import ids
from qrpay.cli import main
from qrpay.config import Numbering
from qrpay.errors import ValidationError

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    code = main([*argv, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    result: dict[str, object] = json.loads(out)
    return result


def test_best_consumer_number_is_bests_not_a_khulna_account(
        capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json(capsys, "--config", str(SAMPLES / "best.toml"), "explain", "100000000")
    assert result["scheme"] == "in_consumer"
    assert result["billers"] == [{"code": "best", "name": "BEST Undertaking",
                                  "name_local": "बेस्ट उपक्रम"}]


def test_best_bill_number_with_its_prefix_is_decoded(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json(capsys, "--config", str(SAMPLES / "best.toml"), "explain",
                      "b 2611 100000000")
    assert result["scheme"] == "in_bill"
    assert result["number"] == "B2611100000000"
    assert result["period"] == "2026-11"


def test_pbs_account_gets_no_wzpdcl_office_names_and_names_the_cooperative(
        capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json(capsys, "--config", str(SAMPLES / "breb.toml"), "explain",
                      "--biller", "dhaka-pbs-1", "104231245")
    assert result["scheme"] == "bd_account"
    assert "WZPDCL" not in str(result["title"])
    assert not any(p.get("meaning") for p in result["parts"])  # type: ignore[attr-defined]
    assert result["billers"][0]["name"] == "Dhaka Palli Bidyut Samity-1"  # type: ignore[index]


def test_text_view_names_both_cooperatives_when_the_number_fits_both(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(SAMPLES / "breb.toml"), "explain", "2611104231245"]) == 0
    out = capsys.readouterr().out
    assert "Dhaka Palli Bidyut Samity-1" in out and "Khulna Palli Bidyut Samity" in out
    assert "Khulna circle" not in out and "Nirala" not in out


def test_wzpdcl_profile_keeps_the_office_names() -> None:
    wzpdcl = _Biller("wzpdcl", "WZPDCL", "ওজোপাডিকো", Numbering(scheme="bd", offices="wzpdcl"))
    result = ids.explain_for("104231245", [wzpdcl])
    assert result["parts"][2]["meaning"] == "Gallamari 33/11 kV substation"


def test_bill_month_has_its_bengali_name() -> None:
    month = ids.explain("2202104231245")["parts"][1]
    assert (month["meaning"], month["meaning_bn"]) == ("February", "ফেব্রুয়ারি")


def test_bengali_danda_is_read_as_the_tracking_bar() -> None:
    assert ids.get("bd_tracking").validate("৬ ৩০৫ ১৯১২০৪ ১২২৩৪৮ ৪০৪ । ১ । ২") \
        == "6305191204122348404|1|2"
    assert ids.guess("6305191204122348404।1") == ["bd_tracking"]


def test_a_number_the_profile_does_not_use_is_unknown_kind(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(SAMPLES / "best.toml"), "explain", "2611104231245"]) == 2
    assert "error[unknown_kind]" in capsys.readouterr().err


def test_in_bill_with_a_wrong_month_says_so() -> None:
    with pytest.raises(ValidationError) as info:
        ids.get("in_bill").validate("B2613100000000", length=9, bill_prefix="B")
    assert info.value.code == "invalid_component"


class _Biller:
    def __init__(self, code: str, name: str, name_local: str, numbering: Numbering) -> None:
        self.code, self.name, self.name_local, self.numbering = code, name, name_local, numbering
