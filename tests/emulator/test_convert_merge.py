"""SOAP convertLead and merge: effects on every touched row, per-item errors, re-parenting."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

import pytest
from defusedxml import ElementTree
from starlette.testclient import TestClient

from leadsync.emulator.dml import system_insert
from leadsync.emulator.org import Org
from leadsync.emulator.values import today

from ..conftest import login
from .test_soap import PARTNER, envelope, fault_of, soap_post

NS = f"{{{PARTNER}}}"
T0 = 1_790_000_000  # a fixed instant: rows are created then, changes happen later


@pytest.fixture(autouse=True)
def frozen(org: Org) -> None:
    org.clock.freeze(T0)


def row(org: Org, object_name: str, record_id: str) -> dict[str, Any]:
    obj = org.schema.get(object_name)
    assert obj is not None
    found = org.store.fetch_one(org.store.reader(), obj, record_id)
    assert found is not None, f"{object_name} {record_id} missing"
    return found


def count(org: Org, object_name: str, where: str = "1=1", args: tuple[Any, ...] = ()) -> int:
    sql = f'SELECT COUNT(*) FROM "{object_name}" WHERE {where}'
    return int(org.store.reader().execute(sql, args).fetchone()[0])


def make(org: Org, object_name: str, **values: Any) -> str:
    [record_id] = system_insert(org, object_name, [values])
    return record_id


def make_lead(org: Org, **values: Any) -> str:
    defaults: dict[str, Any] = {
        "FirstName": "Grace",
        "LastName": "Hopper",
        "Company": "Navy Labs",
        "Title": "Rear Admiral",
        "Email": "grace@navy.example.com",
        "Phone": "+1 555 0100",
        "Street": "1 Harbor Way",
        "City": "Arlington",
        "Country": "USA",
        "Industry": "Technology",
        "LeadSource": "Web",
        "Description": "Met at the conference",
        "LeadSync_Id__c": "ls-0001",
        "Lead_Score__c": 87.0,
        "Internal_Notes__c": "VIP",
    }
    defaults.update(values)
    return make(org, "Lead", **defaults)


def element(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<urn:{name}>{escape(str(value))}</urn:{name}>"


def convert_xml(lead_id: str | None, status: str | None = "Closed - Converted", **opts: Any) -> str:
    parts = [element("leadId", lead_id), element("convertedStatus", status)]
    parts += [element(key, value) for key, value in opts.items()]
    return "<urn:leadConverts>" + "".join(parts) + "</urn:leadConverts>"


def call(http: TestClient, token: str, body: str) -> Any:
    status, text = soap_post(http, envelope(body, token))
    assert status == 200, text
    return ElementTree.fromstring(text.encode())


def results(root: Any) -> list[dict[str, Any]]:
    """Each `result` as {child tag: text or list of texts}; errors as dicts."""
    parsed = []
    for node in root.iter(f"{NS}result"):
        item: dict[str, Any] = {"errors": []}
        for child in node:
            tag = child.tag.removeprefix(NS)
            if tag == "errors":
                item["errors"].append(
                    {
                        "statusCode": child.findtext(f"{NS}statusCode"),
                        "message": child.findtext(f"{NS}message"),
                        "fields": [f.text for f in child.findall(f"{NS}fields")],
                    }
                )
            elif tag in ("mergedRecordIds", "updatedRelatedIds"):
                item.setdefault(tag, []).append(child.text)
            else:
                item[tag] = child.text
        parsed.append(item)
    return parsed


def convert(http: TestClient, token: str, *items: str) -> list[dict[str, Any]]:
    root = call(http, token, "<urn:convertLead>" + "".join(items) + "</urn:convertLead>")
    return results(root)


@pytest.fixture
def token(org: Org) -> str:
    return login(org, "sync@example.com")


@pytest.fixture
def sync_user(org: Org) -> str:
    user = org.find_user("sync@example.com")
    assert user is not None
    return user.id


# -- convertLead -----------------------------------------------------------------------------


def test_convert_to_new_account_contact_and_opportunity(
    http: TestClient, org: Org, token: str, sync_user: str
) -> None:
    lead_id = make_lead(org)
    org.clock.advance(100)
    [result] = convert(http, token, convert_xml(lead_id))
    assert result["success"] == "true"
    assert result["errors"] == []
    assert result["leadId"] == lead_id
    later = T0 + 100

    account = row(org, "Account", result["accountId"])
    assert account["Name"] == "Navy Labs"
    assert account["BillingStreet"] == "1 Harbor Way"
    assert account["BillingCity"] == "Arlington"
    assert account["Industry"] == "Technology"
    assert account["CreatedDate"] == later and account["CreatedById"] == sync_user

    contact = row(org, "Contact", result["contactId"])
    assert contact["AccountId"] == account["Id"]
    assert (contact["FirstName"], contact["LastName"], contact["Name"]) == (
        "Grace",
        "Hopper",
        "Grace Hopper",
    )
    assert contact["Email"] == "grace@navy.example.com"
    assert contact["Title"] == "Rear Admiral"
    assert contact["MailingStreet"] == "1 Harbor Way"
    assert contact["MailingCountry"] == "USA"
    assert contact["LeadSource"] == "Web"
    assert contact["Description"] == "Met at the conference"
    # Custom fields with the same API name move over, hidden ones included.
    assert contact["LeadSync_Id__c"] == "ls-0001"
    assert contact["Lead_Score__c"] == 87.0
    assert contact["Internal_Notes__c"] == "VIP"

    opportunity = row(org, "Opportunity", result["opportunityId"])
    assert opportunity["Name"] == "Navy Labs"
    assert opportunity["AccountId"] == account["Id"]
    assert opportunity["StageName"] == "Prospecting"
    assert opportunity["CloseDate"] == today(later)
    roles = (
        org.store.reader()
        .execute(
            'SELECT "ContactId", "IsPrimary" FROM "OpportunityContactRole" '
            'WHERE "OpportunityId" = ?',
            (opportunity["Id"],),
        )
        .fetchall()
    )
    assert roles == [(contact["Id"], 1)]

    lead = row(org, "Lead", lead_id)
    assert lead["IsConverted"] == 1
    assert lead["Status"] == "Closed - Converted"
    assert lead["ConvertedDate"] == today(later)
    assert (lead["ConvertedAccountId"], lead["ConvertedContactId"]) == (
        account["Id"],
        contact["Id"],
    )
    assert lead["ConvertedOpportunityId"] == opportunity["Id"]
    assert lead["SystemModstamp"] == later and lead["LastModifiedDate"] == later
    assert lead["LastModifiedById"] == sync_user


def test_convert_without_an_opportunity(http: TestClient, org: Org, token: str) -> None:
    lead_id = make_lead(org)
    [result] = convert(http, token, convert_xml(lead_id, doNotCreateOpportunity=True))
    assert result["success"] == "true"
    assert result["opportunityId"] is None
    assert count(org, "Opportunity") == 0
    assert count(org, "OpportunityContactRole") == 0
    assert row(org, "Lead", lead_id)["ConvertedOpportunityId"] is None


def test_convert_with_opportunity_name_and_owner(http: TestClient, org: Org, token: str) -> None:
    admin = org.find_user("admin@example.com")
    assert admin is not None
    lead_id = make_lead(org)
    [result] = convert(
        http, token, convert_xml(lead_id, opportunityName="Navy renewal", ownerId=admin.id)
    )
    opportunity = row(org, "Opportunity", result["opportunityId"])
    assert opportunity["Name"] == "Navy renewal"
    assert opportunity["OwnerId"] == admin.id
    assert row(org, "Contact", result["contactId"])["OwnerId"] == admin.id


def test_convert_into_an_existing_account_fills_only_empty_fields(
    http: TestClient, org: Org, token: str
) -> None:
    account_id = make(org, "Account", Name="Existing Corp", Phone="+46 8 123", Industry=None)
    lead_id = make_lead(org)
    org.clock.advance(50)
    [result] = convert(http, token, convert_xml(lead_id, accountId=account_id))
    assert result["success"] == "true"
    assert result["accountId"] == account_id
    assert count(org, "Account") == 1
    account = row(org, "Account", account_id)
    assert account["Name"] == "Existing Corp"  # kept
    assert account["Phone"] == "+46 8 123"  # kept
    assert account["Industry"] == "Technology"  # was empty: filled
    assert account["SystemModstamp"] == T0 + 50
    contact = row(org, "Contact", result["contactId"])
    assert contact["AccountId"] == account_id
    assert row(org, "Opportunity", result["opportunityId"])["AccountId"] == account_id


def test_convert_into_an_existing_contact(http: TestClient, org: Org, token: str) -> None:
    account_id = make(org, "Account", Name="Existing Corp")
    contact_id = make(
        org,
        "Contact",
        AccountId=account_id,
        LastName="Hopper",
        Email="old@navy.example.com",
        LeadSource="Phone Inquiry",
    )
    lead_id = make_lead(org)
    [result] = convert(
        http,
        token,
        convert_xml(lead_id, accountId=account_id, contactId=contact_id, overwriteLeadSource=True),
    )
    assert result["success"] == "true"
    assert result["contactId"] == contact_id
    assert count(org, "Contact") == 1
    contact = row(org, "Contact", contact_id)
    assert contact["Email"] == "old@navy.example.com"  # kept
    assert contact["Title"] == "Rear Admiral"  # filled
    assert contact["FirstName"] == "Grace" and contact["Name"] == "Grace Hopper"
    assert contact["LeadSource"] == "Web"  # overwritten on request
    roles = count(org, "OpportunityContactRole", '"ContactId" = ?', (contact_id,))
    assert roles == 1


def test_existing_contact_keeps_its_lead_source_by_default(
    http: TestClient, org: Org, token: str
) -> None:
    account_id = make(org, "Account", Name="Existing Corp")
    contact_id = make(
        org, "Contact", AccountId=account_id, LastName="Hopper", LeadSource="Phone Inquiry"
    )
    lead_id = make_lead(org)
    convert(http, token, convert_xml(lead_id, accountId=account_id, contactId=contact_id))
    assert row(org, "Contact", contact_id)["LeadSource"] == "Phone Inquiry"


def test_campaign_members_and_activities_follow_the_contact(
    http: TestClient, org: Org, token: str
) -> None:
    lead_id = make_lead(org)
    campaign_id = make(org, "Campaign", Name="Spring Webinar")
    member_id = make(org, "CampaignMember", CampaignId=campaign_id, LeadId=lead_id)
    task_id = make(org, "Task", WhoId=lead_id, Subject="Call back")
    event_id = make(org, "Event", WhoId=lead_id, Subject="Demo")
    org.clock.advance(10)
    [result] = convert(http, token, convert_xml(lead_id))
    member = row(org, "CampaignMember", member_id)
    assert member["ContactId"] == result["contactId"]
    assert member["LeadId"] == lead_id
    assert member["SystemModstamp"] == T0 + 10
    assert row(org, "Task", task_id)["WhoId"] == result["contactId"]
    assert row(org, "Event", event_id)["WhoId"] == result["contactId"]
    assert row(org, "Task", task_id)["SystemModstamp"] == T0 + 10


def test_conversion_errors_are_per_lead_results(http: TestClient, org: Org, token: str) -> None:
    good = make_lead(org)
    converted = make_lead(org, LeadSync_Id__c="ls-2")
    convert(http, token, convert_xml(converted))
    unknown = "00Q5e0000009999AAA"
    outcome = convert(
        http,
        token,
        convert_xml(good),
        convert_xml(converted),
        convert_xml(unknown),
        convert_xml(make_lead(org, LeadSync_Id__c="ls-3"), status="Open - Not Contacted"),
        convert_xml(make_lead(org, LeadSync_Id__c="ls-4"), status="No Such Status"),
        convert_xml(None),
        convert_xml("not-an-id"),
    )
    codes = [r["errors"][0]["statusCode"] if r["errors"] else None for r in outcome]
    assert codes == [
        None,
        "CANNOT_UPDATE_CONVERTED_LEAD",
        "INVALID_CROSS_REFERENCE_KEY",
        "INVALID_STATUS",
        "INVALID_STATUS",
        "REQUIRED_FIELD_MISSING",
        "INVALID_CROSS_REFERENCE_KEY",
    ]
    assert [r["success"] for r in outcome] == ["true"] + ["false"] * 6
    assert outcome[3]["errors"][0]["message"] == "invalid convertedStatus: Open - Not Contacted"
    assert outcome[1]["errors"][0]["message"] == "cannot reference converted lead"
    assert outcome[2]["leadId"] == unknown
    assert outcome[2]["accountId"] is None


def test_a_failed_lead_leaves_no_partial_rows(http: TestClient, org: Org, token: str) -> None:
    lead_id = make_lead(org)
    # The opportunity step fails after the account and contact were created.
    [result] = convert(http, token, convert_xml(lead_id, opportunityId="0065e0000009999AAA"))
    assert result["success"] == "false"
    assert result["errors"][0]["fields"] == ["opportunityId"]
    assert count(org, "Account") == 0
    assert count(org, "Contact") == 0
    assert row(org, "Lead", lead_id)["IsConverted"] == 0


def test_a_copied_unique_value_that_clashes_fails_the_lead(
    http: TestClient, org: Org, token: str
) -> None:
    existing = make(org, "Contact", LastName="Other", LeadSync_Id__c="ls-0001")
    lead_id = make_lead(org)  # carries LeadSync_Id__c = ls-0001 too
    [result] = convert(http, token, convert_xml(lead_id))
    assert result["success"] == "false"
    error = result["errors"][0]
    assert error["statusCode"] == "DUPLICATE_VALUE"
    assert error["fields"] == ["LeadSync_Id__c"]
    assert existing in error["message"]
    assert count(org, "Account") == 0  # the account made before the clash was rolled back


def test_contact_without_account_is_refused(http: TestClient, org: Org, token: str) -> None:
    contact_id = make(org, "Contact", LastName="Solo")
    [result] = convert(http, token, convert_xml(make_lead(org), contactId=contact_id))
    assert result["success"] == "false"
    assert result["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"


def test_more_than_200_leads_is_a_fault(http: TestClient, org: Org, token: str) -> None:
    body = "<urn:convertLead>" + convert_xml(make_lead(org)) * 201 + "</urn:convertLead>"
    status, text = soap_post(http, envelope(body, token))
    assert status == 500
    assert fault_of(text)[1] == "LIMIT_EXCEEDED"
    assert count(org, "Account") == 0


def test_convert_lead_needs_a_session(http: TestClient, org: Org) -> None:
    status, text = soap_post(http, envelope("<urn:convertLead/>", "bogus"))
    assert status == 500
    assert fault_of(text)[1] == "INVALID_SESSION_ID"


# -- merge -----------------------------------------------------------------------------------


def merge_xml(
    object_name: str,
    master_id: str,
    losers: list[str],
    fields: dict[str, Any] | None = None,
    to_null: list[str] | None = None,
) -> str:
    master = f"<urn:type>{object_name}</urn:type><urn:Id>{master_id}</urn:Id>"
    master += "".join(element(k, v) for k, v in (fields or {}).items())
    master += "".join(f"<urn:fieldsToNull>{n}</urn:fieldsToNull>" for n in to_null or [])
    ids = "".join(f"<urn:recordToMergeIds>{i}</urn:recordToMergeIds>" for i in losers)
    return f"<urn:request><urn:masterRecord>{master}</urn:masterRecord>{ids}</urn:request>"


def merge(http: TestClient, token: str, *requests: str) -> list[dict[str, Any]]:
    return results(call(http, token, "<urn:merge>" + "".join(requests) + "</urn:merge>"))


def test_merge_leads(http: TestClient, org: Org, token: str, sync_user: str) -> None:
    master = make_lead(org, Phone=None, Title="Admiral")
    loser_a = make_lead(org, LeadSync_Id__c="ls-a", Phone="+1 555 0199")
    loser_b = make_lead(org, LeadSync_Id__c="ls-b")
    campaign = make(org, "Campaign", Name="Webinar")
    other_campaign = make(org, "Campaign", Name="Expo")
    kept = make(org, "CampaignMember", CampaignId=campaign, LeadId=master)
    duplicate = make(org, "CampaignMember", CampaignId=campaign, LeadId=loser_a)
    moved_member = make(org, "CampaignMember", CampaignId=other_campaign, LeadId=loser_b)
    task = make(org, "Task", WhoId=loser_a, Subject="Follow up")
    org.clock.advance(30)
    [result] = merge(
        http, token, merge_xml("Lead", master, [loser_a, loser_b], {"Title": "Rear Admiral"})
    )
    assert result["success"] == "true", result
    assert result["id"] == master
    assert result["mergedRecordIds"] == [loser_a, loser_b]
    # The duplicate membership is deleted, not updated.
    assert set(result["updatedRelatedIds"]) == {moved_member, task}

    winner = row(org, "Lead", master)
    assert winner["Title"] == "Rear Admiral"  # set by masterRecord
    assert winner["Phone"] is None  # not auto-filled from the merged lead
    assert winner["SystemModstamp"] == T0 + 30 and winner["LastModifiedById"] == sync_user
    for loser in (loser_a, loser_b):
        deleted = row(org, "Lead", loser)
        assert deleted["IsDeleted"] == 1
        assert deleted["MasterRecordId"] == master
        assert deleted["SystemModstamp"] == T0 + 30

    assert row(org, "CampaignMember", kept)["IsDeleted"] == 0
    assert row(org, "CampaignMember", duplicate)["IsDeleted"] == 1  # one membership per campaign
    assert row(org, "CampaignMember", moved_member)["LeadId"] == master
    assert row(org, "Task", task)["WhoId"] == master


def test_merge_accounts_moves_contacts_and_opportunities(
    http: TestClient, org: Org, token: str
) -> None:
    master = make(org, "Account", Name="Acme")
    loser = make(org, "Account", Name="ACME Inc")
    contact = make(org, "Contact", LastName="Coyote", AccountId=loser)
    opportunity = make(
        org,
        "Opportunity",
        Name="Rockets",
        StageName="Prospecting",
        CloseDate="2026-12-01",
        AccountId=loser,
    )
    child_account = make(org, "Account", Name="Acme West", ParentId=loser)
    [result] = merge(http, token, merge_xml("Account", master, [loser]))
    assert result["success"] == "true"
    assert row(org, "Contact", contact)["AccountId"] == master
    assert row(org, "Opportunity", opportunity)["AccountId"] == master
    assert row(org, "Account", child_account)["ParentId"] == master
    assert row(org, "Account", loser)["MasterRecordId"] == master
    assert set(result["updatedRelatedIds"]) == {contact, opportunity, child_account}


def test_merge_contacts_moves_roles_and_memberships(http: TestClient, org: Org, token: str) -> None:
    master = make(org, "Contact", LastName="Lovelace", Email="ada@example.com")
    loser = make(org, "Contact", LastName="Lovelace", Email="ada@old.example.com")
    opportunity = make(
        org, "Opportunity", Name="Engine", StageName="Prospecting", CloseDate="2026-12-01"
    )
    role = make(org, "OpportunityContactRole", OpportunityId=opportunity, ContactId=loser)
    campaign = make(org, "Campaign", Name="Webinar")
    member = make(org, "CampaignMember", CampaignId=campaign, ContactId=loser)
    [result] = merge(
        http, token, merge_xml("Contact", master, [loser], {"FirstName": "Ada"}, ["Email"])
    )
    assert result["success"] == "true"
    winner = row(org, "Contact", master)
    assert winner["Name"] == "Ada Lovelace"
    assert winner["Email"] is None
    assert row(org, "OpportunityContactRole", role)["ContactId"] == master
    assert row(org, "CampaignMember", member)["ContactId"] == master


def test_merge_errors_are_per_request(http: TestClient, org: Org, token: str) -> None:
    master = make_lead(org)
    a, b, c = (make_lead(org, LeadSync_Id__c=f"x{n}") for n in range(3))
    deleted = make_lead(org, LeadSync_Id__c="gone")
    with org.store.write() as conn:
        conn.execute('UPDATE "Lead" SET "IsDeleted" = 1 WHERE "Id" = ?', (deleted,))
    account = make(org, "Account", Name="Other")
    outcome = merge(
        http,
        token,
        merge_xml("Lead", master, [a, b, c]),
        merge_xml("Lead", master, [master]),
        merge_xml("Lead", master, [deleted]),
        merge_xml("Lead", master, [account]),
        merge_xml("Opportunity", master, [a]),
        merge_xml("Lead", master, []),
        merge_xml("Lead", master, [a], {"Internal_Notes__c": "x"}),
        merge_xml("Lead", master, [a], {"IsConverted": "true"}),
        merge_xml("Lead", master, [a], {"NumberOfEmployees": "many"}),
        merge_xml("Lead", master, [a], to_null=["LastName"]),
    )
    codes = [r["errors"][0]["statusCode"] for r in outcome]
    assert codes == [
        "LIMIT_EXCEEDED",
        "INVALID_ID_FIELD",
        "ENTITY_IS_DELETED",
        "INVALID_CROSS_REFERENCE_KEY",
        "INVALID_TYPE",
        "REQUIRED_FIELD_MISSING",
        "INVALID_FIELD",  # hidden from the sync user by field-level security
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "REQUIRED_FIELD_MISSING",
    ]
    assert all(r["success"] == "false" for r in outcome)
    assert row(org, "Lead", a)["IsDeleted"] == 0  # nothing merged by the failed requests


def test_merge_into_a_converted_lead_is_refused(http: TestClient, org: Org, token: str) -> None:
    master = make_lead(org)
    convert(http, token, convert_xml(master))
    [result] = merge(http, token, merge_xml("Lead", master, [make_lead(org, LeadSync_Id__c="z")]))
    assert result["success"] == "false"
    assert result["errors"][0]["statusCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"


def test_merge_counts_as_one_api_call(http: TestClient, org: Org, token: str) -> None:
    master, loser = make_lead(org), make_lead(org, LeadSync_Id__c="q")
    before = org.limits.used
    merge(http, token, merge_xml("Lead", master, [loser]))
    assert org.limits.used == before + 1


def test_leadsync_connector_converts_through_the_emulator(http: TestClient, org: Org) -> None:
    from leadsync.salesforce.auth import Credentials
    from leadsync.salesforce.client import SalesforceClient
    from leadsync.salesforce.soap import LeadConvert, convert_leads

    credentials = Credentials(
        login_url="http://testserver",
        username="sync@example.com",
        password="password",
        client_id="leadsync",
        client_secret="leadsync-secret",
    )
    client = SalesforceClient(credentials=credentials, http=http)
    lead_id = make_lead(org)
    [done, failed] = convert_leads(
        client,
        [
            LeadConvert(lead_id=lead_id, converted_status="Closed - Converted"),
            LeadConvert(lead_id=lead_id, converted_status="Closed - Converted"),
        ],
    )
    assert done.success and done.lead_id == lead_id
    assert done.contact_id == row(org, "Lead", lead_id)["ConvertedContactId"]
    assert done.opportunity_id is not None
    assert not failed.success
    assert failed.errors[0]["statusCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"
    assert failed.account_id is None
