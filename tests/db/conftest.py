"""Fixtures: every database test runs on SQLite and on the PostgreSQL server of this machine.

PostgreSQL is part of the contract: if it cannot be reached the PostgreSQL tests fail, they are
not skipped. Each test session creates its own database (CI reuses the server) and drops it at
the end. Point LEADSYNC_TEST_POSTGRES_URL at another server's maintenance database if needed.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from leadsync.db import LeadDatabase
from leadsync.db.schema import metadata
from leadsync.db.types import utcnow

POSTGRES_ADMIN_URL = os.environ.get(
    "LEADSYNC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]


@dataclass(frozen=True)
class Field:
    """A describe entry, as `LeadDatabase.record_describe` takes it."""

    name: str
    type: str = "string"
    custom: bool = True


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, uniquely named database on the local server, dropped after the session."""
    name = f"leadsync_test_{secrets.token_hex(6)}"
    try:
        admin = psycopg.connect(_libpq(POSTGRES_ADMIN_URL), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is required for these tests and {POSTGRES_ADMIN_URL} is "
            f"unreachable: {exc}",
            pytrace=False,
        )
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)
        finally:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="session")
def postgres_database(postgres_url: str) -> Iterator[LeadDatabase]:
    db = LeadDatabase.open(postgres_url)
    yield db
    db.close()


def _empty(db: LeadDatabase) -> None:
    """DELETE, children first: on a few rows it is much faster than TRUNCATE of 18 tables."""
    with db.transaction() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A URL per backend (the PostgreSQL one is the session's database)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'leadsync.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LeadDatabase]:
    """An open, empty, migrated lead database on each backend."""
    if request.param == "sqlite":
        db = LeadDatabase.open(f"sqlite:///{tmp_path / 'leadsync.db'}")
        yield db
        db.close()
        return
    shared: LeadDatabase = request.getfixturevalue("postgres_database")
    _empty(shared)
    shared.clock = utcnow  # a test may have set its own on this shared instance
    yield shared
