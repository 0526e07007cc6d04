"""``qrpay payments held|release ID|refuse ID --reason TEXT``: the review of payments a
channel reported far above the bill (held, nothing credited)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("payments", help="payments held for review")
    psub = p.add_subparsers(dest="payments_command", required=True, metavar="ACTION")
    held = psub.add_parser("held", help="list payments held for review")
    held.add_argument("--biller", metavar="CODE")
    held.set_defaults(func=held_cmd)
    rel = psub.add_parser("release", help="post a held payment now")
    rel.add_argument("payment_id", type=int)
    rel.set_defaults(func=release_cmd)
    ref = psub.add_parser("refuse", help="refuse a held payment (refund outside qrpay)")
    ref.add_argument("payment_id", type=int)
    ref.add_argument("--reason", required=True)
    ref.set_defaults(func=refuse_cmd)


def held_cmd(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.money import format_amount
    from qrpay.payments.review import held_payments

    with ctx.store.connect() as conn:
        rows = held_payments(conn, args.biller)
    for r in rows:
        amount = format_amount(r["amount"], currency=r["currency"])
        print(f"{r['id']}\t{r['biller']}\t{r['bill_no']}\t{r['channel']}\t{r['txn_id']}\t"
              f"{amount}", file=ctx.out)
    print(f"{len(rows)} held", file=ctx.out)
    return 0


def release_cmd(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.payments.review import release_held

    with ctx.store.begin() as conn:
        res = release_held(conn, ctx.config, args.payment_id)
    print(f"payment {res.payment_id} {res.result}: receipt {res.receipt_no}, bill "
          f"{res.bill_no} {res.bill_state}", file=ctx.out)
    return 0


def refuse_cmd(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.payments.review import refuse_held

    with ctx.store.begin() as conn:
        res = refuse_held(conn, args.payment_id, reason=args.reason)
    print(f"payment {res.payment_id} {res.result}", file=ctx.out)
    return 0
