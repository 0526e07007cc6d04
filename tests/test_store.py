from sqlalchemy import inspect

from qrpay.store import LATEST, open_store


def test_upgrade_creates_every_table_and_records_the_version(store):
    names = set(inspect(store.engine).get_table_names())
    assert {"bills", "payments", "ledger", "callbacks", "outbox", "audit", "staff",
            "api_keys", "receipt_counters", "schema_version"} <= names
    assert store.version() == LATEST


def test_upgrade_twice_applies_nothing(store):
    assert store.upgrade() == []


def test_upgrade_on_an_empty_database_applies_every_migration(fresh_db_url):
    store = open_store(fresh_db_url, upgrade=False)
    assert store.version() == 0
    assert store.upgrade() == list(range(1, LATEST + 1))
    store.dispose()


def test_embedded_sqlite_upgrades_itself(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'sub' / 'q.db'}")
    assert store.version() == LATEST


def test_v2_adds_bill_details_to_a_version_1_database(fresh_db_url):
    """A database made before bills.details existed gets the column from migration 2."""
    from sqlalchemy import inspect, text

    from qrpay.store import MIGRATIONS

    store = open_store(fresh_db_url, upgrade=False)
    try:
        with store.begin() as conn:
            MIGRATIONS[0][2](conn)
            conn.execute(text("ALTER TABLE bills DROP COLUMN details"))
            conn.execute(text("INSERT INTO schema_version (version, applied_at) "
                              "VALUES (1, CURRENT_TIMESTAMP)"))
        assert 5 in store.upgrade()
        with store.connect() as conn:
            assert "details" in {c["name"] for c in inspect(conn).get_columns("bills")}
    finally:
        store.dispose()
