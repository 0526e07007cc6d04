"""``qrpay chat`` (a terminal simulator of the WhatsApp and USSD conversations, on the
same engine and store as the webhooks) and ``qrpay complaints list|show|assign|note|resolve``.

The simulator reads one input per line (a prompt on a terminal; a script on stdin) and
prints what the consumer would see, in the transcript format of ``tests/chat/golden/``.
Replies are printed, not sent: nothing goes to the Graph API from here.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("chat", help="talk to the WhatsApp/USSD bot in the terminal")
    p.add_argument("--channel", choices=("whatsapp", "ussd"), default="whatsapp")
    p.add_argument("--from", dest="sender", default="919812345678", metavar="NUMBER",
                   help="the consumer's number (digits; a WhatsApp BSUID such as US.123 too)")
    p.add_argument("--lang", metavar="LANG", help="language of a new conversation")
    p.add_argument("--biller", metavar="CODE", help="default: the profile's first")
    p.set_defaults(func=chat_cmd)

    c = sub.add_parser("complaints", help="complaints and callback requests from chat")
    csub = c.add_subparsers(dest="complaints_command", required=True, metavar="ACTION")
    ls = csub.add_parser("list", help="list complaints")
    ls.add_argument("--status", choices=("open", "assigned", "resolved"))
    ls.add_argument("--category")
    ls.add_argument("--biller", metavar="CODE")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=list_cmd)
    show = csub.add_parser("show", help="one complaint with its history")
    show.add_argument("ticket")
    show.add_argument("--biller", metavar="CODE")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=show_cmd)
    for name, helptext in (("assign", "assign to someone"), ("note", "add a note"),
                           ("resolve", "resolve (the consumer is told)")):
        a = csub.add_parser(name, help=helptext)
        a.add_argument("ticket")
        a.add_argument("--biller", metavar="CODE")
        a.add_argument("--by", required=True, metavar="USER", help="who does it (audited)")
        if name == "assign":
            a.add_argument("--to", required=True, metavar="NAME")
        a.add_argument("--note", default="")
        a.set_defaults(func=change_cmd, action=name)


def _inputs(prompt: bool) -> Any:
    while True:
        if prompt:
            try:
                line = input("> ")
            except EOFError:
                return
        else:
            line = sys.stdin.readline()
            if not line:
                return
            line = line.rstrip("\r\n")
            print(f"> {line}")
        yield line


def chat_cmd(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.chat.service import ChatService

    service = ChatService(ctx.config, ctx.store)
    biller = ctx.config.biller(args.biller)
    print(f"# qrpay chat: {biller.code} on {args.channel}, from {args.sender} "
          "(hi: menu, 0: back, 00: main; Ctrl-D ends)", file=ctx.out)
    if args.channel == "ussd":
        return _ussd(service, biller, args, ctx)
    return _whatsapp(service, biller, args, ctx)


def _whatsapp(service: Any, biller: Any, args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.chat.engine import Inbound
    from qrpay.chat.screens import chrome, whatsapp_messages
    from qrpay.chat.transcript import whatsapp_lines
    from qrpay.chat.whatsapp import _is_phone

    for line in _inputs(sys.stdin.isatty()):
        turn = service.turn(channel="whatsapp", biller=biller, sender=args.sender,
                            has_phone=_is_phone(args.sender), inbound=Inbound("text", line),
                            message_id=f"sim.{uuid.uuid4().hex}", language=args.lang)
        ui = chrome(service.flows, turn.session.language)
        for screen in turn.screens:
            for message in whatsapp_messages(screen, ui):
                print("\n".join(whatsapp_lines(message)), file=ctx.out)
    return 0


def _ussd(service: Any, biller: Any, args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.chat.transcript import ussd_lines
    from qrpay.chat.ussd import hop

    def dial() -> tuple[str, list[str]]:
        gateway = f"SIM{uuid.uuid4().hex[:12]}"
        answer = hop(service, biller=biller, sender="+" + args.sender.lstrip("+"),
                     gateway_session=gateway, text="", language=args.lang)
        print("\n".join(ussd_lines(answer.africas_talking())), file=ctx.out)
        return gateway, []

    gateway, inputs = dial()
    for line in _inputs(sys.stdin.isatty()):
        if gateway == "":
            gateway, inputs = dial()
            continue
        inputs.append(line)
        answer = hop(service, biller=biller, sender="+" + args.sender.lstrip("+"),
                     gateway_session=gateway, text="*".join(inputs))
        print("\n".join(ussd_lines(answer.africas_talking())), file=ctx.out)
        if answer.end:
            print("# session ended; the next line dials again", file=ctx.out)
            gateway = ""
    return 0


def list_cmd(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.chat import complaints

    with ctx.store.connect() as conn:
        rows = complaints.list_complaints(conn, biller=args.biller, status=args.status,
                                          category=args.category)
    for c in rows:
        if args.json:
            print(json.dumps(c.as_dict(), ensure_ascii=False), file=ctx.out)
        else:
            print(f"{c.biller}  {c.ticket_no}  {c.status:<9} {c.category:<10} "
                  f"{c.assignee or '-':<12} {c.created_at:%Y-%m-%d %H:%M}  {c.text or ''}",
                  file=ctx.out)
    return 0


def show_cmd(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.chat import complaints

    with ctx.store.connect() as conn:
        c = complaints.by_ticket(conn, args.ticket, args.biller)
        events = complaints.events(conn, c.id)
    if args.json:
        out = c.as_dict()
        out["events"] = [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action,
                          "status": e.status, "note": e.note} for e in events]
        print(json.dumps(out, ensure_ascii=False), file=ctx.out)
        return 0
    for key, value in c.as_dict().items():
        print(f"{key}: {value if value is not None else '-'}", file=ctx.out)
    for e in events:
        print(f"  {e.at:%Y-%m-%d %H:%M}  {e.actor:<12} {e.action:<8} {e.status:<9} "
              f"{e.note or ''}", file=ctx.out)
    return 0


def change_cmd(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.chat.service import ChatService
    from qrpay.chat.tickets import audit_detail, staff_change
    from qrpay.clock import utcnow
    from qrpay.desk import audit

    service = ChatService(ctx.config, ctx.store)
    assignee = getattr(args, "to", None)
    now = utcnow()
    with ctx.store.begin() as conn:
        c, told = staff_change(conn, config=ctx.config, flows=service.flows,
                               settings=service.settings, ticket=args.ticket,
                               biller=args.biller, action=args.action, actor=args.by, now=now,
                               note=args.note or None, assignee=assignee)
        audit.record(conn, args.by, f"complaint_{args.action}", audit.Where(biller=c.biller),
                     detail=audit_detail(c, args.action, told, args.note, assignee), at=now)
    print(f"ticket {c.ticket_no}: {c.status}; consumer told: {told or 'no'}", file=ctx.out)
    return 0
