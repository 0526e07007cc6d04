"""The counter desk: staff accounts, shifts, the audit trail and receipt cancellation.

The web pages live in :mod:`qrpay.web.desk`; this package knows nothing of HTTP.
"""
