"""The money core: ledger, receipt numbers, posting payments exactly once, callbacks.

Framework-free: nothing here imports the web layer.  Callers own the transaction
(``with store.begin() as conn: post_payment(conn, ...)``) except the callback writer
(``callbacks.process``, ``callbacks.CallbackWriter``), which takes the store because it
commits the raw callback before acting on it.  Callbacks arrive already verified and
parsed (``qrpay.channels``): payments never imports a channel.

Modules, from the rules up:

* ``ledger``: entry kinds, ``Sums``, the late rule (grace days), bill status, ledger rows;
* ``decide``: what one report does, a pure function over the decision table;
* ``statements``: the posting path's SQL, from builder functions;
* ``model``: ``PaymentIn`` and ``PostingResult``;
* ``batch``: the posting batch in explicit steps (lock, claim, apply, take_receipts,
  write); ``posting.post_payment`` is a batch of one;
* ``groupcommit`` (with ``callbacks``): a server's writer thread posting queued callbacks
  as one batch per transaction;
* ``review``: payments held for review (released or refused);
* ``reads``: the bill-and-status read in one query, for pages, API, desk, chat, channels;
* ``receipts``: gap-free receipt numbers per biller.
"""
