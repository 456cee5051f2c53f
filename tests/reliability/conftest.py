"""Fixtures for the reliability tests: the lead database on both backends (tests/db), an
emulated org with its in-process HTTP client (tests/conftest.py), connectors that retry fast."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from leadsync.salesforce.client import SalesforceClient

from ..db.conftest import database, postgres_database, postgres_url
from .helpers import Sleeps, fast_client

__all__ = ["database", "postgres_database", "postgres_url"]


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def sync_client(http: TestClient, sleeps: Sleeps) -> SalesforceClient:
    """The sync user; its backoff is recorded in `sleeps` instead of slept."""
    return fast_client(http, sleeps=sleeps)


@pytest.fixture
def admin_client(http: TestClient) -> SalesforceClient:
    """The org's admin, for reading Salesforce back (clear the faults first)."""
    return fast_client(http, username="admin@example.com")
