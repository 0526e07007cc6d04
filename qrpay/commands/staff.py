"""``qrpay staff add|list|passwd|disable`` and ``qrpay audit --since DATE``.

Passwords come from standard input, never from the command line: typed twice at a
``getpass`` prompt on a terminal, else the first line of stdin (for scripts).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("staff", help="counter-desk staff accounts")
    ssub = p.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    add = ssub.add_parser("add", help="create an account (password from stdin)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=("cashier", "supervisor", "admin"))
    add.add_argument("--biller", required=True, metavar="CODE", help="biller code of the desk")
    add.add_argument("--counter", required=True, metavar="NAME", help="counter of the desk")
    add.set_defaults(func=add_cmd)
    ls = ssub.add_parser("list", help="list accounts")
    ls.set_defaults(func=list_cmd)
    pw = ssub.add_parser("passwd", help="set a new password (stdin); also unlocks")
    pw.add_argument("username")
    pw.set_defaults(func=passwd_cmd)
    dis = ssub.add_parser("disable", help="deactivate an account")
    dis.add_argument("username")
    dis.set_defaults(func=disable_cmd)

    au = sub.add_parser("audit", help="print the staff audit trail")
    au.add_argument("--since", metavar="DATE",
                    help="YYYY-MM-DD (midnight in the biller's time zone) or an ISO "
                         "timestamp; default: today")
    au.add_argument("--until", metavar="DATE", help="up to, not including")
    au.add_argument("--user", metavar="USER", help="only this staff member")
    au.add_argument("--action", metavar="ACTION", help="only this action (login, collect...)")
    au.add_argument("--json", action="store_true", help="one JSON object per line")
    au.set_defaults(func=audit_cmd)


def read_password(prompt: str = "Password: ") -> str:
    """Twice at a prompt on a terminal; else the first line of stdin."""
    from qrpay.errors import ValidationError

    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass(prompt)
        if getpass.getpass("Again: ") != first:
            raise ValidationError("the passwords differ", code="password_mismatch",
                                  field="password")
        return first
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


def _actor() -> str:
    import getpass

    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def add_cmd(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.desk import audit, staff

    biller = ctx.config.biller(args.biller).code
    password = read_password()
    with ctx.store.begin() as conn:
        made = staff.add_staff(conn, args.username, password, role=args.role, biller=biller,
                               counter=args.counter)
        audit.record(conn, _actor(), "staff_add", audit.Where(biller, made.counter),
                     detail={"username": made.username, "role": made.role})
    print(f"added {made.username} ({made.role}) at {made.biller} / {made.counter}", file=ctx.out)
    return 0


def list_cmd(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.clock import utcnow
    from qrpay.desk import staff

    with ctx.store.connect() as conn:
        rows = staff.list_staff(conn)
    now = utcnow()
    print(f"{'USER':<20} {'ROLE':<11} {'BILLER':<16} {'COUNTER':<12} STATE", file=ctx.out)
    for s in rows:
        state = "active" if s.active else "disabled"
        if s.active and s.locked_until and s.locked_until > now:
            state = "locked"
        print(f"{s.username:<20} {s.role:<11} {s.biller:<16} {s.counter:<12} {state}",
              file=ctx.out)
    return 0


def passwd_cmd(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.desk import audit, staff

    password = read_password("New password: ")
    with ctx.store.begin() as conn:
        who = staff.set_password(conn, args.username, password)
        audit.record(conn, _actor(), "staff_passwd", audit.Where(who.biller, who.counter),
                     detail={"username": who.username})
    print(f"password changed for {who.username}", file=ctx.out)
    return 0


def disable_cmd(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.desk import audit, staff

    with ctx.store.begin() as conn:
        who = staff.disable(conn, args.username)
        audit.record(conn, _actor(), "staff_disable", audit.Where(who.biller, who.counter),
                     detail={"username": who.username})
    print(f"disabled {who.username}", file=ctx.out)
    return 0


def parse_when(text: str, field: str, tz: dt.tzinfo = dt.UTC) -> dt.datetime:
    """``YYYY-MM-DD`` (midnight in ``tz``) or an ISO timestamp (in ``tz`` when it has no
    offset)."""
    from qrpay.digits import to_ascii
    from qrpay.errors import ValidationError

    raw = to_ascii(text).strip()
    try:
        when = (dt.datetime.combine(dt.date.fromisoformat(raw), dt.time())
                if len(raw) == 10 else dt.datetime.fromisoformat(raw))
    except ValueError:
        raise ValidationError(f"{field}: {text!r} is not a date (YYYY-MM-DD)",
                              code="bad_date", field=field) from None
    return when if when.tzinfo else when.replace(tzinfo=tz)


def audit_cmd(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.clock import zone
    from qrpay.desk import audit
    from qrpay.errors import ValidationError

    tz = zone(ctx.config.default_biller.timezone)
    if args.action and args.action not in audit.ACTIONS:
        raise ValidationError(f"unknown action {args.action!r}; known: "
                              f"{', '.join(sorted(audit.ACTIONS))}", code="unknown_action",
                              field="action")
    today = ctx.config.default_biller.today().isoformat()
    since = parse_when(args.since or today, "since", tz)
    until = parse_when(args.until, "until", tz) if args.until else None
    with ctx.store.connect() as conn:
        for e in audit.entries(conn, since=since, until=until, actor=args.user,
                               action=args.action):
            if args.json:
                print(json.dumps(e.as_dict(), ensure_ascii=False, sort_keys=True), file=ctx.out)
                continue
            where = "/".join(x for x in (e.biller, e.counter) if x) or "-"
            detail = json.dumps(e.detail, ensure_ascii=False, sort_keys=True)
            print(f"{e.at.astimezone(tz).isoformat(timespec='seconds')}  {e.actor:<16} "
                  f"{e.action:<13} "
                  f"{where:<24} {e.remote or '-':<15} {detail}", file=ctx.out)
    return 0
