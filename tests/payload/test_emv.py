"""EMVCo MPM TLV: published vectors byte for byte (CRC included), precise error codes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qrpay.errors import PayloadError
from qrpay.payload import emv

# Sources: /work/shared/research/qr_standards.md section 2.5 (each CRC recomputed there).
VECTORS = {
    # EMVCo MPM specification sample (mvallim/emv-qrcode Crc16ValidatorTest.java)
    "emvco": "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678"
             "520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京"
             "540523.7253031565502016233030412340603***0708A60086670902ME91320016A011223344"
             "9988770708123456786304A13A",
    # PromptPay static and dynamic (dtinth/promptpay-qr index.test.js)
    "promptpay": "00020101021129370016A000000677010111011300668012345675802TH530376463046197",
    "promptpay_amount": "00020101021229370016A000000677010111011300660000000005802TH53037645404"
                        "4.226304E469",
    # Pix (BCB manual example; thalesog/pix-utils tests/emvCodes.ts)
    "pix": "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-42665544000052040000530398"
           "65802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D",
    "pix_amount": "00020126510014br.gov.bcb.pix0115thalesog@me.com0210Pedido 1235204000053039865"
                  "40510.005802BR5914Thales Ogliari6015SAO MIGUEL DO O62070503***63044367",
    # SGQR / PayNow edge case with an empty name (winstxnhdw/sgqr tests/generate.test.ts)
    "sgqr": "00020101021226430009SG.PAYNOW010100204+65003010040820380119520400005303702540105802"
            "SG59006009Singapore620401006304DFED",
    # VietQR with a non-ASCII name: lengths in characters, CRC over UTF-8 (odoo PR #130806)
    "vietqr": "00020101021238590010A0000007270129000697042201156607040600001290208QRIBFTTA52040000"
              "530370454031005802VN5914aAeEoOiIuUyYđĐ6007Vietnam62170113INV/TEST/000263046744",
    # Dynamic Bharat QR (Razorpay image_content example)
    "bharatqr": "00020101021202164392630000000085041554046100000000806166100590000000089082"
                "7YESB0CMSNOC222333004882700126430010A0000005240117razorpaybqr@icici02041.1027"
                "350010A0000005240117RZPGT8ildsFTgS5Sp52047531530335654041.105802IN5906zxcbmn"
                "6005Delhi610611008562300514GT8ildsFTgS5Sp070838R004506304B6A9",
    # Bangla QR (Pathao Pay)
    "banglaqr": "00020101021126540013com.pathaopay010203020410080319910082001865936490452047399"
                "53030505802BD5907WEBMOSH60045460625002110186593649003085594973007082f98938808"
                "07PAYMENT63049E3F",
}


def test_crc_check_value():
    assert emv.crc16("123456789") == "29B1"


@pytest.mark.parametrize("name", VECTORS)
def test_published_vector_parses_and_rebuilds_byte_for_byte(name):
    text = VECTORS[name]
    p = emv.parse(text)
    assert emv.crc16(text[:-4]) == text[-4:]
    assert emv.build(p.as_objects()) == text
    assert "".join(f"{o.tag}{len(o.value):02d}{o.value}" for o in p.objects) == text


def test_emvco_sample_fields_and_templates():
    p = emv.parse(VECTORS["emvco"])
    assert p.get("64", "01") == "最佳运输" and p.get("64", "02") == "北京"
    assert p.get("62", "03") == "1234" and p.get("91", "00") == "A011223344998877"
    assert p.amount == 2372 and p.get("53") == "156" and p.is_dynamic


def test_bharat_qr_vector_names_upi_fields():
    p = emv.parse(VECTORS["bharatqr"])
    assert p.get("26", "01") == "razorpaybqr@icici" and p.amount == 110
    names = {f.key: f.name for f in p.fields}
    assert names["26.01"] == "UPI VPA" and names["27.01"] == "Transaction reference (tr)"


def test_bangla_qr_vector_names_institution_fields():
    p = emv.parse(VECTORS["banglaqr"])
    assert p.get("26", "00") == "com.pathaopay" and p.get("53") == "050"
    names = {f.key: f.name for f in p.fields}
    assert names["26.01"] == "Institution type" and names["62.08"] == "Purpose of transaction"
    sgqr = {f.key: f.name for f in emv.parse(VECTORS["sgqr"]).fields}
    assert sgqr["26.01"] == "Network specific" and sgqr["26.00"] == "Globally unique identifier"


def test_lower_case_crc_is_accepted():
    text = VECTORS["pix"]
    assert emv.parse(text[:-4] + text[-4:].lower()).get("59") == "Fulano de Tal"


def _recrc(body: str) -> str:
    """Append a correct CRC to ``body`` (which ends in 6304)."""
    return body + emv.crc16(body)


@pytest.mark.parametrize("text, code", [
    (VECTORS["pix"][:-1] + "E", "bad_crc"),  # last CRC digit changed
    (VECTORS["pix"].replace("Fulano", "Fulana"), "bad_crc"),  # name edited, CRC kept
    (VECTORS["pix"][:60], "truncated"),  # cut in the middle of a field
    (VECTORS["pix"][:-8], "missing_crc"),
    ("", "empty"),
    ("000201", "missing_crc"),
    ("hello world", "bad_length"),
    (_recrc("0002020102116304"), "bad_format_indicator"),
    # length of 59 one short: the rest no longer lines up (CRC recomputed, so only the
    # structure can tell)
    (_recrc(VECTORS["pix"][:-8].replace("5913Fulano de Tal", "5912Fulano de Tal") + "6304"),
     "bad_length"),
    # length of 62 one too long: it swallows the CRC's ID
    (_recrc(VECTORS["pix"][:-8].replace("62070503***", "62080503***") + "6304"),
     "truncated"),
    (_recrc("0002010102135802TH6304"), "bad_initiation"),
    (_recrc("00020101021154031,05802TH6304"), "bad_amount"),
    (_recrc("0002010102125802TH5802TH6304"), "duplicate_tag"),
    ("000201010212630400005802TH", "crc_not_last"),
])
def test_parse_rejects_with_a_precise_code(text, code):
    with pytest.raises(PayloadError) as err:
        emv.parse(text)
    assert err.value.code == code


def test_build_refuses_over_long_values_and_computes_the_crc():
    with pytest.raises(PayloadError) as err:
        emv.build([("00", "01"), ("59", "x" * 100)])
    assert err.value.code == "too_long"
    assert emv.build([("00", "01"), ("58", "IN")]) == "0002015802IN6304" + emv.crc16(
        "0002015802IN6304")


_value = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
_sub = st.lists(st.tuples(st.from_regex(r"[0-9]{2}", fullmatch=True), _value), max_size=3,
                unique_by=lambda t: t[0])


@settings(max_examples=80, deadline=None)
@given(st.fixed_dictionaries({"59": _value, "60": _value}),
       st.dictionaries(st.sampled_from(["26", "27", "62", "64", "80", "99"]), _sub, max_size=3))
def test_build_then_parse_is_the_identity(primitives, templates):
    objects = [("00", "01"), ("01", "12")] + sorted(
        list(primitives.items()) + [(k, v) for k, v in templates.items()])
    text = emv.build(objects)
    assert emv.parse(text).as_objects() == [(t, list(v) if not isinstance(v, str) else v)
                                            for t, v in objects]


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(max_size=60), st.text(max_size=60).map(lambda s: "000201" + s),
                 st.text(alphabet="0123456789", max_size=60)))
def test_parse_raises_only_payload_error_on_arbitrary_text(text):
    try:
        emv.parse(text)
    except PayloadError as exc:
        assert exc.code
