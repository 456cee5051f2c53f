"""The connector's call discipline against the emulator: retries, re-auth, budget, secrets."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from leadsync.emulator.org import Org
from leadsync.errors import (
    AuthenticationError,
    BudgetExhausted,
    ReauthRequired,
    RetriableError,
)
from leadsync.salesforce.client import RetryPolicy, SalesforceClient
from leadsync.salesforce.soap import LeadConvert, convert_leads

from .conftest import credentials


def test_login_and_usage_follow_the_limit_header(client: SalesforceClient, org: Org) -> None:
    limits = client.limits()
    assert limits["DailyApiRequests"]["Max"] == org.limits.maximum
    assert client.usage.calls == 1
    assert client.usage.used == org.limits.used
    assert client.usage.maximum == org.limits.maximum


def test_retriable_faults_are_retried_with_backoff(
    client: SalesforceClient, org: Org, sleeps: list[float]
) -> None:
    client.limits()  # log in first so the faults hit the API call
    org.faults.add({"kind": "unavailable", "count": 2, "path": "/limits"})
    org.faults.add({"kind": "lock", "count": 1, "path": "/limits"})
    assert client.limits()["DailyApiRequests"]["Max"] == org.limits.maximum
    assert client.usage.retries == 3
    assert len(sleeps) == 3 and all(0 <= s <= 30 for s in sleeps)


def test_retries_are_bounded(client: SalesforceClient, org: Org) -> None:
    client.limits()
    org.faults.add({"kind": "unavailable", "count": 10, "path": "/limits"})
    with pytest.raises(RetriableError) as raised:
        client.limits()
    assert raised.value.code == "SERVER_UNAVAILABLE"
    assert client.usage.retries == 3  # attempts=4


def test_dropped_connection_is_retried(client: SalesforceClient, org: Org) -> None:
    client.limits()
    org.faults.add({"kind": "drop", "count": 1, "path": "/limits"})
    assert client.limits()["DailyApiRequests"]["Max"] == org.limits.maximum
    assert client.usage.retries == 1


def test_expired_session_is_renewed_once(client: SalesforceClient, org: Org) -> None:
    client.limits()
    first_token = client.token.access_token
    org.clock.advance(org.sessions.lifetime_seconds + 5)
    client.limits()
    assert client.token.access_token != first_token


def test_a_session_lost_again_after_a_retried_fault_is_renewed_again(
    client: SalesforceClient, org: Org, sleeps: list[float]
) -> None:
    client.limits()
    org.faults.add({"kind": "invalid_session", "count": 1, "path": "/limits"})
    org.faults.add({"kind": "unavailable", "count": 1, "path": "/limits"})
    org.faults.add({"kind": "invalid_session", "count": 1, "path": "/limits"})
    assert client.limits()["DailyApiRequests"]["Max"] == org.limits.maximum
    assert client.usage.calls == 5 and len(sleeps) == 1


def test_a_401_straight_after_a_fresh_login_is_not_retried_forever(
    client: SalesforceClient, org: Org
) -> None:
    client.limits()
    org.faults.add({"kind": "invalid_session", "count": 50, "path": "/limits"})
    with pytest.raises(ReauthRequired):
        client.limits()
    assert client.usage.calls == 3  # the 401, one renewal, the 401 again


def test_budget_share_stops_calls_before_the_org_limit(http: TestClient, org: Org) -> None:
    guarded = SalesforceClient(credentials(), http=http, budget_share=0.5)
    guarded.limits()
    org.limits.set_used(org.limits.maximum // 2)
    guarded.limits()  # this call reports usage at 50%
    with pytest.raises(BudgetExhausted):
        guarded.limits()


def test_org_limit_exceeded_is_budget_exhausted_not_retried(
    client: SalesforceClient, org: Org, sleeps: list[float]
) -> None:
    client.limits()
    org.limits.set_used(org.limits.maximum)
    with pytest.raises(BudgetExhausted):
        client.limits()
    assert sleeps == []


def test_refused_login_never_echoes_the_secret(http: TestClient) -> None:
    wrong = credentials(password="hunter2-wrong", client_secret="s3cr3t-value")
    bad = SalesforceClient(wrong, http=http, retry=RetryPolicy(attempts=1))
    with pytest.raises(AuthenticationError) as raised:
        bad.limits()
    text = str(raised.value) + repr(raised.value) + repr(bad)
    assert "hunter2-wrong" not in text and "s3cr3t-value" not in text
    assert "invalid_client" in text or "invalid_grant" in text


def test_soap_convert_renews_an_expired_session(client: SalesforceClient, org: Org) -> None:
    created = client.request_json(
        "POST", "sobjects/Lead", json={"LastName": "Renewal", "Company": "Soap Co"}
    )
    lead = {"Id": created["id"]}
    first_token = client.token.access_token
    org.clock.advance(org.sessions.lifetime_seconds + 5)
    [result] = convert_leads(client, [LeadConvert(lead["Id"], "Closed - Converted")])
    assert result.success, result.errors
    assert result.lead_id == lead["Id"] and result.contact_id
    assert client.token.access_token != first_token
    [after] = client.query(f"SELECT IsConverted FROM Lead WHERE Id = '{lead['Id']}'")
    assert after["IsConverted"] is True


def test_scrub_masks_every_secret_a_server_might_echo() -> None:
    from leadsync.salesforce.auth import scrub

    secret_creds = credentials(password="pw-123", client_secret="cs-456")
    echoed = "login refused (invalid_grant): bad password pw-123 for client cs-456"
    assert scrub(echoed, secret_creds) == (
        "login refused (invalid_grant): bad password *** for client ***"
    )


def test_composite_refuses_more_queries_than_salesforce_takes_before_calling(
    client: SalesforceClient, org: Org
) -> None:
    base = client.base_path

    def query(n: int, resource: str = "queryAll") -> dict[str, str]:
        return {
            "method": "GET",
            "url": f"{base}/{resource}?q=SELECT+Id+FROM+Lead",
            "referenceId": f"q{n}",
        }

    describes = [
        {"method": "GET", "url": f"{base}/sobjects/Lead/describe", "referenceId": f"d{n}"}
        for n in range(20)
    ]
    five = [query(n, "query" if n % 2 else "queryAll") for n in range(5)]
    assert len(client.composite([*five, *describes])) == 25  # five queries and 20 others
    before = org.limits.used
    with pytest.raises(ValueError, match="at most 5 queries"):
        client.composite([*five, query(5)])
    assert org.limits.used == before  # refused here, no call spent
