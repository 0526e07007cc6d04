"""One rule for an error's HTTP status (qrpay.errors.http_status), the table every entry
point answers by: pages, API, desk and payment callbacks."""

from __future__ import annotations

import inspect

import pytest

import qrpay.errors as errors
from qrpay.errors import (
    AuthError,
    ConfigError,
    Conflict,
    ImportError_,
    NotFound,
    PayloadError,
    PaymentError,
    QrpayError,
    RenderError,
    TooLarge,
    ValidationError,
    http_status,
)

TABLE = [
    (AuthError("no signature", code="missing_signature"), 401),
    (AuthError("please log in", code="login_required"), 401),
    (AuthError("role too low", code="forbidden"), 403),
    (AuthError("stale form", code="csrf_failed"), 403),
    (NotFound("no bill", code="unknown_bill_no"), 404),
    (NotFound("no channel", code="unknown_channel"), 404),
    (Conflict("seen with another bill", code="txn_mismatch"), 409),
    (ValidationError("not JSON", code="bad_json"), 422),  # a malformed callback
    (ValidationError("missing field txn_id", code="missing_field"), 422),
    (ValidationError("bad amount", code="too_many_decimals"), 422),
    (PayloadError("not a UPI URI"), 422),
    (PaymentError("no such bill", code="unknown_bill"), 422),  # well formed, not acceptable
    (TooLarge("too large", code="too_large"), 413),  # a body, upload or field
    (TooLarge("image too large", code="image_too_large"), 413),
    (ConfigError("no secret", code="missing_secret"), 500),
    (RenderError("no glyph"), 500),
    (ImportError_("row 3: bad date", row=3, column="due_date"), 400),
    (QrpayError("something else"), 400),
]


@pytest.mark.parametrize("exc, status", TABLE, ids=lambda v: getattr(v, "code", str(v)))
def test_the_status_of_each_error(exc: QrpayError, status: int) -> None:
    assert http_status(exc) == status


def test_every_error_class_is_in_the_table() -> None:
    classes = {cls for _, cls in inspect.getmembers(errors, inspect.isclass)
               if issubclass(cls, QrpayError)}
    assert classes == {type(exc) for exc, _ in TABLE}


def test_codes_that_differ_from_their_class_are_only_in_the_code_table() -> None:
    for code, status in errors.STATUS_BY_CODE.items():
        assert http_status(AuthError("x", code=code)) == status
        assert http_status(AuthError("x")) == 401


def test_a_malformed_callback_and_a_malformed_api_body_get_the_same_status() -> None:
    """The decision written in docs/callbacks.md: 422 for both."""
    callback = ValidationError("body is not valid JSON", code="bad_json")
    api = ValidationError("body is not JSON", code="invalid_json")
    assert http_status(callback) == http_status(api) == 422
