"""The capacity model of docs/scaling.md: measured CPU and bytes per operation -> cores,
nodes and database growth for BREB, BEST and KESCO at their month-end peak hour.

    python bench/capacity.py FILE.json [--backend PostgreSQL]

``FILE.json`` is what ``bench/monthend.py --json FILE.json`` wrote.  Each kind's CPU
(server processes and PostgreSQL backends) and rows written per operation come from the
phase where it ran alone; bytes per row from the bench database at the end of the run.
Every assumption is a field below, and docs/scaling.md says where each comes from.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Run a peak hour at no more than this share of the cores (room for a node lost at the
#: peak, a channel replaying its backlog after an outage, and this machine's noise).
TARGET_UTILISATION = 0.5
NODE_CORES = 2  # one node = this machine's shape: qrpay serve --workers 2


@dataclass(frozen=True)
class Utility:
    name: str
    consumers: int
    paying: float  # payments per consumer per cycle
    mix: dict[str, float]  # operations of each kind per 100 payments
    last_days_share: float = 0.30  # of a cycle's payments in its last days
    last_days: int = 5
    peak_factor: float = 3.0  # busiest hour / average hour of those days
    day_hours: int = 24  # hours the average is taken over

    @property
    def payments(self) -> float:
        return self.consumers * self.paying

    @property
    def peak_payments_per_s(self) -> float:
        hours = self.last_days * self.day_hours
        return self.payments * self.last_days_share / hours * self.peak_factor / 3600


# Operations per 100 payments.  BREB's is bench/monthend.py's MIX; BEST's and KESCO's use
# the same kinds (a BBPS or Paytm wallet costs what the bKash dialect costs: same core).
BREB_MIX: dict[str, float] = {"page": 30, "scan": 15, "callback": 10, "bkash_inquiry": 70,
            "bkash_payment": 55, "rocket_inquiry": 19, "rocket_payment": 15,
            "whatsapp": 20, "ussd": 50, "desk": 20}
BEST_MIX: dict[str, float] = {"page": 40, "scan": 10, "callback": 50, "bkash_inquiry": 26,
            "bkash_payment": 20, "whatsapp": 50, "ussd": 10, "desk": 30}
# KESCO December 2019 (seed 004): 1,06,884 online of 4,66,261 payments (22.9 %): cards and
# net banking 21,196 (gateway callbacks, 4.5 per 100), e-wallets 85,688 (18.4 per 100,
# each after 1.3 inquiries); the other 77.1 at the ~40 counters; the WhatsApp helpline.
KESCO_MIX: dict[str, float] = {"page": 23, "callback": 4.5, "bkash_inquiry": 23.9,
                               "bkash_payment": 18.4, "whatsapp": 25, "desk": 77.1}

UTILITIES = (
    Utility("BREB", 30_000_000, 1.0, BREB_MIX),
    Utility("BEST", 1_050_000, 1.0, BEST_MIX),
    # connections by category (seed 004): 5,25,699 + 80,943 + 20 + 13,020 + 1,147 + 852
    Utility("KESCO", 621_681, 0.75, KESCO_MIX),
    # not in the brief: what the same deployment must hold if the due date alone brings
    # 15 % of the cycle and its busiest hour is 3x an average waking hour (12 per day)
    Utility("BREB due-date stress", 30_000_000, 1.0, BREB_MIX, last_days_share=0.15,
            last_days=1, day_hours=12),
)


@dataclass(frozen=True)
class Costs:
    """Per operation of each kind: app and PostgreSQL CPU (ms) and bytes written."""

    app_ms: dict[str, float]
    pg_ms: dict[str, float]
    bytes_per_op: dict[str, float]
    bytes_per_row: dict[str, float]
    rows_per_op: dict[str, dict[str, float]]


def costs(result: dict[str, Any]) -> Costs:
    per_row = {t: s["bytes"] / s["rows"] for t, s in result["storage"].items() if s["rows"]}
    app, pg, written, rows = {}, {}, {}, {}
    for phase in result["phases"]:
        kind, ops = phase["phase"], phase["ops"]
        if kind == "mix" or not ops:
            continue
        app[kind] = phase["app_cpu_s"] * 1000 / ops
        pg[kind] = phase["pg_cpu_s"] * 1000 / ops
        rows[kind] = {t: max(0, n) / ops for t, n in phase["rows_written"].items()}
        written[kind] = sum(n * per_row.get(t, 0.0) for t, n in rows[kind].items())
    return Costs(app, pg, written, per_row, rows)


def monthly_rows(u: Utility, c: Costs) -> dict[str, float]:
    """Rows a cycle adds to each table: every consumer's bill and its ledger charge, and
    the rows of the cycle's operations."""
    out = {t: 0.0 for t in c.bytes_per_row}
    for k, n in u.mix.items():
        for t, r in c.rows_per_op[k].items():
            out[t] = out.get(t, 0.0) + u.payments * n / 100 * r
    out["bills"] = out.get("bills", 0.0) + u.consumers
    out["ledger"] = out.get("ledger", 0.0) + u.consumers
    return out


def cores_for(cpu: float) -> float:
    return cpu / TARGET_UTILISATION


def plan(u: Utility, c: Costs) -> dict[str, float]:
    pps = u.peak_payments_per_s
    rate = {k: pps * n / 100 for k, n in u.mix.items()}
    app = sum(r * c.app_ms[k] for k, r in rate.items()) / 1000
    pg = sum(r * c.pg_ms[k] for k, r in rate.items()) / 1000
    nodes = max(2, math.ceil(cores_for(app) / NODE_CORES) + 1)  # N + 1
    pg_cores = max(2, 2 * math.ceil(cores_for(pg) / 2))
    per_payment = sum(n / 100 * c.bytes_per_op[k] for k, n in u.mix.items())
    cycle = sum(n * c.bytes_per_row[t] for t, n in monthly_rows(u, c).items())
    return {"payments": u.payments, "peak_pps": pps, "peak_ops": sum(rate.values()),
            "app_cores": app, "pg_cores": pg, "nodes": nodes, "pg_cores_planned": pg_cores,
            "bytes_per_payment": per_payment, "month_bytes": cycle, "year_bytes": 12 * cycle}


def _gb(n: float) -> str:
    return f"{n / 1e9:,.1f} GB" if n < 1e12 else f"{n / 1e12:,.2f} TB"


def report(result: dict[str, Any]) -> str:
    c = costs(result)
    needed = {k for u in UTILITIES for k in u.mix}
    missing = sorted(needed - set(c.app_ms))
    if missing:
        return f"(no capacity model: the run did not measure {', '.join(missing)} alone)"
    lines = [f"Capacity model from the {result['backend']} run (docs/scaling.md)", "",
             "| kind | app CPU ms/op | PG CPU ms/op | bytes written/op |", "|---|---|---|---|"]
    for k in c.app_ms:
        lines.append(f"| {k} | {c.app_ms[k]:.2f} | {c.pg_ms[k]:.2f} | "
                     f"{c.bytes_per_op[k]:,.0f} |")
    lines += ["", "| utility | payments/cycle | peak payments/s | peak ops/s | app cores "
              "busy | PG cores busy | app nodes (2 cores, 50 %, N+1) | PG cores | "
              "bytes/payment | DB growth/month | /year |", "|---|---|---|---|---|---|---|"
              "---|---|---|---|"]
    for u in UTILITIES:
        p = plan(u, c)
        lines.append(
            f"| {u.name} | {p['payments']:,.0f} | {p['peak_pps']:,.1f} | "
            f"{p['peak_ops']:,.0f} | {p['app_cores']:.2f} | {p['pg_cores']:.2f} | "
            f"{p['nodes']:.0f} | {p['pg_cores_planned']:.0f} | "
            f"{p['bytes_per_payment']:,.0f} | {_gb(p['month_bytes'])} | "
            f"{_gb(p['year_bytes'])} |")
    lines += ["", "Database growth per cycle (month): rows, and bytes at the measured bytes/row",
              "", "| table | bytes/row | " + " | ".join(u.name for u in UTILITIES[:3]) + " |",
              "|---|---:|" + "---:|" * 3]
    months = [monthly_rows(u, c) for u in UTILITIES[:3]]
    for t, per in c.bytes_per_row.items():
        cells = [f"{m[t]:,.0f} ({_gb(m[t] * per)})" for m in months]
        lines.append(f"| {t} | {per:,.0f} | " + " | ".join(cells) + " |")
    totals = [sum(m[t] * c.bytes_per_row[t] for t in c.bytes_per_row) for m in months]
    lines.append("| **per month** | | " + " | ".join(f"**{_gb(b)}**" for b in totals) + " |")
    lines.append("| **per year** | | " + " | ".join(f"**{_gb(12 * b)}**" for b in totals)
                 + " |")
    return "\n".join(lines)


def pick(data: dict[str, Any], backend: str) -> dict[str, Any]:
    for r in data["results"]:
        if r["backend"] == backend:
            return r  # type: ignore[no-any-return]
    return data["results"][-1]  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("file", type=Path)
    ap.add_argument("--backend", default="PostgreSQL")
    args = ap.parse_args(argv)
    print(report(pick(json.loads(args.file.read_text()), args.backend)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
