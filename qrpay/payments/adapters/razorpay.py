"""Moved to ``qrpay.channels.razorpay`` (re-exported until the final cleanup)."""

from qrpay.channels.razorpay import EVENTS, HEADER, sign

__all__ = ["EVENTS", "HEADER", "sign"]
