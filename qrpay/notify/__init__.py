"""Notices to consumers: SMS wording and encoding, the outbox, providers and the sender.

* :mod:`qrpay.notify.sms`: GSM-7 / UCS-2 detection and segment count;
* :mod:`qrpay.notify.messages`: ``templates/sms/<lang>.toml`` rendered and DLT-checked;
* :mod:`qrpay.notify.outbox`: rows written in the posting's transaction;
* :mod:`qrpay.notify.providers`: console/file, MSG91, SSL Wireless;
* :mod:`qrpay.notify.sender`: ``deliver_due`` and ``run_worker``.
"""

from qrpay.notify.sender import DeliveryReport, deliver_due, run_worker

__all__ = ["DeliveryReport", "deliver_due", "run_worker"]
