"""Indian consumer numbers (BEST Mumbai, KESCO Kanpur, MP IVRS): opaque digit strings.

Each utility numbers its consumers its own way and publishes no structure or check digit,
so the only things to check are what the biller's profile says: the ``length`` and an
optional ``prefix`` (``[billers.numbering]`` in the profile, :class:`qrpay.config.Numbering`).
Every function takes them as keyword options (defaults: 10 digits, no prefix):

>>> validate('१२३ ४५६ ७८९', length=9)
'123456789'

or bind them once with :func:`for_biller`.  A wrong length is ``invalid_length``, a wrong
prefix ``invalid_component``; bad options themselves are a
:class:`~qrpay.errors.ConfigError` (``bad_value``), since they come from the profile, not
from the consumer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from qrpay.digits import to_ascii
from qrpay.errors import ConfigError
from qrpay.ids._util import Shape, check_length, clean, group, invalid_component, part, validates

NAME = "in_consumer"
TITLE = "Indian consumer number"
TITLE_BN = None
FIELD = "consumer_no"
DEFAULT_LENGTH = 10
DEFAULT_PREFIX = ""
MAX_LENGTH = 30
OPTIONS: tuple[str, ...] = ("length", "prefix")


class _Numbering(Protocol):
    @property
    def length(self) -> int: ...

    @property
    def prefix(self) -> str: ...


def _options(length: object, prefix: object) -> tuple[int, str]:
    if isinstance(length, bool) or not isinstance(length, int) \
            or not 1 <= length <= MAX_LENGTH:
        raise ConfigError(f"consumer number length must be 1 to {MAX_LENGTH}, got {length!r}",
                          code="bad_value", field="numbering.length")
    if not isinstance(prefix, str):
        raise ConfigError(f"consumer number prefix must be text, got {prefix!r}",
                          code="bad_value", field="numbering.prefix")
    ascii_prefix = to_ascii(prefix)
    if not ascii_prefix.isascii() or not (ascii_prefix.isdigit() or ascii_prefix == "") \
            or len(ascii_prefix) > length:
        raise ConfigError(f"consumer number prefix must be at most {length} digits, "
                          f"got {prefix!r}", code="bad_value", field="numbering.prefix")
    return length, ascii_prefix


def compact(text: object, **options: Any) -> str:
    return clean(text, FIELD)


def validate(text: object, *, length: int = DEFAULT_LENGTH,
             prefix: str = DEFAULT_PREFIX) -> str:
    """The digits of the consumer number, or raise :class:`ValidationError`."""
    length, prefix = _options(length, prefix)
    digits = compact(text)
    check_length(digits, (length,), FIELD, "consumer number")
    if not digits.startswith(prefix):
        raise invalid_component(f"consumer number must start with {prefix}", FIELD, "prefix")
    return digits


def is_valid(text: object, **options: Any) -> bool:
    """``validate`` accepts ``text`` under ``options`` (``length``, ``prefix``); never
    raises, whatever the options."""
    return validates(validate, text, **options)


def format(text: object, *, length: int = DEFAULT_LENGTH,
           prefix: str = DEFAULT_PREFIX) -> str:
    """The prefix on its own, then groups of four: ``12 3456 7890`` (prefix ``12``)."""
    digits = validate(text, length=length, prefix=prefix)
    _, prefix = _options(length, prefix)
    rest = group(digits[len(prefix):], (4,) * (length // 4 + 1))
    return f"{prefix} {rest}".strip()


def fits(shape: Shape, *, length: int = DEFAULT_LENGTH, prefix: str = DEFAULT_PREFIX,
         **options: Any) -> bool:
    length, prefix = _options(length, prefix)
    return shape.bars == 0 and shape.length == length and shape.main.startswith(prefix)


def explain(text: object, *, length: int = DEFAULT_LENGTH,
            prefix: str = DEFAULT_PREFIX) -> dict[str, Any]:
    digits = validate(text, length=length, prefix=prefix)
    _, prefix = _options(length, prefix)
    parts = []
    if prefix:
        parts.append(part("prefix", "utility prefix", None, prefix, 1))
    if len(digits) > len(prefix):
        parts.append(part("number", "consumer number (opaque)", None, digits[len(prefix):],
                          len(prefix) + 1))
    return {"scheme": NAME, "title": TITLE, "title_bn": TITLE_BN, "number": digits,
            "formatted": format(digits, length=length, prefix=prefix), "parts": parts,
            "length": length, "prefix": prefix}


@dataclass(frozen=True)
class ConsumerScheme:
    """:mod:`in_consumer` with ``length`` and ``prefix`` bound (see :func:`for_biller`)."""

    length: int = DEFAULT_LENGTH
    prefix: str = DEFAULT_PREFIX
    name: str = NAME

    def __post_init__(self) -> None:
        _options(self.length, self.prefix)

    def compact(self, text: object) -> str:
        return compact(text)

    def validate(self, text: object) -> str:
        return validate(text, length=self.length, prefix=self.prefix)

    def is_valid(self, text: object) -> bool:
        return is_valid(text, length=self.length, prefix=self.prefix)

    def format(self, text: object) -> str:
        return format(text, length=self.length, prefix=self.prefix)

    def explain(self, text: object) -> dict[str, Any]:
        return explain(text, length=self.length, prefix=self.prefix)


def for_biller(numbering: _Numbering) -> ConsumerScheme:
    """The scheme of a biller's ``[billers.numbering]`` (a :class:`qrpay.config.Numbering`)."""
    return ConsumerScheme(length=numbering.length, prefix=numbering.prefix)
