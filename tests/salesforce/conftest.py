"""A connector logged in to an in-process emulator (Starlette's TestClient is an httpx.Client)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from leadsync.emulator.app import create_app
from leadsync.emulator.org import Org
from leadsync.salesforce.auth import Credentials
from leadsync.salesforce.client import RetryPolicy, SalesforceClient

DEMO_SECRET = "leadsync-secret"


def credentials(**overrides: str) -> Credentials:
    values = {
        "login_url": "http://testserver",
        "username": "sync@example.com",
        "password": "password",
        "client_id": "leadsync",
        "client_secret": DEMO_SECRET,
        **overrides,
    }
    return Credentials(**values)  # type: ignore[arg-type]


@pytest.fixture
def http(org: Org) -> Iterator[TestClient]:
    with TestClient(create_app(org), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(http: TestClient, sleeps: list[float]) -> SalesforceClient:
    return SalesforceClient(
        credentials(), http=http, retry=RetryPolicy(attempts=4), sleep=sleeps.append
    )
