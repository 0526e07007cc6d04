"""Biller-API wire dialects, one module each (``NAME``, ``credentials``, ``OPS``,
``refusal``; see :mod:`qrpay.biller.service`)."""

from __future__ import annotations

import importlib
from types import ModuleType

from qrpay.errors import ConfigError

DIALECTS = {"bkash": "qrpay.biller.dialects.bkash", "bbps": "qrpay.biller.dialects.bbps",
            "gsma": "qrpay.biller.dialects.gsma", "rocket": "qrpay.biller.dialects.rocket"}


def get(name: str) -> ModuleType:
    try:
        return importlib.import_module(DIALECTS[name])
    except KeyError:
        raise ConfigError(f"no biller-API dialect {name!r}", code="unknown_dialect",
                          field="biller_api") from None
