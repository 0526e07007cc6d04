"""``qrpay db upgrade|version|backup``."""

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
    bak = dsub.add_parser("backup", help="online copy of the SQLite store (PostgreSQL: "
                          "see docs/operations.md)")
    bak.add_argument("dest", help="file to write (replaced atomically)")
    bak.set_defaults(func=backup)


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


def backup(args: argparse.Namespace, ctx: Any) -> int:
    from pathlib import Path

    from tqdm import tqdm

    from qrpay.store.backup import backup_sqlite

    with tqdm(total=0, unit="page", desc="backup", disable=None, leave=False) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        result = backup_sqlite(ctx.config.database_url, Path(args.dest), progress)
    print(f"backed up {result.pages:,} pages ({result.bytes:,} bytes) to {result.path}; "
          "integrity check ok", file=ctx.out)
    return 0
