"""``qrpay sms unknown [--resend ID ...] [--mark-sent ID ...]``: the SMS whose send timed
out at a provider that cannot be resent to safely (MSG91: no client reference, so a
resend may deliver twice).  Listed for a person to check the provider's delivery report;
``--resend`` queues them again (after asking the provider, where it can be asked by our
reference: a delivered SMS is settled as sent, not resent); ``--mark-sent`` settles the
ones the report shows delivered."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("sms", help="SMS whose outcome is unknown (a provider timeout)")
    psub = p.add_subparsers(dest="sms_command", required=True, metavar="ACTION")
    unk = psub.add_parser("unknown", help="list (and resend or settle) SMS with an unknown "
                                          "outcome")
    unk.add_argument("--resend", type=int, nargs="+", metavar="ID", default=[],
                     help="queue these again (checked in the provider's report: not "
                          "delivered)")
    unk.add_argument("--resend-all", action="store_true",
                     help="queue every unknown SMS again")
    unk.add_argument("--mark-sent", type=int, nargs="+", metavar="ID", default=[],
                     help="settle these as sent (the provider's report shows them "
                          "delivered)")
    unk.set_defaults(func=unknown_cmd)


def unknown_cmd(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.errors import ValidationError
    from qrpay.notify.providers import make_provider
    from qrpay.notify.sender import mark_unknown_sent, settle_unknown, unknown_sms

    rows = unknown_sms(ctx.store, ctx.config)
    by_id = {sms.id: sms for sms in rows}
    wanted = list(by_id) if args.resend_all else args.resend
    missing = [i for i in (*wanted, *args.mark_sent) if i not in by_id]
    if missing:
        raise ValidationError(f"SMS {', '.join(map(str, missing))}: not an SMS with an "
                              "unknown outcome", code="not_unknown", field="id")
    for outbox_id in args.mark_sent:
        mark_unknown_sent(ctx.store, outbox_id)
        print(f"{outbox_id}\tsent (settled: delivered per the provider's report)",
              file=ctx.out)
    if wanted:
        provider = make_provider(ctx.config)
        for outbox_id in wanted:
            result = settle_unknown(ctx.store, provider, by_id[outbox_id])
            print(f"{outbox_id}\t" + {"sent": "sent (the provider says it was delivered: "
                                              "not resent)",
                                      "queued": "queued again",
                                      "skipped": "no longer unknown"}[result], file=ctx.out)
    if not wanted and not args.mark_sent:
        for sms in rows:
            print(f"{sms.id}\t{sms.biller}\t{sms.recipient}\t{sms.template}\t"
                  f"{sms.dedupe_key}", file=ctx.out)
        print(f"{len(rows)} SMS with an unknown outcome (check the provider's delivery "
              "report, then --resend ID or --mark-sent ID)", file=ctx.out)
    return 0
