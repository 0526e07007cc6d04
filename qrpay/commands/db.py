"""``qrpay db upgrade|version``."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("db", help="database schema")
    dsub = p.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = dsub.add_parser("upgrade", help="apply pending schema migrations")
    up.set_defaults(func=upgrade)
    ver = dsub.add_parser("version", help="print the schema version")
    ver.set_defaults(func=version)


def upgrade(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.store import LATEST, Store

    store = Store(ctx.config.database_url)
    applied = store.upgrade()
    if applied:
        print(f"applied migrations {', '.join(map(str, applied))}; schema at {LATEST}",
              file=ctx.out)
    else:
        print(f"schema already at {LATEST}", file=ctx.out)
    return 0


def version(args: argparse.Namespace, ctx: Any) -> int:
    from qrpay.store import LATEST, Store

    print(f"{Store(ctx.config.database_url).version()} (latest {LATEST})", file=ctx.out)
    return 0
