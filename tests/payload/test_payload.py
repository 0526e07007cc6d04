"""Bill payloads in every format, and the offline verdict on scanned payloads."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qrpay.payload as payload_mod
from qrpay.config import load_config
from qrpay.errors import PayloadError
from qrpay.payload import (
    amount_payload,
    bill_payload,
    bill_url,
    emv,
    qr_amount,
    qr_token,
    qr_url,
    resolve,
    upi,
)
from tests.conftest import SAMPLES
from tests.payload.helpers import make_bill, with_part_payment
from tests.payload.test_emv import VECTORS


def _swap_token(text: str, token: str) -> str:
    p = upi.parse(text)
    return upi.build({k: (token if k == "tn" else v) for k, v in p.params})


def _printed_until_dec_2026(bill, biller, config, amount: int) -> str:
    """A bill's QR as qrpay printed it from the shortened QR URL until the token moved
    out of the URL (Dec 2026): ``HTTPS://HOST/B/{bill}/{TOKEN}`` in UPI ``url`` or EMV
    template 80, no ``tn``, no 62/05."""
    fmt = biller.qr_format
    url = qr_url(bill, biller, config, amount, qr_format=fmt)
    if fmt == "upi":
        return upi.build(payload_mod._upi_params(bill.bill_no, biller, amount, url=url))
    return emv.build(payload_mod._emv_objects(bill.bill_no, biller, fmt, amount, url=url))


def _edit_emv(text: str, tag: str, sub: str | None, value: str) -> str:
    objects = emv.parse(text).as_objects()
    out = []
    for t, v in objects:
        if t == tag and sub is None:
            v = value
        elif t == tag:
            v = [(s, value if s == sub else sv) for s, sv in v]
        out.append((t, v))
    return emv.build(out)


# ---------------------------------------------------------------------------- build

def test_upi_bill_payload_carries_payee_bill_amount_and_the_token_in_tn(best):
    config, biller, bill = best
    text = bill_payload(bill, biller, config)
    p = upi.parse(text)
    assert p.vpa == "bestelectricity@sbi" and p.get("mc") == "4900"
    assert p.reference == bill.bill_no and p.get("am") == "1234.50" and p.get("cu") == "INR"
    assert p.get("tn") == qr_token(bill, biller, config, 123450)
    assert re.fullmatch(r"K1\.[A-Z2-7]{16}", p.get("tn") or "")
    assert p.url is None and p.get("mam") is None  # no bill URL: 20 % larger modules
    assert [k for k, _ in p.params] == ["pa", "pn", "mc", "tr", "tn", "am", "cu"]
    assert text == ("upi://pay?pa=bestelectricity@sbi&pn=BEST%20Undertaking&mc=4900"
                    f"&tr=B2611100000000&tn={p.get('tn')}&am=1234.50&cu=INR")
    # the link (SMS, chat) is the same page and token key in the lower-case query form
    assert bill_url(bill, biller, config, 123450).startswith(
        "https://pay.bestundertaking.example/b/B2611100000000?t=k1.")


def test_a_bill_printed_with_the_old_tn_note_is_still_genuine(best):
    config, biller, bill = best
    link = bill_url(bill, biller, config, bill.amount)
    params = payload_mod._upi_params(bill.bill_no, biller, bill.amount, url=link)
    old = {k: v for k, v in params.items() if k != "am"}
    old.update(tn=f"Electricity bill {bill.bill_no}", am=params["am"])  # as printed before
    assert resolve(upi.build(old), config).verdict == "genuine"
    old["tn"] = f"Electricity bill {bill.bill_no}X"
    assert resolve(upi.build(old), config).verdict == "altered"


def test_bill_payloads_fit_version_7_upi_and_version_6_bangla_qr_at_level_m(best, breb):
    """zbar rejects a tilted symbol more often the higher its version (issue 10 item 21,
    docs/benchmarks.md): the token without the bill URL takes UPI from version 8 to 7 and
    Bangla QR from 8 to 6, still at level M.  Was 9 and 12, then 8 and 8."""
    from qrpay.qr import make_symbol

    for (config, biller, bill), version in ((best, 7), (breb, 6)):
        for amount in (100, 123450, 99_999_999):  # up to 9,99,999.99
            text = amount_payload(bill, biller, config, amount)
            symbol = make_symbol(text)
            assert text.isascii() and (symbol.version, symbol.error) == (version, "M")


def test_a_bill_printed_with_the_old_link_url_is_still_genuine(best, breb):
    """Bills printed before the QR URL was shortened carry the link form and the
    72-bit token (and, Bangla QR, template 64): they still resolve genuine."""
    for config, biller, bill in (best, breb):
        old_url = bill_url(bill, biller, config, bill.amount)
        fmt = biller.qr_format
        if fmt == "upi":
            old = upi.build(payload_mod._upi_params(bill.bill_no, biller, bill.amount,
                                                    url=old_url))
        else:
            old = emv.build(payload_mod._emv_objects(bill.bill_no, biller, fmt, bill.amount,
                                                     url=old_url, legacy=True))
            assert emv.parse(old).get("64", "01") == "ঢাকা পবিস-১"
        assert resolve(old, config).verdict == "genuine"
        if fmt != "upi":  # the new form without template 64 is not genuine with a link URL
            bare = emv.build(payload_mod._emv_objects(bill.bill_no, biller, fmt, bill.amount,
                                                      url=old_url))
            assert resolve(bare, config).verdict == "altered"


def test_a_bill_printed_with_the_token_in_its_qr_url_is_still_genuine(best, breb):
    """The QRs printed until the token left the URL (``/B/{bill}/{TOKEN}`` in UPI ``url``
    or EMV template 80) still resolve genuine; the same with the new token field added as
    well is altered (nothing added to what was printed)."""
    for config, biller, bill in (best, breb):
        old = _printed_until_dec_2026(bill, biller, config, bill.amount)
        assert "/B/" + bill.bill_no + "/K1." in old
        res = resolve(old, config)
        assert (res.verdict, res.biller, res.bill_no) == ("genuine", biller.code, bill.bill_no)
        token = qr_token(bill, biller, config, bill.amount)
        if biller.qr_format == "upi":
            both = upi.build({**dict(upi.parse(old).params), "tn": token})
        else:
            objects = [(t, [*v, ("05", token)] if t == "62" else v)
                       for t, v in emv.parse(old).as_objects()]
            both = emv.build(objects)
        res = resolve(both, config)
        assert res.verdict == "altered" and len(res.reasons) == 1, res.reasons
        assert res.reasons[0].split()[0] in ("tn", "62.05")


def test_part_payment_adds_a_minimum_amount_of_one_rupee(best):
    config, biller, bill = best
    p = upi.parse(bill_payload(bill, with_part_payment(biller), config))
    assert p.get("mam") == "1.00" and p.min_amount == 100


def test_bharat_qr_puts_vpa_in_26_tr_in_27_and_the_url_in_80(best):
    config, biller, bill = best
    text = bill_payload(bill, biller, config, qr_format="emv")
    p = emv.parse(text)
    assert p.get("26", "00") == "A000000524" and p.get("26", "01") == "bestelectricity@sbi"
    assert p.get("27", "01") == bill.bill_no and p.get("62", "01") == bill.bill_no
    assert (p.get("52"), p.get("53"), p.get("58"), p.get("01")) == ("4900", "356", "IN", "12")
    assert p.get("54") == "1234.50" and p.get("80", "00") == "org.qrpay"
    assert p.get("80", "01") == qr_url(bill, biller, config, 123450, qr_format="bharatqr")
    assert text.endswith("6304" + emv.crc16(text[:-4]))


def test_bangla_qr_uses_the_acquirer_template_and_no_template_64(breb):
    config, biller, bill = breb
    p = emv.parse(bill_payload(bill, biller, config))
    assert [(c.tag, c.value) for c in p.tlv("26").children] == [
        ("00", "com.bkash"), ("01", "02"), ("02", "2002"), ("03", "0000000000000012345")]
    assert (p.get("53"), p.get("58"), p.get("59"), p.get("60")) == ("050", "BD",
                                                                     "DHAKA PBS-1", "DHAKA")
    assert p.get("62", "01") == bill.bill_no
    assert p.get("62", "05") == qr_token(bill, biller, config, 123450)  # reference label
    assert p.tlv("64") is None  # optional in EMVCo MPM; its UTF-8 took two versions
    assert p.tlv("80") is None  # no bill URL: the token alone, version 6 instead of 8


def test_the_printed_qr_asks_the_by_due_date_amount_and_later_the_late_amount(best):
    config, biller, bill = best
    late_day = bill.due_date + dt.timedelta(days=1)
    assert upi.parse(bill_payload(bill, biller, config)).amount == bill.amount
    assert upi.parse(bill_payload(bill, biller, config, on=bill.due_date)).amount == 123450
    late = bill_payload(bill, biller, config, on=late_day)
    assert upi.parse(late).amount == bill.late_amount
    assert resolve(late, config).verdict == "genuine"


@pytest.mark.parametrize("amount", [0, -5000])
def test_zero_and_credit_bills_get_no_qr(best, amount):
    config, biller, _ = best
    bill = make_bill("B2611100000001", "best", amount=amount)
    assert qr_amount(bill) is None
    with pytest.raises(PayloadError) as err:
        bill_payload(bill, biller, config)
    assert err.value.code == "nothing_due"


def test_upi_format_for_a_bangladesh_biller_is_refused(breb):
    config, biller, bill = breb
    with pytest.raises(PayloadError) as err:
        bill_payload(bill, biller, config, qr_format="upi")
    assert err.value.code == "bad_format"


def test_amount_payload_for_a_part_paid_bill_is_genuine_at_that_amount(breb):
    config, biller, bill = breb
    text = amount_payload(bill, biller, config, 50000)
    assert emv.parse(text).amount == 50000
    assert resolve(text, config).verdict == "genuine"
    with pytest.raises(PayloadError) as err:
        amount_payload(bill, biller, config, 0)
    assert err.value.code == "nothing_due"


# ---------------------------------------------------------------------------- resolve

@pytest.mark.parametrize("fmt", [None, "emv"])
def test_our_own_payload_is_genuine(best, fmt):
    config, biller, bill = best
    res = resolve(bill_payload(bill, biller, config, qr_format=fmt), config)
    assert (res.verdict, res.biller, res.bill_no, res.amount) == ("genuine", "best",
                                                                  bill.bill_no, 123450)
    assert res.format == ("upi" if fmt is None else "emv") and res.fields


def test_a_bill_of_the_second_cooperative_on_a_shared_url_resolves_to_it(breb):
    config, _, _ = breb
    biller = config.biller("khulna-pbs")
    bill = make_bill("2611701410102", "khulna-pbs", amount=5000)
    res = resolve(bill_payload(bill, biller, config), config)
    assert (res.verdict, res.biller, res.amount) == ("genuine", "khulna-pbs", 5000)


def test_upi_amount_changed_is_altered(best):
    config, biller, bill = best
    text = bill_payload(bill, biller, config).replace("am=1234.50", "am=12.00")
    res = resolve(text, config)
    assert (res.verdict, res.biller, res.amount) == ("altered", "best", 1200)
    assert "token does not match" in res.reasons[0]


def test_upi_vpa_swapped_is_altered(best):
    config, biller, bill = best
    text = bill_payload(bill, biller, config).replace("bestelectricity@sbi", "fraudster@ybl")
    res = resolve(text, config)
    assert res.verdict == "altered" and res.reasons[0].startswith("payee changed")


def test_token_from_another_bill_is_altered(best):
    config, biller, bill = best
    other = make_bill("B2611100000002", "best", amount=123450)
    text = bill_payload(bill, biller, config)
    other_token = upi.parse(bill_payload(other, biller, config)).get("tn") or ""
    res = resolve(_swap_token(text, other_token), config)
    assert res.verdict == "altered" and res.bill_no == bill.bill_no
    assert "token does not match" in res.reasons[0]


def test_token_from_another_bill_in_an_old_qr_url_is_altered(best):
    config, biller, bill = best
    other = make_bill("B2611100000002", "best", amount=123450)
    text = _printed_until_dec_2026(bill, biller, config, 123450)
    other_url = upi.parse(_printed_until_dec_2026(other, biller, config, 123450)).url or ""
    p = upi.parse(text)
    swap = {k: (other_url if k == "url" else v) for k, v in p.params}
    assert resolve(upi.build(swap), config).verdict == "altered"  # bill reference differs
    forged = (p.url or "").rsplit("/", 1)[0] + "/" + other_url.rsplit("/", 1)[1]
    swap["url"] = forged  # only its token, in this bill's URL
    res = resolve(upi.build(swap), config)
    assert res.verdict == "altered" and res.bill_no == bill.bill_no


def test_a_bill_qr_whose_token_is_removed_is_foreign_and_a_bare_token_too(best, breb):
    """Without a token (and without a URL) nothing says the QR is a qrpay bill: foreign,
    as a sticker with the biller's VPA is; a token whose key is not ours on a payee that
    is not ours is foreign too."""
    config, biller, bill = best
    p = upi.parse(bill_payload(bill, biller, config))
    bare = upi.build({k: v for k, v in p.params if k != "tn"})
    assert resolve(bare, config).verdict == "foreign"
    stranger = upi.build({**dict(p.params), "pa": "shop@ybl", "tn": "K9.AAAAAAAAAAAAAAAA"})
    assert resolve(stranger, config).verdict == "foreign"
    config, biller, bill = breb
    text = bill_payload(bill, biller, config)
    objects = [(t, [(k, x) for k, x in v if k != "05"] if t == "62" else v)
               for t, v in emv.parse(text).as_objects()]
    assert resolve(emv.build(objects), config).verdict == "foreign"


def test_a_bill_qr_whose_bill_reference_is_removed_is_altered(breb):
    config, biller, bill = breb
    text = bill_payload(bill, biller, config)
    objects = [(t, [(k, x) for k, x in v if k != "01"] if t == "62" else v)
               for t, v in emv.parse(text).as_objects()]
    res = resolve(emv.build(objects), config)
    assert res.verdict == "altered" and res.reasons[0] == "bill reference removed"


def test_unknown_key_id_is_altered(best):
    config, biller, bill = best
    text = bill_payload(bill, biller, config).replace("tn=K1.", "tn=K7.")
    res = resolve(text, config)
    assert res.verdict == "altered" and "not one of ours" in res.reasons[0]


def test_key_rotation_keeps_printed_bills_genuine(best, monkeypatch):
    config, biller, bill = best
    printed = bill_payload(bill, biller, config)
    monkeypatch.setenv("QRPAY_TOKEN_KEY_K2", "rotated-key-abcdef")
    monkeypatch.setenv("QRPAY_TOKEN_OLD_KEYS", "k1")
    rotated = dataclasses.replace(config, token_key_id="k2")
    assert resolve(printed, rotated).verdict == "genuine"
    assert "&tn=K2." in bill_payload(bill, biller, rotated)


def test_bangla_qr_amount_changed_with_a_fresh_crc_is_altered(breb):
    config, biller, bill = breb
    text = bill_payload(bill, biller, config)
    assert resolve(_edit_emv(text, "54", None, "1.00"), config).verdict == "altered"
    # without a fresh CRC it is not even a valid payload
    res = resolve(text.replace("1234.50", "1234.00"), config)
    assert (res.verdict, res.code) == ("invalid", "bad_crc")


def test_bangla_qr_merchant_account_swapped_is_altered(breb):
    config, biller, bill = breb
    text = _edit_emv(bill_payload(bill, biller, config), "26", "03", "0000000000000099999")
    res = resolve(text, config)
    assert res.verdict == "altered" and res.reasons[0].startswith("payee changed")


def test_bangla_qr_currency_changed_is_altered(breb):
    config, biller, bill = breb
    text = _edit_emv(bill_payload(bill, biller, config), "53", None, "356")
    assert resolve(text, config).verdict == "altered"


@pytest.mark.parametrize("sticker", [
    "upi://pay?pa=fraudster@ybl&pn=Electricity%20Board&am=1234.50&cu=INR",
    "upi://pay?pa=bestelectricity@sbi&pn=BEST&tr=B2611100000000&am=1234.50",
    VECTORS["promptpay"], VECTORS["banglaqr"], VECTORS["bharatqr"],
    "upi://pay?pa=x@y&pn=X&url=https://evil.example/b/B2611100000000%3Ft%3Dk1.AAAAAAAAAAAA",
])
def test_valid_payment_qrs_that_are_not_ours_are_foreign(best, sticker):
    config, _, _ = best
    res = resolve(sticker, config)
    assert res.verdict == "foreign" and res.biller is None and res.fields


@pytest.mark.parametrize("text, code", [
    ("hello", "not_payment_qr"), ("https://pay.bestundertaking.example/b/X", "not_payment_qr"),
    ("upi://pay?pn=X", "missing_pa"), (VECTORS["pix"][:50], "truncated"), ("", "not_payment_qr"),
])
def test_unparseable_text_is_invalid_with_a_code(best, text, code):
    config, _, _ = best
    res = resolve(text, config)
    assert (res.verdict, res.code) == ("invalid", code)


def test_resolution_as_dict_is_json_ready(best):
    import json

    config, biller, bill = best
    data = resolve(bill_payload(bill, biller, config), config).as_dict()
    assert json.loads(json.dumps(data))["verdict"] == "genuine"
    assert {"key", "name", "value", "note"} <= set(data["fields"][0])


# ------------------------------------------------- genuine = exactly what qrpay prints

def _insert_after(text: str, tag: str, obj: tuple) -> str:
    objects = emv.parse(text).as_objects()
    i = next(k for k, (t, _) in enumerate(objects) if t == tag)
    return emv.build(objects[:i + 1] + [obj] + objects[i + 1:])


def test_bangla_qr_with_a_second_merchant_account_is_altered(breb):
    config, biller, bill = breb
    nagad = ("27", [("00", "com.nagad"), ("01", "01"), ("02", "ATTACKER"),
                    ("03", "01999999999")])
    res = resolve(_insert_after(bill_payload(bill, biller, config), "26", nagad), config)
    assert (res.verdict, res.biller, res.bill_no) == ("altered", biller.code, bill.bill_no)
    assert len(res.reasons) == 1 and "27" in res.reasons[0] and "com.nagad" in res.reasons[0]


def test_bharat_qr_with_a_merchant_account_beyond_26_and_27_is_altered(best):
    config, biller, bill = best
    text = bill_payload(bill, biller, config, qr_format="emv")
    visa = ("02", "4111111111111111")  # primitive network account: not a template
    paytm = ("28", [("00", "A000000524"), ("01", "attacker@paytm")])
    assert resolve(_insert_after(text, "01", visa), config).verdict == "altered"
    res = resolve(_insert_after(text, "27", paytm), config)
    assert res.verdict == "altered" and "28" in res.reasons[0]


def test_upi_with_a_second_payee_in_upper_case_is_invalid(best):
    config, biller, bill = best
    text = bill_payload(bill, biller, config) + "&PA=attacker@ybl&PN=Attacker"
    res = resolve(text, config)
    assert (res.verdict, res.code) == ("invalid", "duplicate_parameter")


def test_upi_minimum_amount_added_where_part_payment_is_off_is_altered(best):
    config, biller, bill = best
    assert not biller.payee.allow_part_payment
    res = resolve(bill_payload(bill, biller, config) + "&mam=1.00", config)
    assert (res.verdict, res.biller, res.amount) == ("altered", "best", 123450)
    assert [r.split()[0] for r in res.reasons] == ["mam"]


def test_upi_minimum_amount_is_genuine_where_part_payment_is_on(best):
    config, biller, bill = best
    part = with_part_payment(biller)
    config = dataclasses.replace(config, billers={**config.billers, "best": part})
    text = bill_payload(bill, part, config)
    assert resolve(text, config).verdict == "genuine"
    res = resolve(text.replace("&mam=1.00", ""), config)
    assert res.verdict == "altered" and res.reasons[0].split()[0] == "mam"


def test_upi_name_and_purpose_changed_under_a_valid_token_are_altered(best):
    config, biller, bill = best
    text = bill_payload(bill, biller, config)
    p = upi.parse(text)
    params = {k: ("Attacker" if k == "pn" else v) for k, v in p.params}
    params["purpose"] = "00"  # a parameter added under a valid token
    res = resolve(upi.build(params), config)
    assert res.verdict == "altered" and sorted(r.split()[0] for r in res.reasons) == [
        "pn", "purpose"]


def test_a_payload_printed_before_the_payee_name_changed_is_altered(best):
    config, biller, bill = best
    text = bill_payload(bill, biller, config)
    renamed = dataclasses.replace(biller, payee=dataclasses.replace(biller.payee,
                                                                    name="BEST Undertaking Mumbai"))
    later = dataclasses.replace(config, billers={**config.billers, "best": renamed})
    res = resolve(text, later)
    assert res.verdict == "altered" and res.reasons[0].split()[0] == "pn"


def test_harmless_spellings_of_a_upi_payload_stay_genuine(best):
    config, biller, bill = best
    text = bill_payload(bill, biller, config)
    query = text.split("?", 1)[1]
    parts = query.split("&")
    spelled = [
        "UPI://PAY?" + query + "&",                              # scheme case, stray '&'
        "upi://pay?" + "&".join(reversed(parts)),                # parameter order
        text.replace("@", "%40").replace("%3D", "%3d"),         # percent-encoding spelled
    ]
    for variant in spelled:
        assert variant != text and resolve(variant, config).verdict == "genuine", variant


@pytest.mark.parametrize("which", ["bharatqr", "banglaqr"])
def test_harmless_spellings_of_an_emv_payload_stay_genuine(best, breb, which):
    config, biller, bill = best if which == "bharatqr" else breb
    text = bill_payload(bill, biller, config, qr_format=which)
    objects = emv.parse(text).as_objects()
    reordered = emv.build(objects[:1] + list(reversed(objects[1:])))  # 00 stays first
    resorted = emv.build([(t, list(reversed(v)) if isinstance(v, list) else v)
                          for t, v in objects])
    lower_crc = text[:-4] + text[-4:].lower()
    for variant in (reordered, resorted, lower_crc):
        assert resolve(variant, config).verdict == "genuine"


_value = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
_upi_key = st.one_of(st.sampled_from(sorted(upi.PARAMS)),
                     st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,6}", fullmatch=True))


def _upi_mutant(text: str, data: st.DataObject) -> str:
    params = list(upi.parse(text).params)
    kind = data.draw(st.sampled_from(["change", "add", "remove", "rename"]))
    i = data.draw(st.integers(0, len(params) - 1))
    key, value = params[i]
    if kind == "change":
        new = data.draw(_value.filter(lambda v: v != value))
        params[i] = (key, new)
    elif kind == "add":
        new_key = data.draw(_upi_key.filter(lambda k: k not in dict(params)))
        params.insert(i, (new_key, data.draw(_value)))
    elif kind == "remove":
        del params[i]
    else:
        new_key = data.draw(st.one_of(st.just(key.upper()), _upi_key).filter(
            lambda k: k != key))
        params[i] = (new_key, value)
    return upi.PREFIX + "&".join(f"{k}={quote(v, safe='')}" for k, v in params)


def _emv_mutant(text: str, data: st.DataObject) -> str:
    objects = [(t, list(v) if isinstance(v, list) else v)
               for t, v in emv.parse(text).as_objects()]
    kind = data.draw(st.sampled_from(["change", "add", "remove", "change_sub", "add_sub",
                                      "remove_sub"]))
    i = data.draw(st.integers(1, len(objects) - 1))  # 00 (format indicator) is fixed
    tag, value = objects[i]
    if kind.endswith("_sub") and isinstance(value, list) and value:
        j = data.draw(st.integers(0, len(value) - 1))
        sub, old = value[j]
        if kind == "change_sub":
            value[j] = (sub, data.draw(_value.filter(lambda v: v != old)))
        elif kind == "add_sub":
            taken = {s for s, _ in value}
            new_sub = data.draw(st.from_regex(r"[0-9]{2}", fullmatch=True).filter(
                lambda s: s not in taken))
            value.insert(j, (new_sub, data.draw(_value)))
        else:
            del value[j]
    elif kind in ("change", "change_sub"):
        objects[i] = (tag, data.draw(_value.filter(lambda v: v != value)))
    elif kind in ("add", "add_sub"):
        taken = {t for t, _ in objects} | {"63"}
        new_tag = data.draw(st.from_regex(r"[0-9]{2}", fullmatch=True).filter(
            lambda t: t not in taken))
        new: str | list[tuple[str, str]] = data.draw(_value)
        if emv.is_template(new_tag):
            new = [("00", data.draw(_value))]
        objects.insert(i, (new_tag, new))
    else:
        del objects[i]
    return emv.build(objects)  # a fresh, valid CRC


@settings(max_examples=150, deadline=None)
@given(which=st.sampled_from(["upi", "bharatqr", "banglaqr"]), data=st.data())
def test_no_single_field_mutation_of_a_genuine_payload_is_genuine(which, data):
    config = load_config(SAMPLES / ("breb.toml" if which == "banglaqr" else "best.toml"))
    code = "dhaka-pbs-1" if which == "banglaqr" else "best"
    bill = make_bill("2611104231245" if which == "banglaqr" else "B2611100000000", code)
    text = bill_payload(bill, config.biller(code), config, qr_format=which)
    try:
        mutant = (_upi_mutant if which == "upi" else _emv_mutant)(text, data)
    except PayloadError:
        return  # not even writable (an EMV value over 99 characters): nothing to scan
    assert mutant != text
    assert resolve(mutant, config).verdict != "genuine"
