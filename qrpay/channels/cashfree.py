"""Cashfree: its settlement recon file (qrpay takes no Cashfree callbacks yet).

``/settlement/recon`` event rows: ``event_type (PAYMENT|REFUND|...), cf_payment_id,
order_id, event_amount, payment_service_charge, payment_service_tax,
event_settlement_amount, cf_settlement_id, settlement_date, payment_utr, settlement_utr,
payment_time, payment_group, refund_id``; amounts in rupees; the bill is ``order_id``
(see :mod:`qrpay.recon.formats`).
"""

from qrpay.channels._base import Channel
from qrpay.recon.formats import ColumnMap, cols

SETTLEMENT = ColumnMap(
    name="cashfree", unit="major",
    columns=cols(txn_id="cf_payment_id", bill_no="order_id",
                 utr=("payment_utr", "settlement_utr"), amount="event_amount",
                 fee="payment_service_charge", tax="payment_service_tax",
                 net="event_settlement_amount",
                 settlement_id=("cf_settlement_id", "settlement_id"),
                 settled_on="settlement_date", paid_at=("payment_time", "event_time"),
                 mode=("payment_group", "payment_mode"), refund_id="refund_id",
                 kind="event_type"),
    kinds={"payment": "payment", "refund": "refund"}, default_kind="other")

CHANNEL = Channel(name="cashfree", title="Cashfree (settlement file)", settlement=SETTLEMENT)
