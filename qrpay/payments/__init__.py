"""The money core: ledger, receipt numbers, posting payments exactly once, callbacks.

Framework-free: nothing here imports the web layer.  Callers own the transaction
(``with store.begin() as conn: post_payment(conn, ...)``) except the callback writer
(``callbacks.process``, ``callbacks.CallbackWriter``), which takes the store because it
commits the raw callback before acting on it.  Callbacks arrive already verified and
parsed (``qrpay.channels``): payments never imports a channel.
"""
