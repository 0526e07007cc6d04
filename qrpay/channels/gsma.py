"""GSMA Mobile Money API 1.2 bill payments (biller API): the channel calls qrpay as the biller.

The wire dialect lives with the biller core (:mod:`qrpay.biller.dialects.gsma`, one
module: ``NAME``, ``credentials``, ``OPS``, ``refusal``); this record puts it in the
channel registry.  Contract: docs/channels.md.
"""

from qrpay.biller.dialects import gsma as dialect
from qrpay.channels._base import Channel

CHANNEL = Channel(name="gsma", title="GSMA Mobile Money API 1.2 bill payments (biller API)",
                  biller_api=dialect)
