"""BBPS biller contract, Setu (biller API): the channel calls qrpay as the biller.

The wire dialect lives with the biller core (:mod:`qrpay.biller.dialects.bbps`, one
module: ``NAME``, ``credentials``, ``OPS``, ``refusal``); this record puts it in the
channel registry.  Contract: docs/channels.md.
"""

from qrpay.biller.dialects import bbps as dialect
from qrpay.channels._base import Channel

CHANNEL = Channel(name="bbps", title="BBPS biller contract, Setu (biller API)",
                  biller_api=dialect)
