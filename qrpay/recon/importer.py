"""``import_settlement``: one settlement file into the reconciliation, all or nothing.

The file is read once, row by row (bounded memory), and matched in batches inside one
transaction.  Every bad row is reported (file, row, column, code; up to ``max_errors``)
and then the transaction is rolled back: a bad file writes nothing, not even the
postings of its good lines.  A file is known by its channel and SHA-256: importing the
same file again changes nothing (``already_imported``).  ``dry_run`` does everything and
rolls back, so the report shows what the import would do.

After the lines: payments of the channel posted (by callback) more than the channel's
settlement window before the file's last settlement day, and still in no settlement
file, are held as ``not_settled``; and each settlement id's lines are checked: net
settled = gross - fee - tax (refunds count negative).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, exists, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from qrpay.config import Config
from qrpay.errors import ConfigError, ImportError_, ValidationError
from qrpay.money import to_decimal_str
from qrpay.recon import formats, reader
from qrpay.recon.match import SUGGESTED, Matcher
from qrpay.store import Store, utcnow
from qrpay.store.schema import (
    payments,
    recon_exceptions,
    recon_files,
    recon_lines,
    recon_settlements,
)

LOOKBACK_DAYS = 45  # how far back the "never settled" sweep looks


@dataclass
class ReconReport:
    file: str
    channel: str
    format: str
    lines: int = 0
    dry_run: bool = False
    file_id: int | None = None
    already_imported: int | None = None  # id of the earlier import of this same file
    counts: dict[str, int] = field(default_factory=dict)
    settlements: list[dict[str, Any]] = field(default_factory=list)
    errors: list[ImportError_] = field(default_factory=list)
    more_errors: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "channel": self.channel, "format": self.format,
                "lines": self.lines, "dry_run": self.dry_run, "ok": self.ok,
                "file_id": self.file_id, "already_imported": self.already_imported,
                "outcomes": dict(sorted(self.counts.items())),
                "settlements": self.settlements,
                "errors": [{"file": e.file, "row": e.row, "column": e.column,
                            "code": e.code, "message": e.message} for e in self.errors],
                "more_errors": self.more_errors}

    def add_error(self, error: ImportError_, limit: int) -> None:
        if len(self.errors) < limit:
            self.errors.append(error)
        else:
            self.more_errors += 1


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def import_settlement(store: Store, config: Config, path: str | Path, channel: str, *,
                      format_name: str | None = None, dry_run: bool = False,
                      batch_size: int = 5000, max_errors: int = 50,
                      progress: Callable[[int], None] | None = None,
                      now: dt.datetime | None = None) -> ReconReport:
    path = Path(path)
    if channel not in config.channels:
        raise ConfigError(f"unknown channel {channel!r}; known: {', '.join(config.channels)}",
                          code="unknown_channel", field="channel")
    cmap = formats.column_map(config.channels[channel], format_name)
    report = ReconReport(file=str(path), channel=channel, format=cmap.name, dry_run=dry_run)
    if not path.is_file():
        report.errors.append(ImportError_("no such file", code="file_not_found", file=str(path)))
        return report
    try:
        reader.kind_of(path)
    except ImportError_ as exc:
        report.errors.append(exc)
        return report
    sha = file_sha256(path)
    now = now or utcnow()
    with store.begin() as conn:
        earlier = conn.execute(select(recon_files.c.id).where(
            recon_files.c.channel == channel, recon_files.c.sha256 == sha)).scalar()
        if earlier is not None:
            report.already_imported = int(earlier)
            return report
        file_id = _file_row(conn, channel, path, sha, cmap.name, now)
        if file_id is None:
            report.already_imported = conn.execute(select(recon_files.c.id).where(
                recon_files.c.channel == channel, recon_files.c.sha256 == sha)).scalar()
            return report
        matcher = Matcher(conn, config, channel, file_id, path.name, now)
        _read_and_match(path, cmap, matcher, report, batch_size, max_errors, progress)
        if not report.errors:
            _sweep_unsettled(conn, matcher, cmap.window_days, now)
            report.settlements = _check_settlements(conn, matcher, now)
        report.counts = dict(matcher.counts)
        if report.errors or dry_run:
            conn.rollback()
            return report
        report.file_id = file_id
        conn.execute(update(recon_files).where(recon_files.c.id == file_id).values(
            lines=report.lines, summary=json.dumps(report.counts, sort_keys=True)))
    return report


def _file_row(conn: Connection, channel: str, path: Path, sha: str, fmt: str,
              now: dt.datetime) -> int | None:
    """Claim the file (channel, SHA-256); None when another import has it (PostgreSQL: a
    concurrent import of the same file waits here for the first to commit, then sees it)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(recon_files).values(
        channel=channel, file_name=path.name[:500], sha256=sha, format=fmt, lines=0,
        imported_at=now).on_conflict_do_nothing(
        index_elements=["channel", "sha256"]).returning(recon_files.c.id)
    found = conn.execute(stmt).scalar()
    return None if found is None else int(found)


def _read_and_match(path: Path, cmap: formats.ColumnMap, matcher: Matcher,
                    report: ReconReport, batch_size: int, max_errors: int,
                    progress: Callable[[int], None] | None) -> None:
    batch: list[formats.Line] = []
    header_checked = False
    parser = formats.LineParser(cmap)
    try:
        for row_no, record in reader.rows(path):
            if not header_checked:
                missing = formats.check_header(cmap, set(record))
                if missing:
                    raise ImportError_(f"column {missing!r} is missing ({cmap.name} format)",
                                       code="missing_column", file=str(path), row=1,
                                       column=missing)
                header_checked = True
            report.lines += 1
            try:
                batch.append(parser.parse(row_no, record))
            except ValidationError as exc:
                report.add_error(ImportError_(exc.message, code=exc.code, file=str(path),
                                              row=row_no, column=exc.field), max_errors)
            if len(batch) >= batch_size:
                _flush(matcher, batch, report)
                batch = []
                if progress:
                    progress(report.lines)
        _flush(matcher, batch, report)
    except ImportError_ as exc:
        report.add_error(exc, max_errors)
    if progress:
        progress(report.lines)
    if not header_checked and not report.errors:
        report.add_error(ImportError_("the file has no rows", code="empty_file",
                                      file=str(path)), max_errors)


def _flush(matcher: Matcher, batch: list[formats.Line], report: ReconReport) -> None:
    if batch and not report.errors:  # after a bad row only parsing goes on
        matcher.run(batch)


def _sweep_unsettled(conn: Connection, matcher: Matcher, window_days: int,
                     now: dt.datetime) -> None:
    """Hold posted payments of the channel that no settlement file has carried within
    the window (each once: a payment already held, or released, is not held again)."""
    last = matcher.last_day or now.date()
    cutoff = dt.datetime.combine(last - dt.timedelta(days=window_days), dt.time(),
                                 tzinfo=dt.UTC)
    start = cutoff - dt.timedelta(days=LOOKBACK_DAYS)
    held = exists().where(recon_exceptions.c.payment_id == payments.c.id,
                          recon_exceptions.c.outcome == "not_settled")
    settled = exists().where(recon_lines.c.payment_id == payments.c.id)
    q = select(payments.c.id, payments.c.txn_id, payments.c.biller, payments.c.bill_no,
               payments.c.amount, payments.c.posted_at).where(
        payments.c.channel == matcher.channel, payments.c.status == "success",
        payments.c.posted_at < cutoff, payments.c.posted_at >= start, ~settled, ~held)
    rows = [{"outcome": "not_settled", "channel": matcher.channel, "txn_id": r.txn_id,
             "biller": r.biller, "bill_no": r.bill_no, "payment_id": r.id,
             "file_id": matcher.file_id, "line_no": None, "amount": r.amount,
             "detail": json.dumps({"message": f"posted {r.posted_at:%Y-%m-%d}, not in any "
                                   f"settlement {window_days} days after (file "
                                   f"{matcher.file_name})"}),
             "suggested": SUGGESTED["not_settled"], "state": "open", "opened_at": now}
            for r in conn.execute(q)]
    if rows:
        conn.execute(insert(recon_exceptions), rows)
    matcher.counts["not_settled"] += len(rows)


def _check_settlements(conn: Connection, matcher: Matcher,
                       now: dt.datetime) -> list[dict[str, Any]]:
    out = []
    for sid, s in sorted(matcher.settlements.items()):
        conn.execute(insert(recon_settlements).values(
            file_id=matcher.file_id, channel=matcher.channel, settlement_id=sid,
            lines=s.lines, gross=s.gross, fee=s.fee, tax=s.tax, net=s.net, ok=s.ok))
        out.append({"settlement_id": sid, "lines": s.lines, "gross": to_decimal_str(s.gross),
                    "fee": to_decimal_str(s.fee), "tax": to_decimal_str(s.tax),
                    "net": to_decimal_str(s.net) if s.complete else None, "ok": s.ok})
        if not s.ok:
            matcher.counts["settlement_mismatch"] += 1
            conn.execute(insert(recon_exceptions).values(
                outcome="settlement_mismatch", channel=matcher.channel, txn_id=None,
                file_id=matcher.file_id, amount=s.gross,
                detail=json.dumps({"message": f"settlement {sid}: gross "
                                   f"{to_decimal_str(s.gross)} - fee {to_decimal_str(s.fee)}"
                                   f" - tax {to_decimal_str(s.tax)} != net "
                                   f"{to_decimal_str(s.net)}", "settlement_id": sid}),
                suggested=SUGGESTED["settlement_mismatch"], state="open", opened_at=now))
    return out
