"""E-bill rendering speed: qrpay's renderer beside a naive reportlab + segno baseline.

Synthetic bills from both sample profiles (BEST: Hindi/Marathi/English, UPI; BREB:
Bengali, Bangla QR) go into a temporary SQLite database; then the cycle batch renders
them as single PDFs and as print books on 1 and 2 worker processes, writing real files.
The baseline (reportlab canvas per bill, TrueType fonts with reportlab's HarfBuzz shaping,
``segno.make`` with its default mask search, the QR pasted as a PNG image) renders a
sample of the same bills in the same run.

    .venv/bin/python bench/render.py [--bills 10000] [--baseline 400]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QRPAY_TOKEN_KEY_K1", "bench-token-key-0123456789abcdef")

from qrpay.bills import Bill, iter_bills  # noqa: E402
from qrpay.config import Config, load_config  # noqa: E402
from qrpay.ebill import batch  # noqa: E402
from qrpay.importer import COLUMNS, import_bills  # noqa: E402
from qrpay.samplegen import rows  # noqa: E402
from qrpay.store import Store, open_store  # noqa: E402

PROFILES = {"best": (), "breb": ("dhaka-pbs-1", "khulna-pbs")}


def dense_account(profile: str, i: int) -> str:
    """Account numbers as a utility issues them: books (all digits but the last two) of
    up to 99 consumers, so print books have realistic sizes."""
    if profile == "best":
        return f"{100000000 + (i // 99) * 100 + i % 99 + 1:09d}"
    return f"{1 + i // 9801 % 9}0423{i // 99 % 99 + 1:02d}{i % 99 + 1:02d}"


def load(tmp: Path, profile: str, n: int) -> tuple[Config, Store]:
    db = f"sqlite:///{tmp / (profile + '.db')}"
    config = dataclasses.replace(load_config(ROOT / "samples" / f"{profile}.toml"),
                                 database_url=db)
    store = open_store(db, upgrade=True)
    path = tmp / f"{profile}.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        for i, row in enumerate(rows(profile, n, seed=11, billers=PROFILES[profile])):
            row["account_no"] = dense_account(profile, i)
            writer.writerow(row)
    report = import_bills(store, config, path)
    if report.errors:
        raise SystemExit(f"import failed: {report.errors[:3]}")
    return config, store


def timed_batch(config: Config, store: Store, out: Path, *, workers: int,
                books: bool) -> tuple[int, float]:
    job = batch.Job(config=config, out=str(out), period="2026-11",
                    billers=tuple(config.billers), books=books, singles=not books)
    started = time.perf_counter()
    batch.run(store, job, workers=workers)
    seconds = time.perf_counter() - started
    with store.connect() as conn:
        n = batch.count_bills(conn, job)
    return n, seconds


# -- the naive baseline ------------------------------------------------------------------

def naive_setup() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    from qrpay.ebill.fonts import font_path

    for name, role in (("L", "latin"), ("LB", "latin-bold"), ("D", "deva"),
                       ("DB", "deva-bold"), ("B", "beng"), ("BB", "beng-bold")):
        pdfmetrics.registerFont(TTFont(name, str(font_path(role)), shapable=True))


def naive_render(bill: Bill, config: Config) -> bytes:
    """A straightforward renderer: the way one would write it first."""
    import segno
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    from qrpay.money import format_amount
    from qrpay.payload import bill_payload
    from qrpay.templating import texts

    biller = config.biller(bill.biller)
    lang = bill.language or biller.language
    local, en = texts("bill", lang), texts("bill", "en")
    script = "B" if lang == "bn" else "D"
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    w, h = A4
    c.setFillColorRGB(0.12, 0.3, 0.47)
    c.rect(28, h - 100, w - 56, 72, fill=1, stroke=0)
    c.setFillColorRGB(1, 1, 1)
    c.setFont(script + "B", 15)
    c.drawString(102, h - 60, biller.name_local or biller.name, shaping=True)
    c.setFont("L", 10)
    c.drawString(102, h - 78, biller.name)
    c.setFillColorRGB(0, 0, 0)
    y = h - 140
    values = [("name", bill.name), ("address", bill.address or ""),
              ("account_no", bill.account_no), ("bill_no", bill.bill_no),
              ("category", bill.category or ""), ("meter_no", bill.meter_no or "")]
    for key, value in values:
        c.setFont(script, 8)
        c.drawString(40, y, str(local[key]), shaping=True)
        c.setFont("L", 6.5)
        c.drawString(40, y - 8, str(en[key]))
        c.setFont(script, 9.5)
        c.drawString(150, y, value[:60], shaping=True)
        y -= 22
    y -= 20
    for head, minor in bill.charges:
        c.setFont("L", 9)
        c.drawString(40, y, head)
        c.drawRightString(340, y, format_amount(minor, currency=biller.currency,
                                                numerals=biller.numerals), shaping=True)
        y -= 18
    c.setFont(script + "B", 20)
    c.drawString(380, h - 170, format_amount(bill.amount, currency=biller.currency,
                                             numerals=biller.numerals), shaping=True)
    for i, kwh in enumerate(bill.history[-12:]):
        c.rect(200 + i * 30, 200, 18, kwh / 5, fill=1, stroke=0)
    if bill.amount > 0:
        payload = bill_payload(bill, biller, config)
        qr = segno.make(payload, error="m", micro=False)
        png = io.BytesIO()
        qr.save(png, kind="png", scale=4, border=4)
        png.seek(0)
        c.drawImage(ImageReader(png), 400, 420, width=90, height=90)
        c.setFont("L", 6)
        c.drawString(380, 410, payload[:80])
    c.showPage()
    c.save()
    return buf.getvalue()


def naive_rate(bills: list[Bill], configs: dict[str, Config], out: Path) -> float:
    naive_setup()
    naive_render(bills[0], configs[bills[0].biller])  # warm-up: font files parsed
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for bill in bills:
        pdf = naive_render(bill, configs[bill.biller])
        (out / f"{bill.bill_no}.pdf").write_bytes(pdf)
    return len(bills) / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bills", type=int, default=10_000, help="bills in all (half each)")
    parser.add_argument("--baseline", type=int, default=400,
                        help="bills for the (slow) naive baseline")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="qrpay-bench-") as tmp_name:
        tmp = Path(tmp_name)
        half = args.bills // 2
        loaded = {p: load(tmp, p, half) for p in PROFILES}
        print(f"e-bill rendering: {2 * half:,} bills ({half:,} BEST, {half:,} BREB), "
              f"{os.cpu_count()} cores, Python {sys.version.split()[0]}")
        results: dict[tuple[str, int], float] = {}
        for kind in ("single PDFs", "print books"):
            for workers in (1, 2):
                total, seconds = 0, 0.0
                for p, (config, store) in loaded.items():
                    n, s = timed_batch(config, store, tmp / f"{p}-{kind[:5]}-{workers}",
                                       workers=workers, books=kind == "print books")
                    total += n
                    seconds += s
                results[(kind, workers)] = total / seconds
                print(f"  qrpay  {kind:<12} {workers} worker{'s' if workers > 1 else ' '}: "
                      f"{total / seconds:8.0f} bills/s  ({total:,} bills in {seconds:.1f} s)")
        sample: list[Bill] = []
        configs = {}
        for config, store in loaded.values():
            with store.connect() as conn:
                got = list(iter_bills(conn, period="2026-11"))[:args.baseline // 2]
            sample += got
            configs.update({code: config for code in config.billers})
        base = naive_rate(sample, configs, tmp / "naive")
        print(f"  naive  single PDFs  1 worker : {base:8.0f} bills/s  ({len(sample)} bills; "
              "reportlab + segno default mask + PNG QR)")
        one = results[("single PDFs", 1)]
        print(f"  speed-up over naive, 1 worker: {one / base:.1f}x; "
              f"2 workers: {results[('single PDFs', 2)] / base:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
