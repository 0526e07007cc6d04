"""Moved to ``qrpay.channels._util`` (re-exported until the final cleanup)."""

from qrpay.channels._util import (
    MAX_UNIX,
    from_unix,
    load_json,
    minor_units,
    need,
    obj,
    opt_text,
    same_secret,
    text,
)
from qrpay.payments.events import lower_headers

__all__ = ["MAX_UNIX", "from_unix", "load_json", "lower_headers", "minor_units", "need", "obj",
           "opt_text", "same_secret", "text"]
