"""Identifier schemes: one module per number format, all with one contract.

Every scheme module (python-stdnum style) has

- ``compact(text) -> str``: the digits (any digit script; spaces and dashes dropped);
- ``validate(text) -> str``: the canonical compact form, or raises
  :class:`qrpay.errors.ValidationError` with ``code`` one of ``invalid_type``, ``empty``,
  ``invalid_character``, ``invalid_length``, ``invalid_component`` (``invalid_format``
  for structure, e.g. too many bars in a tracking number);
- ``is_valid(text) -> bool``: never raises, whatever ``text`` is;
- ``format(text) -> str``: grouped for people;
- ``explain(text) -> dict``: the decoded parts with the names the source gives them;
- ``NAME``, ``TITLE``, ``TITLE_BN``, ``FIELD``, ``OPTIONS`` (keyword options it takes),
  and ``fits(shape, **options)`` used by :func:`guess`.

>>> guess('১০৪২৩১২৪৫')
['bd_account']
>>> explain('2202104231245')['period']
'2022-02'
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from qrpay.errors import ValidationError
from qrpay.ids import bd_account, bd_bill, bd_meter, bd_tracking, in_consumer
from qrpay.ids._util import clean, shape

SCHEMES: dict[str, ModuleType] = {
    module.NAME: module
    for module in (bd_account, bd_meter, bd_bill, bd_tracking, in_consumer)
}

__all__ = ["SCHEMES", "explain", "for_numbering", "get", "guess", "names"]


def names() -> list[str]:
    return list(SCHEMES)


def get(name: str) -> ModuleType:
    """The scheme module called ``name``; ``ValidationError`` ``unknown_kind`` if none."""
    try:
        return SCHEMES[name]
    except (KeyError, TypeError):
        raise ValidationError(f"no identifier scheme {name!r}; known: {', '.join(SCHEMES)}",
                              code="unknown_kind", field="kind") from None


def _options_for(module: ModuleType, options: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in options.items() if key in module.OPTIONS}


def guess(text: object, **options: Any) -> list[str]:
    """Names of the schemes whose shape ``text`` has (its length after compacting, and
    bars for the tracking number).  Shape only: the number may still fail ``validate``
    (e.g. month 13), which then tells precisely why.  ``options`` go to the schemes that
    take them (``length``/``prefix`` for ``in_consumer``)."""
    seen = shape(text)
    if seen is None:
        return []
    return [name for name, module in SCHEMES.items()
            if module.fits(seen, **_options_for(module, options))]


def explain(text: object, kind: str | None = None, **options: Any) -> dict[str, Any]:
    """Decode ``text`` with scheme ``kind``, or with the one scheme whose shape it has.

    Raises :class:`ValidationError`: the scheme's own codes, ``unknown_kind`` when no
    scheme has the shape, ``ambiguous_kind`` (``data["candidates"]``) when several do.
    """
    if kind is None:
        candidates = guess(text, **options)
        if not candidates:
            digits = clean(text, "id", keep="|")  # raises the precise error for junk
            raise ValidationError(
                f"no identifier kind has {len(digits)} digits; known: " + ", ".join(
                    f"{name} ({module.TITLE})" for name, module in SCHEMES.items()),
                code="unknown_kind", field="id")
        if len(candidates) > 1:
            raise ValidationError(
                f"ambiguous: could be {' or '.join(candidates)}; choose one with kind (--kind)",
                code="ambiguous_kind", field="id", candidates=candidates)
        kind = candidates[0]
    module = get(kind)
    result: dict[str, Any] = module.explain(text, **_options_for(module, options))
    return result


def for_numbering(numbering: Any) -> Any:
    """The scheme of a biller's numbering (:class:`qrpay.config.Numbering`): the
    :mod:`bd_account` module for ``scheme = "bd"``, a bound :mod:`in_consumer` scheme
    for ``"in"``.  Both have ``compact/validate/is_valid/format/explain``."""
    if getattr(numbering, "scheme", None) == "bd":
        return bd_account
    return in_consumer.for_biller(numbering)
