"""Emulator-only admin endpoints: status, fault injection through the gate, clock, limits,
sessions. None of them needs a session or counts against the API budget."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from leadsync.emulator import orgfile
from leadsync.emulator.app import create_app
from leadsync.emulator.org import Org
from leadsync.emulator.server import ServerThread

from ..conftest import ApiClient, login

LIMITS = "limits"


def add_fault(http: TestClient, **rule: Any) -> dict[str, Any]:
    response = http.post("/_emulator/faults", json=rule)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def error_code(response: httpx.Response) -> str:
    return str(response.json()[0]["errorCode"])


# -- status ---------------------------------------------------------------------------------


def test_status_reports_the_org_without_a_session_and_uncounted(http: TestClient, org: Org) -> None:
    before = org.limits.used
    response = http.get("/_emulator/status")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == org.definition.name
    assert body["instanceUrl"] == org.instance_url
    assert body["records"]["User"] == 2 and body["records"]["Lead"] == 0
    assert body["apiUsage"] == {"used": before, "max": org.limits.maximum}
    assert body["faults"] == {"active": 0, "injected": 0}
    assert body["clock"]["now"] == pytest.approx(org.clock.now(), abs=2)
    assert org.limits.used == before
    assert "sforce-limit-info" not in response.headers


def test_status_counts_records_and_injected_faults(http: TestClient, sf: ApiClient) -> None:
    assert sf.post("sobjects/Lead", json={"LastName": "Ng", "Company": "Acme"}).status_code == 201
    add_fault(http, kind="unavailable", count=1)
    assert sf.get(LIMITS).status_code == 503
    body = http.get("/_emulator/status").json()
    assert body["records"]["Lead"] == 1
    assert body["faults"] == {"active": 0, "injected": 1}


# -- each fault kind through the gate -------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("unavailable", 503, "SERVER_UNAVAILABLE"),
        ("lock", 400, "UNABLE_TO_LOCK_ROW"),
        ("limit", 403, "REQUEST_LIMIT_EXCEEDED"),
        ("invalid_session", 401, "INVALID_SESSION_ID"),
    ],
)
def test_error_faults_answer_in_salesforce_envelope_once(
    http: TestClient, sf: ApiClient, kind: str, status: int, code: str
) -> None:
    add_fault(http, kind=kind, count=1)
    failed = sf.get(LIMITS)
    assert failed.status_code == status
    assert error_code(failed) == code
    assert set(failed.json()[0]) == {"message", "errorCode", "fields"}
    assert sf.get(LIMITS).status_code == 200


def test_slow_fault_delays_but_succeeds(http: TestClient, sf: ApiClient) -> None:
    add_fault(http, kind="slow", count=1, delay=0.05)
    response = sf.get(LIMITS)
    assert response.status_code == 200
    assert "DailyApiRequests" in response.json()
    assert http.get("/_emulator/faults").json()["injected"] == 1


@pytest.mark.parametrize("kind", ["drop", "timeout"])
def test_drop_and_timeout_drop_the_connection_in_process(
    http: TestClient, sf: ApiClient, kind: str
) -> None:
    add_fault(http, kind=kind, count=1, delay=0.01)
    with pytest.raises(httpx.TransportError):
        sf.get(LIMITS)
    assert sf.get(LIMITS).status_code == 200


def test_drop_and_timeout_over_a_real_socket(org: Org) -> None:
    token = login(org, "sync@example.com")
    headers = {"Authorization": f"Bearer {token}"}
    with ServerThread(org) as server, httpx.Client(base_url=server.url, timeout=5) as client:
        url = "/services/data/v62.0/limits"
        client.post("/_emulator/faults", json={"kind": "drop", "count": 1})
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(url, headers=headers)
        assert client.get(url, headers=headers).status_code == 200
        client.post("/_emulator/faults", json={"kind": "timeout", "count": 1, "delay": 1.0})
        # A client with a shorter read timeout gives up first, as against a hung server.
        with pytest.raises(httpx.ReadTimeout):
            client.get(url, headers=headers, timeout=0.1)
        client.post("/_emulator/faults", json={"kind": "timeout", "count": 1, "delay": 0.01})
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(url, headers=headers)
        assert client.get(url, headers=headers).status_code == 200


def test_injected_faults_are_not_counted_against_the_budget(
    http: TestClient, sf: ApiClient, org: Org
) -> None:
    before = org.limits.used
    add_fault(http, kind="unavailable", count=2)
    assert sf.get(LIMITS).status_code == 503
    assert sf.get(LIMITS).status_code == 503
    assert org.limits.used == before


# -- count, rate and filters ----------------------------------------------------------------


def test_count_fails_exactly_n_calls_then_the_rule_goes(http: TestClient, sf: ApiClient) -> None:
    add_fault(http, kind="unavailable", count=3)
    assert [sf.get(LIMITS).status_code for _ in range(5)] == [503, 503, 503, 200, 200]
    assert http.get("/_emulator/faults").json() == {"rules": [], "injected": 3}


def rate_run(calls: int) -> list[int]:
    org = Org()
    try:
        with TestClient(create_app(org)) as http:
            client = ApiClient(http, login(org, "sync@example.com"))
            add_fault(http, kind="unavailable", rate=0.5)
            return [client.get(LIMITS).status_code for _ in range(calls)]
    finally:
        org.close()


def test_rate_fails_a_share_of_calls_reproducibly() -> None:
    first = rate_run(40)
    assert first == rate_run(40)
    assert {503, 200} == set(first)
    assert 8 <= first.count(503) <= 32


def test_path_filter_only_hits_matching_paths(http: TestClient, sf: ApiClient) -> None:
    add_fault(http, kind="lock", count=1, path="/limits$")
    assert sf.get("/services/data/v62.0/").status_code == 200
    assert error_code(sf.get(LIMITS)) == "UNABLE_TO_LOCK_ROW"


def test_object_filter_only_hits_that_object(http: TestClient, sf: ApiClient) -> None:
    add_fault(http, kind="unavailable", count=1, object="Lead")
    assert sf.get("sobjects/Contact/describe").status_code == 200
    assert sf.get("sobjects/Lead/describe").status_code == 503
    assert sf.get("sobjects/Lead/describe").status_code == 200


def test_method_filter_only_hits_that_method(http: TestClient, sf: ApiClient) -> None:
    add_fault(http, kind="unavailable", count=1, method="POST")
    assert sf.get(LIMITS).status_code == 200
    created = sf.post("sobjects/Lead", json={"LastName": "Ng", "Company": "Acme"})
    assert created.status_code == 503


def test_fault_rules_can_be_listed_and_cleared(http: TestClient, sf: ApiClient) -> None:
    added = add_fault(http, kind="slow", rate=0.25, path="query", delay=0.5)
    assert added["kind"] == "slow" and added["rate"] == 0.25
    listed = http.get("/_emulator/faults").json()["rules"]
    assert [(r["kind"], r["path"]) for r in listed] == [("slow", "query")]
    assert http.delete("/_emulator/faults").json() == {"removed": 1}
    assert http.get("/_emulator/faults").json()["rules"] == []


def test_a_list_of_rules_is_accepted(http: TestClient) -> None:
    response = http.post(
        "/_emulator/faults",
        json=[{"kind": "unavailable", "count": 1}, {"kind": "lock", "count": 1}],
    )
    assert response.status_code == 201
    assert [r["kind"] for r in response.json()] == ["unavailable", "lock"]


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "explode", "count": 1},
        {"kind": "unavailable"},
        {"kind": "unavailable", "count": 1, "rate": 0.5},
        {"kind": "unavailable", "rate": 2},
        {"kind": "unavailable", "count": 0},
        {"kind": "unavailable", "count": "many"},
        {"kind": "unavailable", "count": 1, "path": "("},
        {"kind": "slow", "count": 1, "delay": "long"},
        [],
        ["unavailable"],
        "unavailable",
    ],
)
def test_bad_fault_rules_are_400_with_a_message(http: TestClient, body: Any) -> None:
    response = http.post("/_emulator/faults", json=body)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_INPUT"
    assert response.json()[0]["message"]
    assert http.get("/_emulator/faults").json()["rules"] == []


def test_malformed_json_is_400(http: TestClient) -> None:
    for path in ("/_emulator/faults", "/_emulator/clock", "/_emulator/limits"):
        response = http.post(path, content=b"{nope", headers={"content-type": "application/json"})
        assert response.status_code == 400
        assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_org_file_faults_are_active_from_the_start() -> None:
    definition = orgfile.load()
    definition.faults = [{"kind": "lock", "count": 1, "object": "Lead"}]
    org = Org(definition)
    try:
        with TestClient(create_app(org)) as http:
            client = ApiClient(http, login(org, "sync@example.com"))
            assert http.get("/_emulator/faults").json()["rules"][0]["kind"] == "lock"
            response = client.post("sobjects/Lead", json={"LastName": "Ng", "Company": "Acme"})
            assert error_code(response) == "UNABLE_TO_LOCK_ROW"
    finally:
        org.close()


# -- clock, limits, sessions ----------------------------------------------------------------


def test_clock_can_be_frozen_advanced_set_and_released(http: TestClient, org: Org) -> None:
    frozen = http.post("/_emulator/clock", json={"freeze": True}).json()
    assert frozen["frozen"] is True
    assert org.clock.now() == frozen["now"]
    advanced = http.post("/_emulator/clock", json={"advance": 3600}).json()
    assert advanced["now"] == frozen["now"] + 3600
    moved = http.post("/_emulator/clock", json={"set": 1_700_000_000}).json()
    assert moved["now"] == 1_700_000_000
    assert moved["iso"] == "2023-11-14T22:13:20.000+0000"
    released = http.post("/_emulator/clock", json={"freeze": False}).json()
    assert released["frozen"] is False
    assert abs(released["now"] - 1_700_000_000) < 5


def test_advancing_the_clock_expires_sessions(http: TestClient, sf: ApiClient, org: Org) -> None:
    http.post("/_emulator/clock", json={"advance": org.sessions.lifetime_seconds + 1})
    assert error_code(sf.get(LIMITS)) == "INVALID_SESSION_ID"


@pytest.mark.parametrize(
    "body", [{"freeze": "yes"}, {"advance": "soon"}, {"set": -5}, {"advance": True}, [1]]
)
def test_bad_clock_requests_are_400(http: TestClient, body: Any) -> None:
    response = http.post("/_emulator/clock", json=body)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_INPUT"


def test_limits_can_be_set_and_spent(http: TestClient, sf: ApiClient, org: Org) -> None:
    response = http.post("/_emulator/limits", json={"used": 10, "max": 12})
    assert response.json() == {"used": 10, "max": 12}
    assert sf.get(LIMITS).headers["Sforce-Limit-Info"] == "api-usage=11/12"
    assert sf.get(LIMITS).status_code == 200
    spent = sf.get(LIMITS)
    assert spent.status_code == 403 and error_code(spent) == "REQUEST_LIMIT_EXCEEDED"
    assert http.get("/_emulator/status").json()["apiUsage"] == {"used": 12, "max": 12}


@pytest.mark.parametrize("body", [{"used": -1}, {"max": 0}, {"used": 1.5}, {"max": "lots"}])
def test_bad_limit_requests_are_400(http: TestClient, body: Any) -> None:
    assert http.post("/_emulator/limits", json=body).status_code == 400


def test_expiring_sessions_forces_a_new_login(http: TestClient, sf: ApiClient) -> None:
    assert sf.get(LIMITS).status_code == 200
    assert http.post("/_emulator/sessions/expire").json()["expired"] >= 1
    assert error_code(sf.get(LIMITS)) == "INVALID_SESSION_ID"
