"""Junk fed to every registered scheme (python-stdnum's robustness test): ``is_valid`` is
False without raising, ``validate``/``compact``/``format``/``explain`` raise only
ValidationError."""

from __future__ import annotations

from types import ModuleType

import pytest

from qrpay import ids
from qrpay.errors import ValidationError

JUNK: list[object] = [
    None, "", " ", object(), "€", "12345678a", "1" * 10_000, "১" * 500, "|", "||", " | | ",
    "|1|2", 0, 104231245, 1.0, b"104231245", ["104231245"], {"a": 1}, "-", "\x00",
    "\ud800", "٠١٢٣٤٥٦٧٨", "１０４２３１２４５", "1e9", "+104231245", "12 345 678 9012 3456",
]


@pytest.mark.parametrize("module", ids.SCHEMES.values(), ids=lambda m: m.NAME)
@pytest.mark.parametrize("junk", JUNK, ids=lambda j: repr(j)[:20])
def test_junk_is_invalid_and_raises_only_validation_error(module: ModuleType,
                                                          junk: object) -> None:
    assert module.is_valid(junk) is False
    for function in (module.validate, module.format, module.explain):
        with pytest.raises(ValidationError):
            function(junk)


@pytest.mark.parametrize("junk", JUNK, ids=lambda j: repr(j)[:20])
def test_registry_explain_raises_only_validation_error_on_junk(junk: object) -> None:
    with pytest.raises(ValidationError):
        ids.explain(junk)
    assert isinstance(ids.guess(junk), list)


BAD_OPTIONS: list[dict[str, object]] = [
    {"length": "x"}, {"length": -1}, {"length": 10**9}, {"length": None}, {"prefix": 5},
    {"prefix": "x" * 100}, {"bill_prefix": 3}, {"bill_prefix": "!!"}, {"country": 5},
    {"country": "ZZ"}, {"no_such_option": 1},
]


@pytest.mark.parametrize("module", ids.SCHEMES.values(), ids=lambda m: m.NAME)
@pytest.mark.parametrize("options", BAD_OPTIONS, ids=repr)
def test_is_valid_never_raises_on_bad_options(module: ModuleType,
                                              options: dict[str, object]) -> None:
    for text in ("1234567890", "B2611100000000", "104231245", "919812345678"):
        assert module.is_valid(text, **options) in (True, False)
