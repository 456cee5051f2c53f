"""Unmodified simple-salesforce against the emulator served over a real socket.

The only adaptation is the transport adapter of `tests/support/redirect.py`, passed in the
`session=` argument: simple-salesforce forces `https://` on every URL it builds, and the
adapter sends those URLs to the local plain-HTTP server.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

from leadsync.emulator.dml import system_insert
from leadsync.emulator.org import Org
from leadsync.emulator.server import ServerThread
from tests.support.redirect import EMULATOR_HOST, RedirectAdapter, redirected_session

USERNAME = "sync@example.com"
PASSWORD = "password"
CLIENT_ID = "leadsync"
CLIENT_SECRET = "leadsync-secret"
# A fixed, recent instant: /updated and /deleted only accept windows close to the org's "now".
EPOCH = int(datetime(2026, 11, 2, 9, 0, tzinfo=UTC).timestamp())
# Bulk 2.0 polling sleeps `wait` seconds first; the emulator completes jobs at once.
BULK_WAIT = 0.05


@pytest.fixture
def server(org: Org) -> Iterator[ServerThread]:
    org.clock.freeze(EPOCH)
    with ServerThread(org) as running:
        yield running


@pytest.fixture
def http_session(server: ServerThread) -> requests.Session:
    return redirected_session(server.url)


@pytest.fixture
def client(http_session: requests.Session) -> Salesforce:
    """Logged in with the OAuth password grant (SOAP login has tests of its own)."""
    return oauth_client(http_session)


def oauth_client(session: requests.Session) -> Salesforce:
    return Salesforce(
        username=USERNAME,
        password=PASSWORD,
        consumer_key=CLIENT_ID,
        consumer_secret=CLIENT_SECRET,
        session=session,
    )


def soap_client(session: requests.Session) -> Salesforce:
    return Salesforce(username=USERNAME, password=PASSWORD, security_token="", session=session)


def seed_leads(org: Org, count: int, prefix: str = "Lead") -> list[str]:
    rows = [
        {
            "FirstName": "Ada",
            "LastName": f"{prefix}{n:05d}",
            "Company": f"Company {n % 37}",
            "Email": f"{prefix.lower()}{n}@example.com",
        }
        for n in range(count)
    ]
    return system_insert(org, "Lead", rows)


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_redirect_rewrites_whole_hosts_only() -> None:
    adapter = RedirectAdapter({"https://emulator.local": "http://127.0.0.1:9"})
    assert adapter.rewrite("https://emulator.local/services/data/") == (
        "http://127.0.0.1:9/services/data/"
    )
    assert adapter.rewrite("HTTPS://EMULATOR.LOCAL?x=1") == "http://127.0.0.1:9?x=1"
    assert adapter.rewrite("https://emulator.localhost/x") == "https://emulator.localhost/x"
    session = redirected_session("http://127.0.0.1:9")
    login = session.get_adapter("https://login.salesforce.com/services/oauth2/token")
    assert isinstance(login, RedirectAdapter)


# -- login --------------------------------------------------------------------------------


def test_soap_login_gives_a_working_session(
    http_session: requests.Session, server: ServerThread
) -> None:
    client = soap_client(http_session)
    assert client.session_id.startswith("00D")
    assert client.sf_instance == f"127.0.0.1:{server.port}"
    result = client.query("SELECT Id, Username FROM User WHERE Username = 'sync@example.com'")
    assert result["totalSize"] == 1
    assert result["records"][0]["Username"] == USERNAME


def test_soap_login_with_a_wrong_password_is_invalid_login(
    http_session: requests.Session,
) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as failure:
        Salesforce(username=USERNAME, password="wrong", security_token="", session=http_session)
    assert failure.value.code == "INVALID_LOGIN"


def test_oauth_password_login(http_session: requests.Session, server: ServerThread) -> None:
    sf = oauth_client(http_session)
    assert sf.sf_instance == f"127.0.0.1:{server.port}"
    assert sf.query("SELECT COUNT() FROM User")["totalSize"] >= 2


def test_advertised_instance_host_is_redirected() -> None:
    """With `https://emulator.local` as the instance URL, every later call still lands here."""
    org = Org()
    try:
        with ServerThread(org, advertise=EMULATOR_HOST) as running:
            session = redirected_session(running.url)
            for sf in (soap_client(session), oauth_client(session)):
                assert sf.sf_instance == "emulator.local"
                assert sf.limits()["DailyApiRequests"]["Max"] == org.limits.maximum
    finally:
        org.close()


def test_oauth_login_with_a_wrong_secret_fails(http_session: requests.Session) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as failure:
        Salesforce(
            username=USERNAME,
            password=PASSWORD,
            consumer_key=CLIENT_ID,
            consumer_secret="not-the-secret",
            session=http_session,
        )
    assert failure.value.code == "invalid_client"


@pytest.mark.parametrize("login", [soap_client, oauth_client], ids=["soap", "oauth"])
def test_expired_session_logs_in_again(
    http_session: requests.Session, org: Org, login: Callable[[requests.Session], Salesforce]
) -> None:
    org.sessions.lifetime_seconds = 2
    client = login(http_session)
    first_token = client.session_id
    org.clock.advance(3)
    # The emulator answers 401 INVALID_SESSION_ID; simple-salesforce logs in again and retries.
    assert client.query("SELECT COUNT() FROM Lead")["totalSize"] == 0
    assert client.session_id != first_token
    assert client.Lead.describe()["name"] == "Lead"


def test_limit_header_is_parsed(client: Salesforce, org: Org) -> None:
    client.query("SELECT COUNT() FROM Lead")
    usage = client.api_usage["api-usage"]
    assert usage.total == org.limits.maximum
    assert usage.used == org.limits.used
    limits = client.limits()
    assert limits["DailyApiRequests"]["Max"] == org.limits.maximum


# -- describe -----------------------------------------------------------------------------


def test_global_and_object_describe(client: Salesforce) -> None:
    names = {entry["name"] for entry in client.describe()["sobjects"]}
    assert {"Lead", "Contact", "Account", "Product_Interest__c"} <= names
    lead = client.Lead.describe()
    fields = {field["name"]: field for field in lead["fields"]}
    assert fields["LeadSync_Id__c"]["externalId"] is True
    assert fields["Id"]["type"] == "id"
    assert fields["LastName"]["nillable"] is False
    # Field-level security: the sync user's profile hides this field.
    assert "Internal_Notes__c" not in fields


# -- query --------------------------------------------------------------------------------


def test_query_pages_and_query_all_iter(client: Salesforce, org: Org) -> None:
    ids = seed_leads(org, 2_500)
    first = client.query("SELECT Id, LastName FROM Lead ORDER BY LastName")
    assert first["totalSize"] == 2_500
    assert first["done"] is False
    assert len(first["records"]) == 2_000
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/")
    # Writes between pages do not shift the result set the locator walks.
    seed_leads(org, 10, prefix="Late")
    rest = client.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert rest["done"] is True
    assert len(rest["records"]) == 500
    names = [r["LastName"] for r in first["records"] + rest["records"]]
    assert names == sorted(names)

    everything = [r["Id"] for r in client.query_all_iter("SELECT Id FROM Lead")]
    assert len(everything) == len(set(everything)) == 2_510
    assert set(ids) <= set(everything)
    assert client.query_all("SELECT Id FROM Lead")["totalSize"] == 2_510


def test_query_batch_size_header(client: Salesforce, org: Org) -> None:
    seed_leads(org, 450)
    page = client.query("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=200"})
    assert len(page["records"]) == 200
    assert page["done"] is False


def test_query_all_includes_deleted_rows(client: Salesforce, org: Org) -> None:
    ids = seed_leads(org, 5)
    client.Lead.delete(ids[0])
    client.Lead.delete(ids[1])
    live = client.query_all("SELECT Id FROM Lead")
    assert {r["Id"] for r in live["records"]} == set(ids[2:])
    deleted = client.query_all(
        "SELECT Id, IsDeleted FROM Lead WHERE IsDeleted = true", include_deleted=True
    )
    assert {r["Id"] for r in deleted["records"]} == set(ids[:2])
    assert all(r["IsDeleted"] is True for r in deleted["records"])


def test_malformed_soql_is_a_malformed_request(client: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as failure:
        client.query("SELECT Id FROM Lead WHERE")
    assert failure.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    with pytest.raises(SalesforceMalformedRequest) as failure:
        client.query("SELECT NoSuchField__c FROM Lead")
    assert failure.value.content[0]["errorCode"] == "INVALID_FIELD"


# -- rows ---------------------------------------------------------------------------------


def test_create_get_update_delete(client: Salesforce) -> None:
    created = client.Lead.create({"LastName": "Lovelace", "Company": "Engines", "Email": "a@x.io"})
    assert created["success"] is True
    assert created["errors"] == []
    lead_id = created["id"]
    assert len(lead_id) == 18
    assert lead_id.startswith("00Q")

    row = client.Lead.get(lead_id[:15])  # a 15-character id names the same row
    assert row["Id"] == lead_id
    assert row["attributes"]["type"] == "Lead"
    assert row["LastName"] == "Lovelace"
    assert row["Name"] == "Lovelace"

    assert client.Lead.update(lead_id, {"FirstName": "Ada"}) == 204
    assert client.Lead.get(lead_id)["Name"] == "Ada Lovelace"

    assert client.Lead.delete(lead_id) == 204
    with pytest.raises(SalesforceResourceNotFound) as failure:
        client.Lead.get(lead_id)
    assert failure.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_create_without_required_fields_is_rejected(client: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as failure:
        client.Lead.create({"FirstName": "Nobody"})
    assert failure.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"


def test_upsert_and_get_by_external_id(client: Salesforce) -> None:
    status = client.Lead.upsert("LeadSync_Id__c/abc", {"LastName": "Hopper", "Company": "Navy"})
    assert status == 201
    # An update through upsert answers 200 with a body from API v46.0 on (204 before).
    assert client.Lead.upsert("LeadSync_Id__c/abc", {"Title": "Rear Admiral"}) == 200
    row = client.Lead.get_by_custom_id("LeadSync_Id__c", "abc")
    assert row["LastName"] == "Hopper"
    assert row["Title"] == "Rear Admiral"
    assert client.query("SELECT COUNT() FROM Lead")["totalSize"] == 1
    with pytest.raises(SalesforceResourceNotFound):
        client.Lead.get_by_custom_id("LeadSync_Id__c", "missing")


def test_collections_create_with_per_record_errors(client: Salesforce) -> None:
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Lead"}, "LastName": "One", "Company": "C1"},
            {"attributes": {"type": "Lead"}, "Company": "No last name"},
            {"attributes": {"type": "Contact"}, "LastName": "Three"},
        ],
    }
    results = client.restful("composite/sobjects", method="POST", json=body)
    assert [r["success"] for r in results] == [True, False, True]
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert results[2]["id"].startswith("003")

    upsert = {
        "allOrNone": False,
        "records": [
            {
                "attributes": {"type": "Lead"},
                "LeadSync_Id__c": "k1",
                "LastName": "K",
                "Company": "C",
            },
        ],
    }
    created = client.restful("composite/sobjects/Lead/LeadSync_Id__c", method="PATCH", json=upsert)
    assert created[0]["success"] is True
    assert created[0]["created"] is True
    again = client.restful("composite/sobjects/Lead/LeadSync_Id__c", method="PATCH", json=upsert)
    assert again[0]["created"] is False
    assert again[0]["id"] == created[0]["id"]


def test_collections_refuse_more_than_200_records(client: Salesforce) -> None:
    records = [
        {"attributes": {"type": "Lead"}, "LastName": f"L{n}", "Company": "C"} for n in range(201)
    ]
    with pytest.raises(SalesforceMalformedRequest) as failure:
        client.restful("composite/sobjects", method="POST", json={"records": records})
    assert failure.value.status == 400
    assert failure.value.content[0]["errorCode"]
    assert client.query("SELECT COUNT() FROM Lead")["totalSize"] == 0


def test_updated_and_deleted(client: Salesforce, org: Org) -> None:
    start = datetime.fromtimestamp(EPOCH, UTC)
    org.clock.advance(120)
    ids = seed_leads(org, 3)
    org.clock.advance(120)
    client.Lead.delete(ids[0])
    org.clock.advance(120)
    end = datetime.fromtimestamp(org.clock.now(), UTC)

    updated = client.Lead.updated(start, end)
    # Whether a deleted row also counts as updated is left open; the live ones must be there.
    assert set(ids[1:]) <= set(updated["ids"]) <= set(ids)
    assert updated["latestDateCovered"].endswith("+0000")

    deleted = client.Lead.deleted(start, end)
    assert [r["id"] for r in deleted["deletedRecords"]] == [ids[0]]
    assert deleted["deletedRecords"][0]["deletedDate"].endswith("+0000")


# -- Bulk API 2.0 -------------------------------------------------------------------------


def test_bulk2_query_pages_through_all_rows(client: Salesforce, org: Org) -> None:
    ids = seed_leads(org, 120)
    pages = list(
        client.bulk2.Lead.query(
            "SELECT Id, LastName, Email FROM Lead", max_records=50, wait=BULK_WAIT
        )
    )
    assert len(pages) == 3
    rows = [row for page in pages for row in csv_rows(str(page))]
    assert sorted(row["Id"] for row in rows) == sorted(ids)
    assert set(rows[0]) == {"Id", "LastName", "Email"}


def test_bulk2_query_all_includes_deleted_rows(client: Salesforce, org: Org) -> None:
    ids = seed_leads(org, 4)
    client.Lead.delete(ids[3])
    pages = client.bulk2.Lead.query_all(
        "SELECT Id, IsDeleted FROM Lead WHERE IsDeleted = true", wait=BULK_WAIT
    )
    rows = [row for page in pages for row in csv_rows(str(page))]
    assert rows == [{"Id": ids[3], "IsDeleted": "true"}]


def test_bulk2_download_writes_files(client: Salesforce, org: Org, tmp_path: Path) -> None:
    seed_leads(org, 30)
    results = client.bulk2.Lead.download(
        "SELECT Id, LastName FROM Lead", str(tmp_path), max_records=20, wait=BULK_WAIT
    )
    assert [r["number_of_records"] for r in results] == [20, 10]
    downloaded = [row for r in results for row in csv_rows(Path(str(r["file"])).read_text())]
    assert len(downloaded) == 30


def test_bulk2_insert_upsert_and_results(client: Salesforce, tmp_path: Path) -> None:
    source = tmp_path / "leads.csv"
    source.write_text(
        "LastName,Company,LeadSync_Id__c\nCurie,Radium,b1\nNoether,Algebra,b2\n,Nameless,b3\n"
    )
    [insert] = client.bulk2.Lead.insert(csv_file=str(source), wait=BULK_WAIT)
    assert insert["numberRecordsProcessed"] == 3
    assert insert["numberRecordsFailed"] == 1
    job_id = str(insert["job_id"])
    ok = csv_rows(client.bulk2.Lead.get_successful_records(job_id))
    assert sorted(row["LastName"] for row in ok) == ["Curie", "Noether"]
    assert all(row["sf__Created"] == "true" and row["sf__Id"].startswith("00Q") for row in ok)
    failed = csv_rows(client.bulk2.Lead.get_failed_records(job_id))
    assert [row["LeadSync_Id__c"] for row in failed] == ["b3"]
    assert failed[0]["sf__Error"].startswith("REQUIRED_FIELD_MISSING")

    records = [
        {"LeadSync_Id__c": "b1", "Title": "Physicist"},
        {"LeadSync_Id__c": "b4", "LastName": "Franklin", "Company": "King's"},
    ]
    [upsert] = client.bulk2.Lead.upsert(
        records=records, external_id_field="LeadSync_Id__c", wait=BULK_WAIT
    )
    assert upsert["numberRecordsProcessed"] == 2
    assert upsert["numberRecordsFailed"] == 0
    created = {
        row["LeadSync_Id__c"]: row["sf__Created"]
        for row in csv_rows(client.bulk2.Lead.get_successful_records(str(upsert["job_id"])))
    }
    assert created == {"b1": "false", "b4": "true"}
    assert client.Lead.get_by_custom_id("LeadSync_Id__c", "b1")["Title"] == "Physicist"
    total: dict[str, Any] = client.query("SELECT COUNT() FROM Lead")
    assert total["totalSize"] == 3

    doomed = client.Lead.get_by_custom_id("LeadSync_Id__c", "b4")["Id"]
    [delete] = client.bulk2.Lead.delete(records=[{"Id": doomed}], wait=BULK_WAIT)
    assert delete["numberRecordsProcessed"] == 1
    assert delete["numberRecordsFailed"] == 0
    assert client.query("SELECT COUNT() FROM Lead")["totalSize"] == 2


def test_is_sandbox_reads_the_organization_row(client: Salesforce, org: Org) -> None:
    assert client.is_sandbox() is False
    [row] = client.query("SELECT Id, Name FROM Organization")["records"]
    assert row["Id"] == org.id and row["Name"] == org.definition.name
