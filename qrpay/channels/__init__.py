"""Payment channels: one module per channel, found by a registry.

A channel's module (``qrpay/channels/<name>.py``) holds everything specific to that
channel's wire formats and defines ``CHANNEL = Channel(name="<name>", title=...,
callback=..., biller_api=..., settlement=...)``; each capability is optional and is a small
protocol (:class:`CallbackFormat`: ``verify``/``parse``/``sign``; :class:`BillerDialect`;
:class:`SettlementFormat`).  Helpers shared by channel modules live in ``_``-prefixed
modules.  Adding a channel is adding a file; a profile names it with
``[channels.<x>] adapter = "<name>"``.

This layer sits above payments: a callback is verified and parsed here
(:func:`check_callback`; :func:`check`, :func:`item_for`, :func:`handle_callback` and
:func:`submit` for a received one) and handed to payments as an already parsed
:class:`~qrpay.payments.events.CheckedCallback`.
"""

from qrpay.channels._base import BillerDialect, CallbackFormat, Channel, SettlementFormat
from qrpay.channels._callbacks import check_callback
from qrpay.channels._receive import check as check
from qrpay.channels._receive import handle_callback, item_for, submit
from qrpay.channels._registry import all_channels, callback_format, get, names, refresh

__all__ = ["BillerDialect", "CallbackFormat", "Channel", "SettlementFormat", "all_channels",
           "callback_format", "check", "check_callback", "get", "handle_callback", "item_for",
           "names", "refresh", "submit"]
