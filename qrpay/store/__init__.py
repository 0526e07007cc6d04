"""The bill store: SQLite by default, PostgreSQL for scale-out; same behaviour on both.

``open_store(url)`` returns a :class:`Store`; ``store.upgrade()`` applies the schema
migrations in order and records them in ``schema_version``.  The embedded SQLite default
upgrades itself on open; PostgreSQL is upgraded with ``qrpay db upgrade``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import (
    Connection,
    Engine,
    Index,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
)

from qrpay.clock import utcnow
from qrpay.errors import ConfigError
from qrpay.store import schema
from qrpay.store.schema import metadata

Migration = Callable[[Connection], None]


def _v1_initial(conn: Connection) -> None:
    metadata.create_all(conn)


def _v2_biller_api(conn: Connection) -> None:
    for table in (schema.channel_requests, schema.channel_auth, schema.channel_credits):
        table.create(conn, checkfirst=True)
        for index in table.indexes:
            index.create(conn, checkfirst=True)
    for index in schema.bills.indexes:
        if index.name in {"ix_bills_mobile", "ix_bills_meter"}:
            index.create(conn, checkfirst=True)


def _v3_recon(conn: Connection) -> None:
    metadata.create_all(conn, tables=list(schema.RECON_TABLES), checkfirst=True)
    schema.ix_payments_channel_posted.create(conn, checkfirst=True)


def _v4_shift_note(conn: Connection) -> None:
    # A fresh database already has the column (v1 creates today's tables).
    if "close_note" not in {c["name"] for c in inspect(conn).get_columns("shifts")}:
        conn.execute(text("ALTER TABLE shifts ADD COLUMN close_note TEXT"))


def _add_column(conn: Connection, table: str, column: str, sql_type: str) -> None:
    """``ALTER TABLE ... ADD COLUMN`` unless the column is there (a database made by
    ``_v1_initial`` from today's metadata already has it)."""
    if column not in {c["name"] for c in inspect(conn).get_columns(table)}:
        conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")


def _v5_bill_details(conn: Connection) -> None:
    _add_column(conn, "bills", "details", "TEXT")


def _v6_chat(conn: Connection) -> None:
    metadata.create_all(conn, tables=list(schema.CHAT_TABLES), checkfirst=True)


def _v7_login_throttle(conn: Connection) -> None:
    schema.login_throttle.create(conn, checkfirst=True)


def _v8_scopes_rate_limits(conn: Connection) -> None:
    _add_column(conn, "api_keys", "scopes", "TEXT")
    schema.rate_limits.create(conn, checkfirst=True)


def _v9_recon_polls(conn: Connection) -> None:
    schema.recon_polls.create(conn, checkfirst=True)


def _index_sql(conn: Connection, name: str) -> str | None:
    if conn.dialect.name == "postgresql":
        return conn.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = :n "
                                 "AND schemaname = current_schema()"), {"n": name}).scalar()
    return conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'index' "
                             "AND name = :n"), {"n": name}).scalar()


def _as_defined(conn: Connection, index: Index) -> bool:
    """Whether ``index`` is there as schema.py defines it: partial and, on PostgreSQL, of
    its method (a fresh database; or one built beforehand, as docs/operations.md says)."""
    made = (_index_sql(conn, str(index.name)) or "").upper()
    using = index.dialect_options["postgresql"]["using"] or "btree"
    return " WHERE " in made and (conn.dialect.name != "postgresql"
                                  or f" USING {using.upper()} " in made)


def _rebuild(conn: Connection, index: Index) -> None:
    """``index`` made again as schema.py defines it, unless it is already.  On PostgreSQL
    it is built under its name while the old one, renamed, still serves reads; writes to
    its table wait for the build (docs/operations.md says how to build it beforehand)."""
    if _as_defined(conn, index):
        return
    old = f"{index.name}_old"
    conn.execute(text(f"ALTER INDEX IF EXISTS {index.name} RENAME TO {old}"
                      if conn.dialect.name == "postgresql"
                      else f"DROP INDEX IF EXISTS {index.name}"))
    index.create(conn)
    conn.execute(text(f"DROP INDEX IF EXISTS {old}"))


def _v10_payments_posted_partial(conn: Connection) -> None:
    # partial: a payment's look-up by (channel, txn_id) keeps the unique index
    # (schema.ix_payments_channel_posted says why)
    _rebuild(conn, schema.ix_payments_channel_posted)


def _v11_bill_import(conn: Connection) -> None:
    """The bill import's share of the schema: the foreign key ``bills.import_id ->
    imports`` dropped on PostgreSQL (schema.bills says why the importer keeps it true),
    ``ix_bills_mobile`` and ``ix_bills_meter`` partial (the mobile one a hash index on
    PostgreSQL).  SQLite keeps the key in a database made before (dropping it there means
    copying the table; its check is one look-up a row in the small ``imports`` table).
    On PostgreSQL an index is built under another name before the old one is dropped:
    writes to ``bills`` wait for the build, reads only for the drop (docs/operations.md)."""
    pg = conn.dialect.name == "postgresql"
    if pg:
        for key in inspect(conn).get_foreign_keys("bills"):
            if key["referred_table"] == "imports":
                conn.execute(text(f"ALTER TABLE bills DROP CONSTRAINT {key['name']}"))
    for index in (schema.ix_bills_mobile, schema.ix_bills_meter):
        _rebuild(conn, index)


# (version, description, function).  Append; never edit a released step.
MIGRATIONS: list[tuple[int, str, Migration]] = [
    (1, "initial schema: bills, payments, ledger, outbox, audit, staff", _v1_initial),
    (2, "biller API: channel requests, auth failures, credits; bills by mobile, meter",
     _v2_biller_api),
    (3, "reconciliation and report tables (recon_*, refunds_due, daily_totals)", _v3_recon),
    (4, "shift close note (why the cash counted differs)", _v4_shift_note),
    (5, "bills.details: optional print fields (readings, tariff, load, last payment)",
     _v5_bill_details),
    (6, "chat: sessions, inbound message ids, statuses, watches, complaints", _v6_chat),
    (7, "login_throttle: failed desk logins per client address", _v7_login_throttle),
    (8, "API key scopes; rate_limits: requests per client and minute",
     _v8_scopes_rate_limits),
    (9, "recon_polls: status-poll backoff and node leases per pending payment",
     _v9_recon_polls),
    (10, "ix_payments_channel_posted partial (posted payments only): payment look-ups "
     "by (channel, txn_id) keep the unique index", _v10_payments_posted_partial),
    (11, "bill import: no foreign key bills.import_id on PostgreSQL; ix_bills_mobile and "
     "ix_bills_meter partial (numbers only, no nulls)", _v11_bill_import),
]
LATEST = MIGRATIONS[-1][0]


class Store:
    def __init__(self, url: str, *, pg_schema: str | None = None, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            path = url.split("///", 1)[1] if "///" in url else ""
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(
                url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False})
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin_immediate)
        elif url.startswith("postgresql"):
            args = {}
            if pg_schema:
                args["options"] = f"-csearch_path={pg_schema}"
            self.engine = create_engine(url, echo=echo, connect_args=args, pool_size=10,
                                        max_overflow=20, pool_pre_ping=True)
        else:
            raise ConfigError(f"unsupported database URL {url!r}: use sqlite:///PATH or "
                              "postgresql+psycopg://...", code="bad_database_url")
        self.pg_schema = pg_schema

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction: committed on success, rolled back on error."""
        if self.is_sqlite:
            with self.engine.connect().execution_options(sqlite_immediate=True) as conn:
                with conn.begin():
                    yield conn
        else:
            with self.engine.begin() as conn:
                yield conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def version(self) -> int:
        if not inspect(self.engine).has_table("schema_version"):
            return 0
        with self.engine.connect() as conn:
            return conn.execute(select(func.max(schema.schema_version.c.version))).scalar() or 0

    def upgrade(self) -> list[int]:
        """Apply pending migrations; return the versions applied."""
        applied = []
        current = self.version()
        for version, _desc, step in MIGRATIONS:
            if version <= current:
                continue
            with self.begin() as conn:
                step(conn)
                conn.execute(schema.schema_version.insert().values(
                    version=version, applied_at=utcnow()))
            applied.append(version)
        return applied

    def require_current(self) -> None:
        if self.version() < LATEST:
            raise ConfigError(f"database schema is at version {self.version()}, qrpay needs "
                              f"{LATEST}: run `qrpay db upgrade`", code="schema_outdated")

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # Let SQLAlchemy (not pysqlite) issue BEGIN so that IMMEDIATE takes the write lock up
    # front: concurrent writers then queue on busy_timeout instead of failing to upgrade.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before we answer.  With NORMAL, WAL commits may roll back
    # after a power cut, and a callback already answered 200 would be lost.
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin_immediate(conn: Connection) -> None:
    # Writers (Store.begin) take the write lock at BEGIN; readers start deferred.
    immediate = conn.get_execution_options().get("sqlite_immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def open_store(url: str, *, upgrade: bool | None = None, pg_schema: str | None = None) -> Store:
    """Open the store at ``url``.  SQLite upgrades itself unless ``upgrade=False``."""
    store = Store(url, pg_schema=pg_schema)
    if upgrade or (upgrade is None and store.is_sqlite):
        store.upgrade()
    return store
