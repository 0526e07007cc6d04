"""Status polling shared by several nodes: N pending wallet payments, K pollers (child
processes, as separate nodes would be) against one local fake GSMA Mobile Money provider
(``GET /transactions/{ref}``), on PostgreSQL (``FOR UPDATE SKIP LOCKED`` claims) or SQLite.

    python bench/recon_poll.py [--payments 2000] [--pollers 2] [--sqlite] [--delay 0]

Checks that every payment was asked about exactly once and posted exactly once, and
reports wall time, the pollers' CPU-seconds per payment (user + sys of the children) and
the load average.  PostgreSQL uses the database ``recon_bench`` (``createdb -h 127.0.0.1
-U postgres recon_bench``), emptied into a fresh schema each run.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qrpay.config import Channel, Config, load_config  # noqa: E402
from qrpay.store import open_store  # noqa: E402
from tests.fakes.jsonhttp import GsmaProvider  # noqa: E402

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/recon_bench"
AMOUNT = 123450


class Provider(GsmaProvider):
    """Every transaction asked about is completed, for the amount the bench filled in."""

    def answer(self, path: str, headers: Any) -> tuple[int, dict[str, Any]]:
        ref = self.key(path)
        with self.lock:
            self.hits[ref] = self.hits.get(ref, 0) + 1
        return 200, {"transactionReference": ref, "transactionStatus": "completed",
                     "amount": f"{AMOUNT // 100}.{AMOUNT % 100:02d}", "currency": "INR",
                     "transactionReceipt": "R" + ref}


def config_for(url: str, base: str) -> Config:
    config = load_config(ROOT / "samples" / "best.toml")
    channels = dict(config.channels)
    channels["mmwallet"] = Channel(name="mmwallet", adapter="generic", settings={"status": {
        "api": "gsma", "base_url": base, "pending_after_minutes": 15}})
    best = dataclasses.replace(config.billers["best"],
                               channels=(*config.billers["best"].channels, "mmwallet"))
    return dataclasses.replace(config, database_url=url, channels=channels,
                               billers={"best": best})


def fill(url: str, n: int) -> None:
    store = open_store(url, upgrade=True)
    pg = not store.is_sqlite
    series = (f"generate_series(1, {n}) AS s(i)" if pg else
              f"(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s "
              f"WHERE i < {n}) SELECT i FROM s) AS s")
    ts = "now() - INTERVAL '30 minutes'" if pg else "datetime('now', '-30 minutes')"
    pad = "lpad(i::text, 9, '0')" if pg else "printf('%09d', i)"
    with store.begin() as conn:
        conn.execute(text(
            "INSERT INTO bills (bill_no, biller, account_no, name, period, amount, due_date, "
            f"arrears, content_hash, created_at, updated_at) SELECT 'B' || i, 'best', {pad}, "
            f"'x', '2026-11', {AMOUNT}, '2026-12-05', 0, 'x', {ts}, {ts} FROM {series}"))
        conn.execute(text(
            "INSERT INTO ledger (biller, account_no, bill_no, kind, amount, created_at) "
            f"SELECT 'best', {pad}, 'B' || i, 'charge', {AMOUNT}, {ts} FROM {series}"))
        conn.execute(text(
            "INSERT INTO payments (channel, txn_id, biller, account_no, bill_no, amount, "
            "currency, status, mode, created_at, updated_at) SELECT 'mmwallet', 'MM' || i, "
            f"'best', {pad}, 'B' || i, {AMOUNT}, 'INR', 'pending', 'wallet', {ts}, {ts} "
            f"FROM {series}"))
    store.dispose()


def node(url: str, base: str, name: str, out: Any) -> None:
    from qrpay.recon.poll import poll_channels

    os.environ["QRPAY_STATUS_MMWALLET_API_KEY"] = "bench-key"
    store = open_store(url, upgrade=False)
    result = poll_channels(store, config_for(url, base), holder=name)
    out.put((name, result.asked, dict(result.outcomes)))


def count(url: str, sql: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        value = int(conn.execute(text(sql)).scalar_one())
    engine.dispose()
    return value


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--payments", type=int, default=2000)
    ap.add_argument("--pollers", type=int, default=2)
    ap.add_argument("--delay", type=float, default=0.0, help="provider answer delay, s")
    ap.add_argument("--sqlite", action="store_true")
    args = ap.parse_args(argv)
    tmp = tempfile.TemporaryDirectory()
    if args.sqlite:
        url = f"sqlite:///{tmp.name}/poll.db"
    else:
        schema = "b_" + uuid.uuid4().hex[:10]
        admin = create_engine(PG, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = f"{PG}?options=-csearch_path%3D{schema}"
    provider = Provider(delay=args.delay)
    try:
        with provider.serve(Provider.PREFIX) as base:
            fill(url, args.payments)
            ctx = mp.get_context("spawn")
            out = ctx.Queue()
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            procs = [ctx.Process(target=node, args=(url, base, f"node{k}", out))
                     for k in range(args.pollers)]
            for p in procs:
                p.start()
            results = [out.get() for _ in procs]
            for p in procs:
                p.join()
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            asked_once = sorted(set(provider.hits.values())) == [1]
            posted = count(url, "SELECT COUNT(*) FROM ledger WHERE kind = 'payment'")
            success = count(url, "SELECT COUNT(*) FROM payments WHERE status = 'success'")
            print(f"{'sqlite' if args.sqlite else 'postgresql'}: {args.payments} pending, "
                  f"{args.pollers} pollers: {wall:.1f} s wall, "
                  f"{cpu / args.payments * 1000:.2f} CPU-ms per payment (pollers, incl. start)")
            for name, asked, outcomes in sorted(results):
                print(f"  {name}: asked {asked} {outcomes}")
            print(f"  asked once each: {asked_once} ({len(provider.hits)} asked); ledger payment "
                  f"rows {posted}; success {success}; load average "
                  f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            ok = asked_once and posted == success == args.payments == len(provider.hits)
            return 0 if ok else 1
    finally:
        if not args.sqlite:
            with admin.connect() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
        tmp.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
