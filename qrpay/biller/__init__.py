"""The biller API: payment channels (wallets, BBPS) ask qrpay for bills and post payments.

Framework-free core (:mod:`qrpay.biller.core`: inquiry, payment, status), the profile's
rules (:mod:`~qrpay.biller.policy`, :mod:`~qrpay.biller.rules`), identifier look-up and
routing (:mod:`~qrpay.biller.lookup`), credentials and slow-down
(:mod:`~qrpay.biller.guard`), the request journal (:mod:`~qrpay.biller.journal`), one
request end to end (:mod:`~qrpay.biller.service`) and the wire dialects
(:mod:`qrpay.biller.dialects`).  Payments post through
:func:`qrpay.payments.posting.post_payment` like every other channel.
"""
