"""Hostile input at the desk: NUL characters and oversized bodies are refused with a 4xx
before anything reaches the database or the disk."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from qrpay.web.limits import UPLOAD_LIMIT

from .conftest import add_user, csrf_of, insert_bill, make_bill

MB = 1024 * 1024


def test_nul_in_the_login_username_is_a_4xx(make_desk, store) -> None:
    add_user(store, "asha")
    desk = make_desk()
    page = desk.client.get("/desk/login")
    r = desk.client.post("/desk/login", data={"username": "as\x00ha", "password": "x",
                                              "csrf": csrf_of(page.text)})
    assert 400 <= r.status_code < 500, r.text


@pytest.mark.parametrize("field", ["bill_no", "reference", "txn_id", "amount"])
def test_nul_in_a_collect_field_is_a_4xx(make_desk, store, field: str) -> None:
    add_user(store, "asha")
    insert_bill(store, make_bill())
    desk = make_desk()
    assert desk.login("asha") == 303
    data = {"bill_no": "B2611100000001", "txn_id": "C-1", "amount": "100", "mode": "cash",
            "reference": ""}
    data[field] += "\x00"
    r = desk.post("/desk/collect", data)
    assert 400 <= r.status_code < 500, r.text


def test_nul_in_a_desk_url_is_a_4xx(make_desk, store) -> None:
    add_user(store, "asha")
    desk = make_desk()
    assert desk.login("asha") == 303
    assert desk.client.get("/desk/receipt/R%00").status_code == 400


def _multipart(size: int) -> Iterator[bytes]:
    """A multipart body of about ``size`` bytes, in 64 KiB chunks; counts what was read."""
    yield b'--X\r\nContent-Disposition: form-data; name="username"\r\n\r\n'
    sent = 0
    chunk = b"a" * (64 * 1024)
    while sent < size:
        _multipart.read = sent  # type: ignore[attr-defined]
        yield chunk
        sent += len(chunk)
    yield b"\r\n--X--\r\n"


def test_a_200_mb_login_body_with_its_length_is_refused_413_unread(make_desk) -> None:
    desk = make_desk()
    _multipart.read = 0  # type: ignore[attr-defined]
    r = desk.client.post("/desk/login", content=_multipart(200 * MB), headers={
        "Content-Type": "multipart/form-data; boundary=X",
        "Content-Length": str(200 * MB)})
    assert r.status_code == 413
    assert _multipart.read < 1 * MB  # type: ignore[attr-defined]


def test_an_oversized_photo_is_413_and_never_spooled_to_disk(make_desk, store,
                                                            monkeypatch) -> None:
    import tempfile

    add_user(store, "asha")
    desk = make_desk()
    assert desk.login("asha") == 303
    made: list[object] = []
    real = tempfile.SpooledTemporaryFile

    class Watch(real):  # type: ignore[misc,valid-type]
        def rollover(self) -> None:
            made.append(self)
            super().rollover()

    monkeypatch.setattr("starlette.formparsers.SpooledTemporaryFile", Watch)
    photo = b"\x89PNG" + b"0" * (3 * MB)
    r = desk.post("/desk/scan/image", files={"image": ("p.png", photo, "image/png")})
    assert r.status_code in (200, 422)  # read in memory (not a QR), not spooled
    assert made == []
    big = b"\x89PNG" + b"0" * (UPLOAD_LIMIT + 1)
    r = desk.post("/desk/scan/image", files={"image": ("p.png", big, "image/png")})
    assert r.status_code == 413 and made == []


@pytest.mark.parametrize("path, field", [("/desk/shift/close", "declared_cash"),
                                         ("/desk/collect", "amount")])
@pytest.mark.parametrize("value", ["9" * 25, str(2**64), "1_000", "١٢٣"])
def test_a_huge_or_foreign_amount_at_the_desk_is_a_4xx_with_a_code(make_desk, store, path,
                                                                   field, value) -> None:
    add_user(store, "asha")
    insert_bill(store, make_bill())
    desk = make_desk()
    assert desk.login("asha") == 303
    data = {"bill_no": "B2611100000001", "txn_id": "C-1", "amount": "100", "mode": "cash",
            "declared_cash": "0"}
    data[field] = value
    r = desk.post(path, data)
    assert 400 <= r.status_code < 500, r.text
    assert 'data-code="amount_too_large"' in r.text or 'data-code="invalid_amount"' in r.text


def test_a_text_field_over_a_megabyte_in_a_photo_upload_is_413_not_400(make_desk,
                                                                       store) -> None:
    """Within the upload's body limit, but a text field (not the file) of 1.5 MB:
    Starlette's own part limit answered 400; every oversized input answers 413."""
    add_user(store, "asha")
    desk = make_desk()
    assert desk.login("asha") == 303
    r = desk.post("/desk/scan/image", {"note": "a" * (3 * MB // 2)},
                  files={"image": ("p.png", b"\x89PNG0000", "image/png")})
    assert r.status_code == 413, r.text
    assert "too_large" in r.text
