"""The API gate: versions, sessions, the request budget and its header."""

from __future__ import annotations

from starlette.testclient import TestClient

from leadsync.emulator.org import Org

from ..conftest import ApiClient


def test_version_list_needs_no_session(http: TestClient) -> None:
    response = http.get("/services/data/")
    assert response.status_code == 200
    versions = [entry["version"] for entry in response.json()]
    assert "59.0" in versions and "62.0" in versions and "67.0" in versions


def test_missing_token_is_invalid_session_in_rest_envelope(http: TestClient) -> None:
    response = http.get("/services/data/v62.0/limits")
    assert response.status_code == 401
    assert response.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID", "fields": []}
    ]


def test_unknown_version_is_not_found(sf: ApiClient) -> None:
    response = sf.get("/services/data/v12.0/limits")
    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "NOT_FOUND"


def test_each_call_counts_once_and_header_matches_tap_regex(sf: ApiClient, org: Org) -> None:
    before = org.limits.used
    first = sf.get("limits")
    second = sf.get("limits")
    assert org.limits.used == before + 2
    assert first.headers["Sforce-Limit-Info"] == f"api-usage={before + 1}/{org.limits.maximum}"
    assert second.json()["DailyApiRequests"]["Remaining"] == org.limits.maximum - (before + 2)


def test_spent_budget_answers_request_limit_exceeded(sf: ApiClient, org: Org) -> None:
    org.limits.set_used(org.limits.maximum)
    response = sf.get("limits")
    assert response.status_code == 403
    assert response.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_expired_session_is_refused(sf: ApiClient, org: Org) -> None:
    assert sf.get("limits").status_code == 200
    org.clock.advance(org.sessions.lifetime_seconds + 1)
    response = sf.get("limits")
    assert response.status_code == 401
    assert response.json()[0]["errorCode"] == "INVALID_SESSION_ID"
