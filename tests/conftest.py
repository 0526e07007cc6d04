"""Shared fixtures: a fresh database per test (SQLite always, PostgreSQL too when
``QRPAY_TEST_DATABASE_URL`` is set), the sample profiles, and test secrets."""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from qrpay.config import Config, load_config
from qrpay.store import Store, open_store
from qrpay.store.schema import metadata

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
PG_URL = os.environ.get("QRPAY_TEST_DATABASE_URL", "")

TEST_SECRETS = {
    "QRPAY_TOKEN_KEY_K1": "test-token-key-k1-0123456789abcdef",
    "QRPAY_SECRET_UPI": "test-secret-upi",
    "QRPAY_SECRET_RAZORPAY": "test-secret-razorpay",
    "QRPAY_SECRET_PHONEPE": "test-secret-phonepe",
    "QRPAY_SECRET_BKASH": "test-secret-bkash",
    "QRPAY_SECRET_ROCKET": "test-secret-rocket",
    "QRPAY_SECRET_NAGAD": "test-secret-nagad",
    "QRPAY_SESSION_KEY": "test-session-key-0123456789abcdef",
    "QRPAY_WHATSAPP_APP_SECRET": "test_app_secret",
    "QRPAY_WHATSAPP_VERIFY_TOKEN": "test-verify-token",
    "QRPAY_WHATSAPP_TOKEN": "test-graph-token",
    "QRPAY_BDAPPS_PASSWORD": "test-bdapps-password",
}


@pytest.fixture(autouse=True)
def _test_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in TEST_SECRETS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("QRPAY_SECRETS_FILE", raising=False)
    monkeypatch.delenv("QRPAY_DATABASE_URL", raising=False)
    monkeypatch.delenv("QRPAY_CONFIG", raising=False)


def _backends() -> list[str]:
    return ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


def _pg_schema_url(name: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    # synchronous_commit=off: commits stay transactional, only the fsync wait goes.
    return f"{PG_URL}{sep}options=-csearch_path%3D{name}%20-csynchronous_commit%3Doff"


@contextmanager
def _pg_schema() -> Iterator[str]:
    name = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {name}"))
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()


@pytest.fixture(scope="session")
def _pg_session_url() -> Iterator[str]:
    """One upgraded PostgreSQL schema for the session; tests empty it before use."""
    with _pg_schema() as name:
        url = _pg_schema_url(name)
        open_store(url, upgrade=True).dispose()
        yield url


_ENGINES: dict[str, Any] = {}


def _truncate_all(url: str) -> None:
    # DELETE is much faster than TRUNCATE on tables this small.
    engine = _ENGINES.get(url) or _ENGINES.setdefault(url, create_engine(url, poolclass=NullPool))
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            if table.name != "schema_version":
                conn.execute(table.delete())


@pytest.fixture(params=_backends())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty, upgraded database: a new SQLite file, or the session's
    PostgreSQL schema emptied (creating a schema per test costs more than the test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    url = request.getfixturevalue("_pg_session_url")
    _truncate_all(url)
    yield url


@pytest.fixture(params=_backends())
def fresh_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to a database with no schema at all (for migration tests)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    with _pg_schema() as name:
        yield _pg_schema_url(name)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = open_store(db_url, upgrade=True)
    yield s
    s.dispose()


def _profile(name: str, db_url: str) -> Config:
    return dataclasses.replace(load_config(SAMPLES / name), database_url=db_url)


@pytest.fixture
def best_config(db_url: str, store: Store) -> Config:
    """The BEST (Mumbai, UPI) sample profile on the test database."""
    return _profile("best.toml", db_url)


@pytest.fixture
def breb_config(db_url: str, store: Store) -> Config:
    """The BREB (Bangladesh, several co-operatives, Bangla QR) profile on the test database."""
    return _profile("breb.toml", db_url)
