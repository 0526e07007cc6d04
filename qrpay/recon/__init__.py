"""Reconciliation: settlement and MIS files from the channels, matched to the ledger.

* :mod:`qrpay.recon.formats`: column maps (built-in Razorpay, Cashfree and generic; the
  profile can override them per channel) and exact parsing of one line.
* :mod:`qrpay.recon.reader`: CSV, XLSX and JSON Lines read row by row.
* :mod:`qrpay.recon.match`: the outcome of each line, posting through
  ``qrpay.payments.posting.post_payment`` when the channel was paid but never called back.
* :mod:`qrpay.recon.importer`: ``import_settlement`` (all or nothing, same file twice is a
  no-op).
* :mod:`qrpay.recon.queue`: the exceptions queue and its audited actions.
* :mod:`qrpay.recon.poll`: the channels' status APIs for payments left pending.
"""

OUTCOMES = (
    "matched",          # callback, settlement and bill agree
    "posted",           # paid at the channel, no callback: posted now by reconciliation
    "not_settled",      # callback came, settlement did not within the window: held
    "amount_mismatch",  # settlement amount differs from the posted payment
    "duplicate_payment",  # the bill was already paid through another transaction
    "refund",           # refund or reversal: its own ledger entry
    "partial_refund",   # a refund of part of a payment: for review
    "superseded",       # paid a bill a newer bill has replaced: applied to the account
    "suspense",         # matches nothing (unknown transaction and bill)
    "already_settled",  # a second line for a payment already settled
    "ignored",          # not a payment outcome (failed attempt, adjustment row)
    "settlement_mismatch",  # net settled != gross - fee - tax for a settlement id
    "stuck_pending",    # the status API still says pending after the channel's give-up time
)
EXCEPTION_OUTCOMES = ("not_settled", "amount_mismatch", "duplicate_payment",
                      "partial_refund", "superseded", "suspense", "settlement_mismatch",
                      "stuck_pending")
