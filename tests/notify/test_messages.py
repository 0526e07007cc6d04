from __future__ import annotations

import pytest

from qrpay.config import Config
from qrpay.errors import RenderError
from qrpay.notify.messages import dlt_variables, payment_context, render_sms
from qrpay.notify.outbox import normalise_msisdn


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_best_receipt_matches_its_dlt_template(best_config: Config, lang: str) -> None:
    biller = best_config.biller("best")
    ctx = payment_context(biller, lang, amount=123450, bill_no="B2405100000001",
                          receipt_no="BEST-000000001")
    sms = render_sms(biller, "payment_received", lang, ctx)
    assert sms.template_id and sms.template_id.startswith("1107")
    assert "BEST-000000001" in sms.variables
    assert sms.encoding == ("GSM-7" if lang == "en" else "UCS-2")


def test_english_receipt_is_one_gsm7_part(best_config: Config) -> None:
    biller = best_config.biller("best")
    ctx = payment_context(biller, "en", amount=22756375000, bill_no="B2405100000001",
                          receipt_no="BEST-000000001")
    sms = render_sms(biller, "payment_received", "en", ctx)
    assert "Rs. 22,75,63,750.00" in sms.body
    assert (sms.encoding, sms.segments) == ("GSM-7", 1)


def test_bengali_receipt_uses_bengali_digits(breb_config: Config) -> None:
    biller = breb_config.biller("dhaka-pbs-1")
    ctx = payment_context(biller, "bn", amount=123450, bill_no="2405104231245",
                          receipt_no="DHAKA-PBS-1-000000001")
    sms = render_sms(biller, "payment_received", "bn", ctx)
    assert "৳ ১,২৩৪.৫০" in sms.body
    assert (sms.encoding, sms.template_id) == ("UCS-2", None)


def test_variable_over_30_characters_breaks_dlt(best_config: Config) -> None:
    biller = best_config.biller("best")
    ctx = payment_context(biller, "en", amount=100, bill_no="B" * 31, receipt_no="R")
    with pytest.raises(RenderError) as exc:
        render_sms(biller, "payment_received", "en", ctx)
    assert exc.value.code == "dlt_mismatch"


def test_edited_static_text_does_not_match_dlt() -> None:
    pattern = "Payment of {#var#} received."
    assert dlt_variables(pattern, "Payment of Rs. 5 received.") == ("Rs. 5",)
    assert dlt_variables(pattern, "Payment of Rs. 5 received!") is None
    assert dlt_variables(pattern, "Payment  of Rs. 5 received.") is None


@pytest.mark.parametrize(("mobile", "country", "msisdn"), [
    ("98123 45678", "IN", "919812345678"),
    ("+91-9812345678", "IN", "919812345678"),
    ("०९८१२३४५६७८", "IN", "919812345678"),
    ("01712-345678", "BD", "8801712345678"),
    ("০১৭১২৩৪৫৬৭৮", "BD", "8801712345678"),
    ("+8801712345678", "BD", "8801712345678"),
    ("12345", "IN", None),
    ("02-9123456", "BD", None),
])
def test_mobile_numbers_are_normalised(mobile: str, country: str, msisdn: str | None) -> None:
    assert normalise_msisdn(mobile, country) == msisdn
