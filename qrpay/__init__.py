"""qrpay: dynamic payment QR codes on electricity bills, paid once and exactly once."""

__version__ = "0.1.0"
