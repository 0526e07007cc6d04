"""Moved: the callback formats are channel modules now (``qrpay.channels``).

This package only re-exports the old names until the final cleanup; import
``qrpay.channels`` (registry, protocols) and ``qrpay.payments.events`` (ParsedCallback).
"""

from qrpay.channels import CallbackFormat as Adapter
from qrpay.channels import callback_format as get_adapter
from qrpay.payments.events import ParsedCallback

__all__ = ["Adapter", "ParsedCallback", "get_adapter"]
