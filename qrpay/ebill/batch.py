"""The billing-cycle batch: every bill of a period to PDF, in parallel, resumable.

Work is cut into *chunks*: whole billing books (a book is the account number without its
last two digits, the page is the last two: digits 6-7 and 8-9 of a Bangladesh account,
and the same rule for Indian consumer numbers), in account order, about ``chunk_size``
bills each.  The plan depends only on the bills, so a rerun cuts the same chunks.

A worker renders a chunk's bills to ``bills/<bill_no>.pdf`` (and with books,
``books/<biller>-<book>.pdf``), each written to a temporary name and renamed into place,
then writes the chunk's part file ``.parts/<n>.jsonl`` the same way.  A chunk is done
exactly when its part file exists and names the same bills and amounts, so ``--resume``
after a crash or ``kill -9`` skips finished chunks and redoes the rest (rendering is
deterministic: a redone file is byte for byte the same).  At the end the parts are joined
into ``manifest.csv`` (and ``books/index.csv``).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qrpay.bills import Bill, iter_bills
from qrpay.config import Config
from qrpay.errors import Conflict, RenderError
from qrpay.money import to_decimal_str

MANIFEST_COLUMNS = ("bill_no", "biller", "account_no", "amount", "qr_amount", "payload",
                    "file", "sha256", "bytes", "book", "page", "verified")
BOOK_COLUMNS = ("biller", "book", "file", "bills", "sha256", "bytes")
SAMPLE_EVERY = 50


@dataclass(frozen=True)
class Job:
    config: Config
    out: str
    period: str
    billers: tuple[str, ...]
    books: bool = False
    verify: str = "none"  # none | sample | all
    size: str = "A4"
    on: dt.date | None = None
    break_qr: frozenset[str] = frozenset()  # test hook: bills whose QR is wiped
    singles: bool = True  # write bills/<bill_no>.pdf (False: books only, for benchmarks)
    howto: Callable[..., Any] | None = None  # "how to pay" steps (qrpay.ebill.render.HowTo)


@dataclass(frozen=True)
class Chunk:
    index: int
    biller: str
    books: tuple[tuple[str, tuple[Bill, ...]], ...]

    @property
    def bills(self) -> list[Bill]:
        return [b for _, bills in self.books for b in bills]

    def digest(self) -> str:
        h = hashlib.sha256()
        for b in self.bills:
            h.update(f"{b.bill_no}:{b.amount}:{b.late_amount};".encode())
        return h.hexdigest()


@dataclass
class ChunkResult:
    index: int
    rows: list[dict[str, Any]]
    books: list[dict[str, Any]]
    failures: list[tuple[str, str]]
    skipped: bool = False


@dataclass
class Summary:
    bills: int = 0
    rendered: int = 0
    resumed: int = 0
    books: int = 0
    no_qr: int = 0
    verified: int = 0  # QRs decoded back by this run (bills it rendered)
    verified_before: int = 0  # by the interrupted run, for the bills a resume skipped
    failures: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.rendered / self.seconds if self.seconds else 0.0


# -- plan --------------------------------------------------------------------------------

def book_of(account_no: str) -> tuple[str, str]:
    """(book, page): all digits but the last two, and the last two."""
    return account_no[:-2] or "0", account_no[-2:]


def plan(conn: Any, job: Job, chunk_size: int = 200) -> Iterator[Chunk]:
    """Chunks of whole books, per biller, in account order (deterministic)."""
    index = 0
    for code in job.billers:
        seen: set[str] = set()
        books: list[tuple[str, tuple[Bill, ...]]] = []
        current: list[Bill] = []
        key = None
        count = 0
        for bill in iter_bills(conn, period=job.period, biller=code):
            book = book_of(bill.account_no)[0]
            if book != key:
                if current:
                    books.append((key or "", tuple(current)))
                    count += len(current)
                    current = []
                    if count >= chunk_size:
                        yield Chunk(index, code, tuple(books))
                        index += 1
                        books, count = [], 0
                if book in seen:
                    raise RenderError(f"bills of book {book} are not contiguous in bill-number "
                                      "order", code="book_order")
                seen.add(book)
                key = book
            current.append(bill)
        if current:
            books.append((key or "", tuple(current)))
        if books:
            yield Chunk(index, code, tuple(books))
            index += 1


def count_bills(conn: Any, job: Job) -> int:
    from sqlalchemy import func, select

    from qrpay.store.schema import bills

    q = select(func.count()).select_from(bills).where(bills.c.period == job.period)
    q = q.where(bills.c.biller.in_(job.billers))
    return int(conn.execute(q).scalar_one())


# -- files -------------------------------------------------------------------------------

def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers only ever see the whole file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def clean_temporaries(out: Path) -> int:
    removed = 0
    for sub in ("bills", "books", ".parts", "."):
        d = out / sub
        if not d.is_dir():
            continue
        with os.scandir(d) as it:
            for entry in it:
                if entry.name.startswith(".") and entry.name.endswith(".tmp"):
                    os.unlink(entry.path)
                    removed += 1
    return removed


def part_path(out: Path, index: int) -> Path:
    return out / ".parts" / f"{index:07d}.jsonl"


def read_part(path: Path) -> tuple[str, ChunkResult] | None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return None
    head = json.loads(lines[0])
    result = ChunkResult(index=head["index"], rows=[], books=[],
                         failures=[tuple(f) for f in head["failures"]], skipped=True)
    for line in lines[1:]:
        item = json.loads(line)
        (result.books if item.pop("kind") == "book" else result.rows).append(item)
    return head["digest"], result


def write_part(out: Path, chunk: Chunk, result: ChunkResult) -> None:
    head = {"index": chunk.index, "digest": chunk.digest(), "failures": result.failures}
    lines = [json.dumps(head, ensure_ascii=False)]
    lines += [json.dumps({"kind": "bill", **r}, ensure_ascii=False) for r in result.rows]
    lines += [json.dumps({"kind": "book", **r}, ensure_ascii=False) for r in result.books]
    write_atomic(part_path(out, chunk.index), ("\n".join(lines) + "\n").encode())


# -- work --------------------------------------------------------------------------------

def _should_verify(job: Job, position: int) -> bool:
    return job.verify == "all" or (job.verify == "sample" and position % SAMPLE_EVERY == 0)


def run_chunk(job: Job, chunk: Chunk) -> ChunkResult:
    """Render one chunk (in a worker process, thread or Dask task)."""
    from qrpay.ebill.render import render_bill, render_book
    from qrpay.ebill.verify import check

    out = Path(job.out)
    biller = job.config.biller(chunk.biller)
    result = ChunkResult(index=chunk.index, rows=[], books=[], failures=[])
    position = 0
    for book, bills in chunk.books:
        for bill in bills if job.singles else ():
            r = render_bill(bill, biller, job.config, size=job.size, on=job.on,
                            break_qr=bill.bill_no in job.break_qr, howto=job.howto)
            rel = f"bills/{bill.bill_no}.pdf"
            write_atomic(out / rel, r.pdf)
            verified = ""
            if _should_verify(job, position) and r.payload is not None:
                problem = check(r)
                verified = "fail" if problem else "ok"
                if problem:
                    result.failures.append((bill.bill_no, problem))
            position += 1
            result.rows.append({
                "bill_no": bill.bill_no, "biller": bill.biller, "account_no": bill.account_no,
                "amount": to_decimal_str(bill.amount),
                "qr_amount": "" if r.qr_amount is None else to_decimal_str(r.qr_amount),
                "payload": r.payload or "", "file": rel, "sha256": r.sha256,
                "bytes": len(r.pdf), "book": book if job.books else "",
                "page": book_of(bill.account_no)[1] if job.books else "",
                "verified": verified})
        if job.books:
            pdf = render_book(book, bills, biller, job.config, size=job.size, on=job.on,
                              howto=job.howto)
            rel = f"books/{chunk.biller}-{book}.pdf"
            write_atomic(out / rel, pdf)
            result.books.append({"biller": chunk.biller, "book": book, "file": rel,
                                 "bills": len(bills),
                                 "sha256": hashlib.sha256(pdf).hexdigest(),
                                 "bytes": len(pdf)})
    write_part(out, chunk, result)
    return result


def prepare(out: Path, job: Job, *, resume: bool) -> None:
    """Create the output folders; refuse to mix a new run into an old one."""
    if (out / ".parts").is_dir() and any((out / ".parts").iterdir()) and not resume:
        raise Conflict(f"{out} holds an earlier run; pass --resume to finish it or choose "
                       "another --out", code="out_not_empty", field="out")
    for sub in ("bills", ".parts") + (("books",) if job.books else ()):
        (out / sub).mkdir(parents=True, exist_ok=True)
    clean_temporaries(out)
    stamp = out / ".parts" / "job.json"
    desc = {"period": job.period, "billers": list(job.billers), "books": job.books,
            "size": job.size, "on": job.on.isoformat() if job.on else None}
    if stamp.exists() and json.loads(stamp.read_text()) != desc:
        raise Conflict(f"{out} was started with other options ({stamp.read_text().strip()})",
                       code="resume_mismatch", field="out")
    write_atomic(stamp, json.dumps(desc).encode())


Submit = Callable[[Iterator[Chunk], Callable[[ChunkResult], None]], None]


def _pending(chunks: Iterator[Chunk], out: Path, resume: bool,
             done: Callable[[ChunkResult], None]) -> Iterator[Chunk]:
    """Chunks still to render; finished ones (on resume) are reported as skipped."""
    for chunk in chunks:
        if resume:
            found = read_part(part_path(out, chunk.index))
            if found and found[0] == chunk.digest():
                done(found[1])
                continue
        yield chunk


def submit_local(job: Job, workers: int) -> Submit:
    def run(chunks: Iterator[Chunk], done: Callable[[ChunkResult], None]) -> None:
        if workers <= 1:
            for chunk in chunks:
                done(run_chunk(job, chunk))
            return
        import multiprocessing as mp

        ctx = mp.get_context("forkserver")
        with ctx.Pool(workers) as pool:
            inflight: deque[Any] = deque()
            for chunk in chunks:
                inflight.append(pool.apply_async(run_chunk, (job, chunk)))
                while len(inflight) >= workers * 3:
                    done(inflight.popleft().get())
            while inflight:
                done(inflight.popleft().get())
    return run


def submit_dask(job: Job, scheduler: str) -> Submit:
    def run(chunks: Iterator[Chunk], done: Callable[[ChunkResult], None]) -> None:
        from distributed import Client, wait

        with Client(scheduler) as client:
            limit = max(4, 3 * sum(client.nthreads().values()))
            pending: set[Any] = set()
            for chunk in chunks:
                pending.add(client.submit(run_chunk, job, chunk, pure=False,
                                          key=f"qrpay-render-{job.period}-{chunk.index}"))
                if len(pending) >= limit:
                    finished, pending = wait(pending, return_when="FIRST_COMPLETED")
                    for fut in finished:
                        done(fut.result())
            for fut in pending:
                done(fut.result())
    return run


def finish(out: Path, job: Job, indices: set[int]) -> tuple[int, int]:
    """Join this plan's part files into manifest.csv (and books/index.csv), atomically;
    part files left from an older plan of the same folder are removed."""
    for p in (out / ".parts").glob("*.jsonl"):
        if int(p.stem) not in indices:
            p.unlink()
    bills_rows, book_rows = [], []
    for p in (part_path(out, i) for i in sorted(indices)):
        found = read_part(p)
        if found:
            bills_rows += found[1].rows
            book_rows += found[1].books
    _write_csv(out / "manifest.csv", MANIFEST_COLUMNS, bills_rows)
    if job.books:
        _write_csv(out / "books" / "index.csv", BOOK_COLUMNS, book_rows)
    return len(bills_rows), len(book_rows)


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n",
                            extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(path, buf.getvalue().encode("utf-8"))


def run(store: Any, job: Job, *, workers: int = 1, resume: bool = False,
        scheduler: str | None = None, chunk_size: int = 200,
        progress: Callable[[int], None] | None = None) -> Summary:
    """Render the cycle; see the module doc.  ``progress(n)`` after each chunk."""
    out = Path(job.out)
    prepare(out, job, resume=resume)
    summary = Summary()
    started = time.perf_counter()

    indices: set[int] = set()

    def done(result: ChunkResult) -> None:
        indices.add(result.index)
        n = len(result.rows)
        summary.bills += n
        if result.skipped:
            summary.resumed += n
        else:
            summary.rendered += n
        summary.books += len(result.books)
        summary.no_qr += sum(1 for r in result.rows if not r["payload"])
        checked = sum(1 for r in result.rows if r["verified"])
        if result.skipped:  # rendered and checked by the earlier run, not this one
            summary.verified_before += checked
        else:
            summary.verified += checked
        summary.failures += [(str(a), str(b)) for a, b in result.failures]
        if progress:
            progress(n)

    submit = submit_dask(job, scheduler) if scheduler else submit_local(job, workers)
    with store.connect() as conn:
        submit(_pending(plan(conn, job, chunk_size), out, resume, done), done)
    finish(out, job, indices)
    summary.seconds = time.perf_counter() - started
    return summary
