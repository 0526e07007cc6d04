"""Moved to ``qrpay.channels.generic`` (re-exported until the final cleanup)."""

from qrpay.channels.generic import HEADER, TOLERANCE, sign

__all__ = ["HEADER", "TOLERANCE", "sign"]
