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
from qrpay.store import MIGRATIONS, open_store


def _index_sql(conn, name: str) -> str:
    if conn.dialect.name == "postgresql":
        return conn.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = :n "
                                 "AND schemaname = current_schema()"), {"n": name}).scalar_one()
    return conn.execute(text("SELECT sql FROM sqlite_master WHERE name = :n"),
                        {"n": name}).scalar_one()


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


def test_migration_10_makes_the_posted_index_of_an_older_database_partial(fresh_db_url):
    store = open_store(fresh_db_url, upgrade=False)
    try:
        with store.begin() as conn:
            for _version, _what, step in MIGRATIONS[:9]:
                step(conn)
            # what migration 3 made before: the index on every payment
            conn.execute(text("DROP INDEX ix_payments_channel_posted"))
            conn.execute(text("CREATE INDEX ix_payments_channel_posted "
                              "ON payments (channel, posted_at)"))
            conn.execute(text("INSERT INTO schema_version (version, applied_at) "
                              "VALUES (9, CURRENT_TIMESTAMP)"))
            assert "WHERE" not in _index_sql(conn, "ix_payments_channel_posted").upper()
        assert store.upgrade() == [10]
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
            for _version, _what, step in MIGRATIONS[:9]:
                step(conn)
            conn.execute(text("DROP INDEX ix_payments_channel_posted"))
            conn.execute(text("create index ix_payments_channel_posted on payments "
                              "(channel, posted_at) where posted_at is not null"))
            conn.execute(text("INSERT INTO schema_version (version, applied_at) "
                              "VALUES (9, CURRENT_TIMESTAMP)"))
            before = _index_oid(conn)
        assert store.upgrade() == [10]
        with store.begin() as conn:
            assert _index_oid(conn) == before
    finally:
        store.dispose()


def _index_oid(conn) -> object:
    if conn.dialect.name == "postgresql":
        return conn.execute(text("SELECT 'ix_payments_channel_posted'::regclass::oid")
                            ).scalar_one()
    # SQLite reuses the root page: the statement's own spelling tells the builds apart
    return conn.execute(text("SELECT sql FROM sqlite_master "
                             "WHERE name = 'ix_payments_channel_posted'")).scalar_one()
