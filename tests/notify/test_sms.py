from __future__ import annotations

import pytest

from qrpay.notify.sms import sms_info


@pytest.mark.parametrize(("text", "encoding", "units", "segments"), [
    ("Payment of Rs. 1,234.50 received.", "GSM-7", 33, 1),
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),
    ("a" * 306, "GSM-7", 306, 2),
    ("a" * 307, "GSM-7", 307, 3),
    ("[" * 80, "GSM-7", 160, 1),  # extension characters count two
    ("€" * 81, "GSM-7", 162, 2),
    ("₹ 1,234.50", "UCS-2", 10, 1),  # the rupee sign is not GSM-7
    ("ক" * 70, "UCS-2", 70, 1),
    ("ক" * 71, "UCS-2", 71, 2),
    ("भुगतान" * 23, "UCS-2", 138, 3),  # matras are separate code units
    ("😀" * 35, "UCS-2", 70, 1),  # outside the BMP: two units each
])
def test_encoding_and_segments(text: str, encoding: str, units: int, segments: int) -> None:
    info = sms_info(text)
    assert (info.encoding, info.units, info.segments) == (encoding, units, segments)


def test_escape_pair_is_never_split_across_parts() -> None:
    # 152 plain + "{" would put the escape in part one and "{" in part two: it moves whole.
    text = "a" * 152 + "{" + "b" * 153
    assert sms_info(text).units == 307
    assert sms_info(text).segments == 3


def test_bengali_receipt_is_ucs2() -> None:
    text = "বিল ২৪০৫১০৪২৩১২৪৫ এর ৳ ১,২৩৪.৫০ পরিশোধ পাওয়া গেছে।"
    info = sms_info(text)
    assert (info.encoding, info.segments) == ("UCS-2", 1)
