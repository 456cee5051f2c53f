"""Fixtures for the pull: an emulated org, a connector over it, and a lead database on SQLite
(a file in tmp_path) or on this machine's PostgreSQL server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from leadsync.db import LeadDatabase
from leadsync.emulator.api import query as query_api
from leadsync.emulator.org import Org
from leadsync.emulator.sessions import Session
from leadsync.salesforce.client import RetryPolicy, SalesforceClient
from leadsync.sync import Puller, PullSettings

from ..db.conftest import database, postgres_database, postgres_url
from ..salesforce.conftest import credentials

__all__ = ["database", "postgres_database", "postgres_url"]  # fixtures shared with tests/db


@pytest.fixture
def client(http: TestClient) -> SalesforceClient:
    return SalesforceClient(credentials(), http=http, retry=RetryPolicy(attempts=2))


@pytest.fixture
def admin(org: Org) -> Session:
    """An admin session for Salesforce-side edits (validated, as a user would make them)."""
    user = org.find_user("admin@example.com")
    assert user is not None
    return org.sessions.issue(user.id, user.username, user.profile, "leadsync")


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[LeadDatabase]:
    db = LeadDatabase.open(f"sqlite:///{tmp_path / 'leadsync.db'}")
    yield db
    db.close()


@pytest.fixture
def any_db(database: LeadDatabase) -> LeadDatabase:
    """The lead database on SQLite and on PostgreSQL (tests/db's `database` fixture)."""
    return database


def org_clock(org: Org) -> Callable[[], dt.datetime]:
    """The engine's clock in these tests is the org's, so frozen time stages boundaries."""
    return lambda: dt.datetime.fromtimestamp(org.clock.now_float(), dt.UTC)


PullerFactory = Callable[..., Puller]


@pytest.fixture
def make_puller(org: Org, client: SalesforceClient) -> PullerFactory:
    def make(db: LeadDatabase, **settings: object) -> Puller:
        on_batch = settings.pop("on_batch", None)
        return Puller(
            db,
            client,
            settings=PullSettings(**settings),  # type: ignore[arg-type]
            clock=org_clock(org),
            on_batch=on_batch,  # type: ignore[arg-type]
        )

    return make


SMALL_PAGE = 20


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> int:
    """REST query pages of SMALL_PAGE records instead of 2,000, so that a small org's copy
    goes past its first page (REST `nextRecordsUrl` pages, or a Bulk job after it)."""
    real = query_api.batch_size

    def small(request: object, default: int = query_api.DEFAULT_BATCH_SIZE) -> int:
        size = real(request, default)  # type: ignore[arg-type]
        return min(size, SMALL_PAGE) if size else size

    monkeypatch.setattr(query_api, "batch_size", small)
    return SMALL_PAGE
