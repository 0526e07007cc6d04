"""Moved to ``qrpay.channels.phonepe`` (re-exported until the final cleanup)."""

from qrpay.channels.phonepe import CODES, HEADER, split_secret, x_verify

__all__ = ["CODES", "HEADER", "split_secret", "x_verify"]
