"""``qrpay explain ID [--kind KIND] [--json] [--length N] [--prefix P]``.

Decodes an account, meter, bill or tracking number into its parts.  The kind is guessed
from the shape (9 digits account, 12 meter, 13 bill, bars or 18-19 digits tracking,
``--length`` digits (default 10) Indian consumer number); several or none is an error
(``ambiguous_kind``, ``unknown_kind``), as is an invalid number: ``error[code]: ...``,
exit 2.

With a profile (``--config``, else ``$QRPAY_CONFIG``) the number is read as that
deployment numbers: its Indian consumer length and prefix and its bill prefix, its
co-operatives named, WZPDCL's office names only where the profile says
``numbering.offices = "wzpdcl"``; ``--biller CODE`` narrows it to one biller.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

KINDS = ("bd_account", "bd_meter", "bd_bill", "bd_tracking", "in_consumer", "in_bill")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "explain", help="decode an account, meter, bill or tracking number",
        description="Decode an identifier into its parts with their meanings. "
                    "Bengali and Devanagari digits, spaces and dashes are accepted.")
    p.add_argument("id", nargs="+", metavar="ID",
                   help="the number; several words are joined (quote bars: '|')")
    p.add_argument("--kind", choices=KINDS, help="the scheme (default: guess from the shape)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--length", type=int, help="in_consumer: digits in the number (default 10)")
    p.add_argument("--prefix", help="in_consumer: digits every number starts with")
    p.add_argument("--biller", help="with a profile: read the number as this biller's")
    p.set_defaults(func=handler)


def _explain(args: argparse.Namespace, ctx: Any) -> dict[str, Any]:
    from qrpay import ids

    text = " ".join(args.id)
    options = {key: value for key, value in (("length", args.length), ("prefix", args.prefix))
               if value is not None}
    if options or not (ctx.config_path or os.environ.get("QRPAY_CONFIG")):
        return ids.explain(text, kind=args.kind, **options)
    config = ctx.config
    billers = [config.biller(args.biller)] if args.biller else list(config.billers.values())
    return ids.explain_for(text, billers, kind=args.kind)


def handler(args: argparse.Namespace, ctx: Any) -> int:
    result = _explain(args, ctx)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2), file=ctx.out)
    else:
        print("\n".join(render(result)), file=ctx.out)
    return 0


def _meaning(p: dict[str, Any]) -> str:
    if p.get("meaning"):
        return str(p["meaning"])
    return "(code not in the source)" if p.get("known") is False else ""


def table(parts: list[dict[str, Any]]) -> list[str]:
    """Parts as aligned rows; the Bengali meaning goes last, where its width (combining
    vowel signs) cannot break the alignment."""
    rows = [("pos", "part", "digits", "meaning", "")]
    rows += [(p["position"], p["label"], p["digits"], _meaning(p),
              p.get("meaning_bn") or "")
             for p in parts]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return ["  ".join([*(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)),
                       row[4]]).rstrip()
            for row in rows]


def _biller_name(biller: dict[str, str]) -> str:
    local = f" ({biller['name_local']})" if biller.get("name_local") else ""
    return f"{biller['name']}{local}"


def render(result: dict[str, Any]) -> list[str]:
    """The text view: a heading, then the parts table (and the nested account's)."""
    title = result["title"] + (f" ({result['title_bn']})" if result.get("title_bn") else "")
    lines = [f"{result['formatted']}  {result['scheme']}: {title}"]
    if result.get("billers"):
        lines.append("biller: " + " or ".join(_biller_name(b) for b in result["billers"]))
    for key in ("period", "submitted_at"):
        if key in result:
            lines.append(f"{key.replace('_', ' ')}: {result[key]}")
    lines += ["", *table(result["parts"])]
    nested = result.get("account")
    if nested:
        lines += ["", f"account {nested['formatted']}:", *table(nested["parts"])]
    return lines
