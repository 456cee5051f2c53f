"""Shared fixtures: a fresh emulated org per test, reached in-process through its ASGI app."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from leadsync.emulator.app import create_app
from leadsync.emulator.org import Org

API_VERSION = "62.0"


class ApiClient:
    """A logged-in REST client against the in-process emulator (paths relative to the
    version root, e.g. `sobjects/Lead`)."""

    def __init__(self, http: TestClient, token: str, version: str = API_VERSION) -> None:
        self.http = http
        self.token = token
        self.version = version
        self.base = f"/services/data/v{version}"

    def url(self, path: str) -> str:
        return path if path.startswith("/") else f"{self.base}/{path}"

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.http.request(method, self.url(path), headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def query(self, soql: str, *, all_rows: bool = False) -> dict[str, Any]:
        response = self.get("queryAll" if all_rows else "query", params={"q": soql})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def login(org: Org, username: str) -> str:
    user = org.find_user(username)
    assert user is not None
    return org.sessions.issue(user.id, user.username, user.profile, "leadsync").token


@pytest.fixture
def org() -> Iterator[Org]:
    emulated = Org()
    yield emulated
    emulated.close()


@pytest.fixture
def http(org: Org) -> Iterator[TestClient]:
    with TestClient(create_app(org), raise_server_exceptions=True) as client:
        yield client


@pytest.fixture
def sf(org: Org, http: TestClient) -> ApiClient:
    """The sync user (field-level security hides Internal_Notes__c from it)."""
    return ApiClient(http, login(org, "sync@example.com"))


@pytest.fixture
def sf_admin(org: Org, http: TestClient) -> ApiClient:
    return ApiClient(http, login(org, "admin@example.com"))
