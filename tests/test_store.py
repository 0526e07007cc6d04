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
