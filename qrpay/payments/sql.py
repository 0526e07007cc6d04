"""Moved to ``qrpay.store.raw`` (the raw-SQL helper lives with the store); re-exported
until the final cleanup."""

from qrpay.store.raw import RETRYABLE_SQLSTATES, Pending, Raw, as_date, is_retryable

__all__ = ["RETRYABLE_SQLSTATES", "Pending", "Raw", "as_date", "is_retryable"]
