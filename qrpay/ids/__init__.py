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

from collections.abc import Iterable
from types import ModuleType
from typing import Any

from qrpay.errors import ValidationError
from qrpay.ids import bd_account, bd_bill, bd_meter, bd_tracking, in_bill, in_consumer
from qrpay.ids._util import clean, shape

SCHEMES: dict[str, ModuleType] = {
    module.NAME: module
    for module in (bd_account, bd_meter, bd_bill, bd_tracking, in_consumer, in_bill)
}

__all__ = ["SCHEMES", "explain", "explain_for", "for_numbering", "get", "guess", "names",
           "schemes_of"]


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


def schemes_of(numbering: Any) -> dict[str, dict[str, Any]]:
    """The schemes a biller's numbering (:class:`qrpay.config.Numbering`) uses, each with
    the options that bind it: the Indian consumer and bill numbers with the profile's
    length and prefixes; for Bangladesh the account, bill and meter numbers, naming
    WZPDCL's offices (and reading WZPDCL's tracking numbers) only when the profile says
    ``offices = "wzpdcl"``."""
    if getattr(numbering, "scheme", None) == "bd":
        wzpdcl = getattr(numbering, "offices", "") == "wzpdcl"
        found: dict[str, dict[str, Any]] = {
            "bd_account": {"offices": wzpdcl}, "bd_bill": {"offices": wzpdcl}, "bd_meter": {}}
        if wzpdcl:
            found["bd_tracking"] = {}
        return found
    consumer = {"length": numbering.length, "prefix": numbering.prefix}
    return {"in_consumer": consumer,
            "in_bill": {**consumer, "bill_prefix": numbering.bill_prefix}}


def _biller_ref(biller: Any) -> dict[str, str]:
    return {"code": biller.code, "name": biller.name, "name_local": biller.name_local}


def explain_for(text: object, billers: Iterable[Any], kind: str | None = None,
                ) -> dict[str, Any]:
    """:func:`explain` as a deployment reads ``text``: only the schemes its billers'
    numbering uses, with their options.  ``billers`` are :class:`qrpay.config.Biller`;
    the result adds ``billers`` (code, name, name_local of every biller whose numbers
    have this shape).  Codes as :func:`explain`."""
    billers = list(billers)
    seen = shape(text)
    fitting: dict[tuple[str, str], tuple[dict[str, Any], list[Any]]] = {}
    for biller in billers:
        for name, options in schemes_of(biller.numbering).items():
            if (kind is None or name == kind) and seen is not None \
                    and SCHEMES[name].fits(seen, **options):
                key = (name, repr(sorted(options.items())))
                fitting.setdefault(key, (options, []))[1].append(biller)
    if not fitting:
        if kind is not None:  # asked for by name: let the scheme say what is wrong
            return explain(text, kind=kind, **_first_options(billers, kind))
        return _no_kind(text, seen, billers)
    if len({name for name, _ in fitting}) > 1 or len(fitting) > 1:
        candidates = sorted({name for name, _ in fitting})
        raise ValidationError(
            f"ambiguous: could be {' or '.join(candidates)}; choose one with kind (--kind)",
            code="ambiguous_kind", field="id", candidates=candidates)
    (name, _), (options, matched) = next(iter(fitting.items()))
    result: dict[str, Any] = SCHEMES[name].explain(text, **options)
    result["billers"] = [_biller_ref(b) for b in matched]
    return result


def _first_options(billers: list[Any], kind: str) -> dict[str, Any]:
    for biller in billers:
        options = schemes_of(biller.numbering).get(kind)
        if options is not None:
            return options
    return {}


def _no_kind(text: object, seen: Any, billers: list[Any]) -> dict[str, Any]:
    if seen is None or not seen.main:
        clean(text, "id", keep="|")  # raises the precise error for junk
    kinds = sorted({name for b in billers for name in schemes_of(b.numbering)})
    raise ValidationError(
        f"no identifier kind of this profile has {len(seen.main)} characters; its kinds: "
        + ", ".join(f"{name} ({SCHEMES[name].TITLE})" for name in kinds),
        code="unknown_kind", field="id")
