"""Moved to :mod:`qrpay.payments.reads` (the bill-and-status read lives with payments);
re-exported here until the end of the session."""

from qrpay.payments.reads import BILL_COLUMNS, Reader

__all__ = ["BILL_COLUMNS", "Reader"]
