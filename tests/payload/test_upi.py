"""UPI intent URIs: the NPCI spec example, canonical building, strict parsing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qrpay.errors import PayloadError
from qrpay.payload import upi

# NPCI UPI Linking Specifications v1.6, section 2 sample (as reproduced in
# bgagan911/RandomDocs "UPI Deep Linking Implementation Samples").
SPEC_EXAMPLE = ("upi://pay?pa=nadeem@npci&pn=nadeem%20chinna&mc=0000&tid=cxnkjcnkjdfdvjndkjfvn"
                "&tr=4894398cndhcd23&tn=Pay%20to%20mystar%20store&am=10&mam=null&cu=INR"
                "&url=https://mystar.com/orderid=9298yw89e8973e87389e78923ue892")
# An acquirer's dynamic QR with parameters outside the spec (research note, section 1.1).
ACQUIRER = ("upi://pay?ver=01&mode=15&pa=rpy.qrtest123@icici&pn=Test%20Shop&tr=RZPtestqrv2"
            "&tn=PaymentToTestShop&cu=INR&mc=8931&qrMedium=04&am=1")


def test_spec_example_parses_field_by_field():
    p = upi.parse(SPEC_EXAMPLE)
    assert p.params == (
        ("pa", "nadeem@npci"), ("pn", "nadeem chinna"), ("mc", "0000"),
        ("tid", "cxnkjcnkjdfdvjndkjfvn"), ("tr", "4894398cndhcd23"),
        ("tn", "Pay to mystar store"), ("am", "10"), ("mam", "null"), ("cu", "INR"),
        ("url", "https://mystar.com/orderid=9298yw89e8973e87389e78923ue892"))
    assert p.amount == 1000 and p.min_amount is None
    assert [f.key for f in p.fields] == [k for k, _ in p.params]
    assert {f.key: f.name for f in p.fields}["pa"] == "Payee VPA"


def test_acquirer_parameters_pass_through_with_a_note():
    p = upi.parse(ACQUIRER)
    assert p.get("ver") == "01" and p.get("qrMedium") == "04" and p.amount == 100
    notes = {f.key: f.note for f in p.fields}
    assert "passed through" in notes["qrMedium"]
    assert notes["mode"] == "dynamic QR (offline)"


def test_build_encodes_spaces_as_percent20_and_keeps_the_vpa_at_sign():
    text = upi.build({"pa": "best.electricity@sbi", "pn": "BEST Undertaking", "mc": "4900",
                      "tr": "B2611100000000", "tn": "Bill 11/2026 + arrears",
                      "am": "1909.00", "cu": "INR",
                      "url": "https://pay.example/b/B2611100000000?t=k1.AbCdEfGhIjKl"})
    assert text == ("upi://pay?pa=best.electricity@sbi&pn=BEST%20Undertaking&mc=4900"
                    "&tr=B2611100000000&tn=Bill%2011%2F2026%20%2B%20arrears&am=1909.00"
                    "&cu=INR&url=https://pay.example/b/B2611100000000%3Ft%3Dk1.AbCdEfGhIjKl")
    assert "+" not in text and "%40" not in text


@pytest.mark.parametrize("params, code", [
    ({"pn": "X"}, "missing_pa"),
    ({"pa": "x@y"}, "missing_pn"),
    ({"pa": "not a vpa", "pn": "X"}, "bad_vpa"),
    ({"pa": "x@y", "pn": "X", "am": "10"}, "bad_amount"),
    ({"pa": "x@y", "pn": "X", "am": "10.5"}, "bad_amount"),
    ({"pa": "x@y", "pn": "X", "am": "1,000.00"}, "bad_amount"),
    ({"pa": "x@y", "pn": "X", "tr": "abc"}, "bad_tr"),
    ({"pa": "x@y", "pn": "X", "tr": "bill/12"}, "bad_tr"),
    ({"pa": "x@y", "pn": "X", "tr": "A" * 36}, "bad_tr"),
    ({"pa": "x@y", "pn": "X", "tn": "n" * 51}, "bad_tn"),
    ({"pa": "x@y", "pn": "X", "cu": "USD"}, "bad_currency"),
    ({"pa": "x@y", "pn": "X", "mc": "49"}, "bad_mc"),
    ({"pa": "x@y", "pn": "X", "url": "ftp://x"}, "bad_url"),
    ({"pa": "x@y", "pn": "X", "bad key": "1"}, "bad_param"),
])
def test_build_rejects_with_a_code(params, code):
    with pytest.raises(PayloadError) as err:
        upi.build(params)
    assert err.value.code == code


@pytest.mark.parametrize("text, code", [
    ("https://example.com", "not_upi"),
    ("upi://pay?pn=X", "missing_pa"),
    ("upi://pay?pa=x@y&pn=X&pa=z@y", "duplicate_parameter"),
    ("upi://pay?pa=x@y&pn=X&PA=z@y", "duplicate_parameter"),
    ("upi://pay?pa=x@y&pn=X&Pn=Y", "duplicate_parameter"),
    ("upi://pay?pa=x@y&pn=X&am=ten", "bad_amount"),
    ("upi://pay?pa=x@y&pn=X&am=1.234", "bad_amount"),
    ("upi://pay?pa=x@y&pn=X&cu=BDT", "bad_currency"),
    ("upi://pay?pa=x@y&pn=X%ZZ", "bad_encoding"),
    ("upi://pay?pa=x@y&pn=%FF", "bad_encoding"),
    ("upi://pay?pa=x@y&pn", "bad_param"),
    ("upi://pay?pa=x@y&pn=X&mode=1", "bad_mode"),
    ("upi://pay?pa=x@y&pn=X#frag", "bad_query"),
])
def test_parse_rejects_with_a_code(text, code):
    with pytest.raises(PayloadError) as err:
        upi.parse(text)
    assert err.value.code == code


def test_parse_accepts_upper_case_scheme_and_a_stray_ampersand():
    p = upi.parse("UPI://PAY?pa=x@y&pn=Shop&am=5.5&")
    assert p.vpa == "x@y" and p.amount == 550


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1,
                max_size=30).filter(lambda s: s.strip() != "")
_valid = st.fixed_dictionaries({
    "pa": st.from_regex(r"[a-z0-9._-]{1,20}@[a-z]{2,10}", fullmatch=True),
    "pn": _text,
}, optional={
    "mc": st.from_regex(r"[0-9]{4}", fullmatch=True),
    "tr": st.from_regex(r"[A-Za-z0-9_-]{4,35}", fullmatch=True),
    "tn": _text,
    "am": st.integers(0, 10**9).map(upi.minor_to_amount),
    "cu": st.just("INR"),
    "url": st.from_regex(r"https://[a-z]{1,10}\.example/b/[A-Z0-9]{4,14}\?t=k1\.[A-Za-z0-9_-]{12}",
                         fullmatch=True),
    "qrMedium": st.from_regex(r"[0-9]{2}", fullmatch=True),
})


@settings(max_examples=80, deadline=None)
@given(_valid)
def test_build_then_parse_is_the_identity(params):
    text = upi.build(params)
    assert dict(upi.parse(text).params) == params
    assert upi.build(dict(upi.parse(text).params)) == text


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(max_size=80), st.text(max_size=80).map(lambda s: "upi://pay?" + s)))
def test_parse_raises_only_payload_error_on_arbitrary_text(text):
    try:
        upi.parse(text)
    except PayloadError as exc:
        assert exc.code
