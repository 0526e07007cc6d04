"""An online backup of the embedded SQLite store: ``backup_sqlite(url, dest)``.

SQLite's backup API copies the database page by page while the service keeps running
(writers wait only for the moment each step takes), so a backup taken during the day is a
consistent snapshot, WAL included.  The copy is written beside ``dest`` and renamed into
place only after ``PRAGMA integrity_check`` passes on it: a half-written file never carries
the backup's name.  PostgreSQL is backed up with its own tools (docs/operations.md).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qrpay.errors import ConfigError

PAGES_PER_STEP = 1024  # ~4 MB: writers are held up for one step at a time, not the whole copy


@dataclass(frozen=True)
class BackupResult:
    path: Path
    bytes: int
    pages: int


def sqlite_path(url: str) -> Path:
    if not url.startswith("sqlite"):
        raise ConfigError("qrpay db backup copies the SQLite store; back PostgreSQL up with "
                          "pg_dump or pg_basebackup (docs/operations.md)", code="not_sqlite")
    path = url.split("///", 1)[1] if "///" in url else ""
    if not path or path == ":memory:":
        raise ConfigError(f"no database file in {url!r}", code="bad_database_url")
    if not Path(path).is_file():
        raise ConfigError(f"no database at {path}", code="not_found", field="database_url")
    return Path(path)


def backup_sqlite(url: str, dest: Path,
                  progress: Callable[[int, int], None] | None = None) -> BackupResult:
    """Copy the store at ``url`` to ``dest`` (atomically; an existing file is replaced)."""
    source_path = sqlite_path(url)
    dest = Path(dest)
    if dest.resolve() == source_path.resolve():
        raise ConfigError("the backup must not overwrite the database itself",
                          code="bad_value", field="dest")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(partial)
    try:
        def step(_status: int, remaining: int, total: int) -> None:
            if progress is not None:
                progress(total - remaining, total)

        source.backup(target, pages=PAGES_PER_STEP, progress=step)
        pages = target.execute("PRAGMA page_count").fetchone()[0]
        verdict = target.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        target.close()
        source.close()
    if verdict != "ok":
        partial.unlink(missing_ok=True)
        raise ConfigError(f"the copy failed its integrity check: {verdict}", code="bad_backup")
    os.replace(partial, dest)
    return BackupResult(dest, dest.stat().st_size, pages)
