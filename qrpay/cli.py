"""The ``qrpay`` command line: ``main(argv) -> int``.

Errors that qrpay raises on purpose print ``error[code]: message`` on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING

from qrpay import __version__
from qrpay.commands import MODULES
from qrpay.errors import QrpayError

if TYPE_CHECKING:
    from qrpay.config import Config
    from qrpay.store import Store


class Context:
    """What a command needs, loaded only when first asked for."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self.out = sys.stdout
        self.err = sys.stderr

    @cached_property
    def config(self) -> Config:
        from qrpay.config import load_config

        return load_config(self.config_path)

    @cached_property
    def store(self) -> Store:
        from qrpay.store import open_store

        store = open_store(self.config.database_url)
        store.require_current()
        return store


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qrpay", description="Dynamic payment QR codes on electricity bills.")
    parser.add_argument("--version", action="version", version=f"qrpay {__version__}")
    parser.add_argument("--config", metavar="PATH",
                        help="utility profile (default: $QRPAY_CONFIG or ./qrpay.toml)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    ctx = Context(args.config)
    try:
        return int(args.func(args, ctx) or 0)
    except QrpayError as exc:
        print(f"error[{exc.code}]: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    finally:
        if "store" in ctx.__dict__:  # opened by this command: close its connections
            ctx.__dict__["store"].dispose()


if __name__ == "__main__":
    sys.exit(main())
