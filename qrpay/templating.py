"""Where wording lives: ``templates/`` at the top of the project (or ``$QRPAY_TEMPLATES``).

* ``env()`` is the one Jinja2 environment (HTML autoescaped; ``.txt`` not), with the
  filters every channel uses: ``money`` (lakh/crore grouping, localised digits) and
  ``digits``.
* ``texts(domain, lang)`` reads ``templates/<domain>/<lang>.toml``: the labels a utility
  may reword without touching code (bill PDF labels, page strings, SMS bodies...).
"""

from __future__ import annotations

import os
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from qrpay.digits import localise
from qrpay.errors import ConfigError
from qrpay.money import format_amount


def templates_dir() -> Path:
    return _templates_dir(os.environ.get("QRPAY_TEMPLATES"))


@cache
def _templates_dir(override: str | None) -> Path:
    """Resolved once per value of QRPAY_TEMPLATES (every SMS of a posting asks)."""
    path = Path(override) if override else Path(__file__).resolve().parent.parent / "templates"
    if not path.is_dir():
        raise ConfigError(f"templates directory {path} not found (set QRPAY_TEMPLATES)",
                          code="templates_not_found")
    return path


def _money(minor: int, currency: str | None = None, numerals: str = "latn") -> str:
    return format_amount(int(minor), currency=currency, numerals=numerals)


@cache
def env() -> Environment:
    e = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=select_autoescape(["html", "htm", "xml", "svg"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    e.filters["money"] = _money
    e.filters["digits"] = localise
    return e


@cache
def texts(domain: str, lang: str) -> dict[str, Any]:
    """Labels for ``domain`` in ``lang``, falling back key by key to English."""
    base = templates_dir() / domain
    merged: dict[str, Any] = {}
    for code in ("en", lang) if lang != "en" else ("en",):
        path = base / f"{code}.toml"
        if path.exists():
            with path.open("rb") as fh:
                merged.update(tomllib.load(fh))
        elif code == lang:
            raise ConfigError(f"no wording for language {lang!r} in {base}",
                              code="missing_language", field="language")
    return merged
