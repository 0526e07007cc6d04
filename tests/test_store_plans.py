"""The hot path's look-ups keep their unique index on a young database.

A payment starts by reading its channel's transaction (``qrpay.biller.core.existing``).
On a new PostgreSQL schema (no statistics yet) the generic plan psycopg's prepared
statement settles on took ``ix_payments_channel_posted`` (channel only, every row of
the channel read and filtered on txn_id): half a millisecond a payment after a few
thousand payments, the largest cost of a payment on the server.  Migration 10 made
that index partial (posted payments only), so it is no candidate for this look-up.
"""

from __future__ import annotations

from sqlalchemy import text

from qrpay.biller.core import _STORED_SQL
from qrpay.clock import utcnow
from qrpay.store import MIGRATIONS, _index_sql, open_store


def _generic_plan(conn) -> str:
    """The plan PostgreSQL keeps for the prepared look-up once it goes generic."""
    conn.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
    conn.exec_driver_sql("PREPARE stored_probe(text, text) AS "
                         + _STORED_SQL.replace("?", "$1", 1).replace("?", "$2", 1))
    try:
        return "\n".join(conn.exec_driver_sql(
            "EXPLAIN EXECUTE stored_probe('bkash', 'TRX1')").scalars())
    finally:
        conn.exec_driver_sql("DEALLOCATE stored_probe")


def _unique(plan: str) -> bool:
    """The plan reads the unique index on (channel, txn_id) (SQLite names it itself)."""
    return ("uq_payments_channel_txn" in plan or "sqlite_autoindex_payments" in plan
            and "(channel=? AND txn_id=?)" in plan)


def _some_payments(conn, n: int = 50) -> None:
    """A young table: a few payments, no statistics (the first minutes of a database)."""
    conn.execute(text(
        "INSERT INTO payments (channel, txn_id, biller, bill_no, account_no, amount, "
        "currency, status, receipt_no, posted_at, created_at, updated_at) VALUES "
        "('bkash', :t, 'pbs', :b, '104231245', 100000, 'BDT', 'success', :r, :at, :at, :at)"),
        [{"t": f"TRX{i}", "b": f"B{i}", "r": f"R{i}", "at": utcnow()} for i in range(n)])


def _plan(conn) -> str:
    _some_payments(conn)
    if conn.dialect.name == "postgresql":
        return _generic_plan(conn)
    rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + _STORED_SQL, ("bkash", "TRX1"))
    return "\n".join(str(r[-1]) for r in rows)


def test_a_new_database_looks_a_payment_up_by_its_unique_index(fresh_db_url):
    store = open_store(fresh_db_url, upgrade=True)
    try:
        with store.begin() as conn:
            plan = _plan(conn)
            partial = _index_sql(conn, "ix_payments_channel_posted")
        assert _unique(plan), plan
        assert "ix_payments_channel_posted" not in plan, plan
        assert "WHERE" in partial.upper()
    finally:
        store.dispose()


def _at_version_9(conn, posted_index: str) -> None:
    """A database as migration 9 left it, with ``posted_index`` as its posted index."""
    for _version, _what, step in MIGRATIONS[:9]:
        step(conn)
    conn.execute(text("DROP INDEX ix_payments_channel_posted"))
    conn.execute(text(posted_index))
    conn.execute(text("INSERT INTO schema_version (version, applied_at) "
                      "VALUES (9, CURRENT_TIMESTAMP)"))


def test_migration_10_makes_the_posted_index_of_an_older_database_partial(fresh_db_url):
    store = open_store(fresh_db_url, upgrade=False)
    try:
        with store.begin() as conn:
            # what migration 3 made before: the index on every payment
            _at_version_9(conn, "CREATE INDEX ix_payments_channel_posted "
                                "ON payments (channel, posted_at)")
            assert "WHERE" not in _index_sql(conn, "ix_payments_channel_posted").upper()
        assert 10 in store.upgrade()
        with store.begin() as conn:
            assert "WHERE" in _index_sql(conn, "ix_payments_channel_posted").upper()
            assert _unique(_plan(conn))
    finally:
        store.dispose()


def test_migration_10_keeps_a_partial_index_built_beforehand(fresh_db_url):
    """An operator who built the partial index CONCURRENTLY (docs/operations.md) gets
    no second build: migration 10 finds it and only records the version."""
    store = open_store(fresh_db_url, upgrade=False)
    try:
        with store.begin() as conn:
            _at_version_9(conn, "create index ix_payments_channel_posted on payments "
                                "(channel, posted_at) where posted_at is not null")
            before = _index_oid(conn)
        assert 10 in store.upgrade()
        with store.begin() as conn:
            assert _index_oid(conn) == before
    finally:
        store.dispose()


def _bills_by(conn, column: str) -> str:
    """The plan of a read of bills by two forms of a mobile or meter number (on
    PostgreSQL with sequential scans off: a young table is small enough to read whole)."""
    sql = f"SELECT bill_no, account_no FROM bills WHERE {column} IN (?, ?)"
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        rows = conn.exec_driver_sql("EXPLAIN " + sql.replace("?", "%s"), ("1", "2"))
    else:
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, ("1", "2"))
    return "\n".join(str(r[-1]) for r in rows)


def _foreign_keys(conn) -> list[str]:
    from sqlalchemy import inspect

    return [k["referred_table"] for k in inspect(conn).get_foreign_keys("bills")]


def test_bills_by_mobile_and_meter_use_their_partial_indexes(fresh_db_url):
    store = open_store(fresh_db_url, upgrade=True)
    try:
        with store.begin() as conn:
            for column in ("mobile", "meter_no"):
                index = {"mobile": "ix_bills_mobile", "meter_no": "ix_bills_meter"}[column]
                assert f"{column} IS NOT NULL" in _index_sql(conn, index)
                assert index in _bills_by(conn, column)
            assert "imports" not in _foreign_keys(conn)
    finally:
        store.dispose()


def _index_oid(conn) -> object:
    if conn.dialect.name == "postgresql":
        return conn.execute(text("SELECT 'ix_payments_channel_posted'::regclass::oid")
                            ).scalar_one()
    # SQLite reuses the root page: the statement's own spelling tells the builds apart
    return conn.execute(text("SELECT sql FROM sqlite_master "
                             "WHERE name = 'ix_payments_channel_posted'")).scalar_one()


def test_migration_11_drops_the_import_key_and_makes_the_bill_indexes_partial(fresh_db_url):
    """A database as migration 10 left it: the foreign key bills.import_id -> imports,
    the mobile and meter indexes over every row (nulls too)."""
    store = open_store(fresh_db_url, upgrade=False)
    pg = fresh_db_url.startswith("postgresql")
    try:
        with store.begin() as conn:
            for _version, _what, step in MIGRATIONS[:10]:
                step(conn)
            if pg:
                conn.execute(text("ALTER TABLE bills ADD CONSTRAINT bills_import_id_fkey "
                                  "FOREIGN KEY (import_id) REFERENCES imports (id)"))
            for index, column in (("ix_bills_mobile", "mobile"), ("ix_bills_meter", "meter_no")):
                conn.execute(text(f"DROP INDEX {index}"))
                conn.execute(text(f"CREATE INDEX {index} ON bills ({column})"))
            conn.execute(text("INSERT INTO schema_version (version, applied_at) "
                              "VALUES (10, CURRENT_TIMESTAMP)"))
            assert "WHERE" not in _index_sql(conn, "ix_bills_meter").upper()
        assert store.upgrade() == [11]
        with store.begin() as conn:
            assert "imports" not in _foreign_keys(conn) or not pg
            assert "USING hash" in _index_sql(conn, "ix_bills_mobile") or not pg
            for index, column in (("ix_bills_mobile", "mobile"), ("ix_bills_meter", "meter_no")):
                assert f"{column} IS NOT NULL" in _index_sql(conn, index)
                assert index in _bills_by(conn, column)
    finally:
        store.dispose()


def test_migration_11_keeps_bill_indexes_built_beforehand(fresh_db_url):
    """The indexes built the way docs/operations.md says, before the upgrade: migration 11
    leaves them (and on PostgreSQL drops the foreign key)."""
    store = open_store(fresh_db_url, upgrade=False)
    pg = fresh_db_url.startswith("postgresql")
    using = "USING hash " if pg else ""
    try:
        with store.begin() as conn:
            for _version, _what, step in MIGRATIONS[:10]:
                step(conn)
            for index, column, how in (("ix_bills_mobile", "mobile", using),
                                       ("ix_bills_meter", "meter_no", "")):
                conn.execute(text(f"DROP INDEX {index}"))
                conn.execute(text(f"CREATE INDEX {index} ON bills {how}({column}) "
                                  f"where {column} is not null"))
            conn.execute(text("INSERT INTO schema_version (version, applied_at) "
                              "VALUES (10, CURRENT_TIMESTAMP)"))
            before = _made(conn)
        assert store.upgrade() == [11]
        with store.begin() as conn:
            assert _made(conn) == before
            assert "imports" not in _foreign_keys(conn) or not pg
    finally:
        store.dispose()


def _made(conn) -> dict[str, object]:
    """The bill indexes as built (PostgreSQL's oid, SQLite's statement as spelled)."""
    if conn.dialect.name == "postgresql":
        return {i: conn.execute(text(f"SELECT '{i}'::regclass::oid")).scalar_one()
                for i in ("ix_bills_mobile", "ix_bills_meter")}
    return {i: _index_sql(conn, i) for i in ("ix_bills_mobile", "ix_bills_meter")}
