"""Opportunities, contact roles, campaigns, members, custom objects, tasks, events and queues:
the initial copy, incremental cycles, deletes and bad data."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import select

from leadsync.db import LeadDatabase
from leadsync.db.schema import (
    activities,
    campaign_members,
    campaign_statuses,
    campaigns,
    custom_object_records,
    opportunities,
    opportunity_roles,
    owners,
)
from leadsync.emulator import writes
from leadsync.emulator.org import Org
from leadsync.emulator.seed import seed_demo
from leadsync.emulator.sessions import Session

from ..conftest import ApiClient
from .conftest import PullerFactory
from .helpers import count, next_minute, person_by_sfdc
from .test_pull_cycle import copied, edit

NEW_OBJECTS = {
    "Group",
    "Opportunity",
    "OpportunityContactRole",
    "Campaign",
    "CampaignMemberStatus",
    "CampaignMember",
    "Product_Interest__c",
    "Task",
    "Event",
}


def total(sf_admin: ApiClient, soql: str) -> int:
    return int(sf_admin.query(soql)["totalSize"])


def activities_of(db: LeadDatabase, person_id: int, type_: str) -> list[dict[str, Any]]:
    return db.list_activities(person_id, types=[type_])


def create(org: Org, admin: Session, obj: str, **values: object) -> str:
    [result] = writes.create(org, admin, [(obj, values)])
    body = result.as_json()
    assert body["success"], body
    return str(body["id"])


def raw_update(org: Org, obj: str, sfdc_id: str, **values: object) -> None:
    """Write straight into the emulator's store: data no validation would let in."""
    columns = ", ".join(f'"{name}" = ?' for name in values)
    with org.store.write() as conn:
        conn.execute(
            f'UPDATE "{obj}" SET {columns}, "SystemModstamp" = ? WHERE "Id" = ?',
            (*values.values(), org.clock.now(), sfdc_id),
        )


def first_id(sf_admin: ApiClient, soql: str) -> str:
    return str(sf_admin.query(soql)["records"][0]["Id"])


# -- the initial copy ------------------------------------------------------------------------


def test_initial_copy_brings_every_related_object(
    org: Org, sf_admin: ApiClient, any_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    seed_demo(org, records=40)
    result = make_puller(any_db).run()
    assert result.copied
    assert set(result.counts) >= NEW_OBJECTS
    assert count(any_db, opportunities) == total(sf_admin, "SELECT COUNT() FROM Opportunity")
    roles = total(sf_admin, "SELECT COUNT() FROM OpportunityContactRole")
    assert roles > 0 and count(any_db, opportunity_roles) == roles
    assert count(any_db, campaigns) == total(sf_admin, "SELECT COUNT() FROM Campaign")
    statuses = total(sf_admin, "SELECT COUNT() FROM CampaignMemberStatus")
    assert count(any_db, campaign_statuses) == statuses
    members = total(sf_admin, "SELECT COUNT() FROM CampaignMember")
    assert members > 0 and count(any_db, campaign_members) == members
    interests = total(sf_admin, "SELECT COUNT() FROM Product_Interest__c")
    assert interests > 0
    assert count(any_db, custom_object_records, custom_object_records.c.person_id.is_not(None)) == (
        interests
    )
    tasks = total(sf_admin, "SELECT COUNT() FROM Task WHERE WhoId != null")
    events = total(sf_admin, "SELECT COUNT() FROM Event WHERE WhoId != null")
    assert count(any_db, activities, activities.c.type == "SFDC Activity") == tasks + events
    added = count(any_db, activities, activities.c.type == "Add to Opportunity")
    assert added == roles
    assert count(any_db, activities, activities.c.type == "Add to SFDC Campaign") == members
    assert count(any_db, owners, owners.c.is_queue.is_(True)) == total(
        sf_admin, "SELECT COUNT() FROM Group WHERE Type = 'Queue'"
    )
    assert any_db.list_sync_errors() == []


def test_read_api_shows_a_persons_campaigns_and_opportunities(
    org: Org, sf_admin: ApiClient, any_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    seed_demo(org, records=40)
    make_puller(any_db).run()
    role = sf_admin.query(
        "SELECT ContactId, OpportunityId, Role, IsPrimary FROM OpportunityContactRole LIMIT 1"
    )["records"][0]
    person = person_by_sfdc(any_db, role["ContactId"])
    found = [
        o for o in any_db.person_opportunities(person["id"]) if o["sfdcId"] == role["OpportunityId"]
    ]
    assert found and found[0]["role"] == role["Role"]
    assert found[0]["isPrimary"] is role["IsPrimary"]
    member = sf_admin.query(
        "SELECT LeadId, Campaign.Name, Status FROM CampaignMember WHERE LeadId != null LIMIT 1"
    )["records"][0]
    lead = person_by_sfdc(any_db, member["LeadId"])
    joined = any_db.person_campaigns(lead["id"])
    assert (member["Campaign"]["Name"], member["Status"]) in {
        (m["campaignName"], m["status"]) for m in joined
    }
    listed = any_db.list_campaigns()
    assert len(listed) == total(sf_admin, "SELECT COUNT() FROM Campaign")
    assert {s["label"] for s in listed[0]["memberStatuses"]} == {"Sent", "Responded"}


def test_a_lead_owned_by_a_queue_shows_the_queue_as_owner(
    org: Org, admin: Session, sf_admin: ApiClient, any_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    puller = copied(org, any_db, make_puller)
    queue = first_id(sf_admin, "SELECT Id FROM Group WHERE Type = 'Queue'")
    lead = create(org, admin, "Lead", LastName="Queued", Company="Q Inc", OwnerId=queue)
    org.clock.advance(1)
    puller.run()
    person = person_by_sfdc(any_db, lead)
    assert person["sfdcOwnerId"] == queue
    assert person["leadOwnerLastName"] is None  # a queue leaves the sales owner fields blank
    with any_db.transaction() as conn:
        row = conn.execute(select(owners).where(owners.c.sfdc_id == queue)).one()
    assert row.is_queue and row.last_name == "Inbound Leads"


# -- incremental cycles -------------------------------------------------------------------------


def test_an_idle_cycle_with_every_object_costs_one_call(
    org: Org, any_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    puller = copied(org, any_db, make_puller)
    assert {p.name for p in puller.plans()} >= NEW_OBJECTS
    puller.run()
    before = org.limits.used
    result = puller.run()
    # Five objects checked by query and up to ten by `updated` + `deleted` fit one call.
    assert len(puller.plans()) <= 15
    assert org.limits.used - before == result.api_calls == 1


def test_opportunity_changes_log_update_opportunity_on_every_role(
    org: Org, admin: Session, sf_admin: ApiClient, any_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    puller = copied(org, any_db, make_puller)
    opp = sf_admin.query(
        "SELECT Id, StageName, Amount FROM Opportunity WHERE StageName = 'Prospecting' LIMIT 1"
    )["records"][0]
    contacts = [
        r["ContactId"]
        for r in sf_admin.query(
            f"SELECT ContactId FROM OpportunityContactRole WHERE OpportunityId = '{opp['Id']}'"
        )["records"]
    ]
    assert contacts
    edit(org, admin, "Opportunity", opp["Id"], StageName="Qualification", Amount=opp["Amount"])
    org.clock.advance(1)
    result = puller.run()
    assert result.of("Opportunity").updated == 1
    for contact in contacts:
        person = person_by_sfdc(any_db, contact)
        [update] = activities_of(any_db, person["id"], "Update Opportunity")
        attributes = update["attributes"]
        assert (attributes["field"], attributes["oldValue"], attributes["newValue"]) == (
            "StageName",
            "Prospecting",
            "Qualification",
        )
        assert attributes["opportunityId"] == opp["Id"]
        opportunity = next(
            o for o in any_db.person_opportunities(person["id"]) if o["sfdcId"] == opp["Id"]
        )
        assert opportunity["stage"] == "Qualification"
    before = count(any_db, activities)
    edit(org, admin, "Opportunity", opp["Id"], StageName="Qualification")  # no real change
    org.clock.advance(1)
    puller.run()
    puller.run()  # and a lookback re-read
    assert count(any_db, activities) == before


def test_a_new_contact_role_logs_add_to_opportunity(
    org: Org, admin: Session, sf_admin: ApiClient, any_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    puller = copied(org, any_db, make_puller)
    contact = create(org, admin, "Contact", LastName="Buyer", Email="buyer@example.com")
    opp = create(
        org,
        admin,
        "Opportunity",
        Name="Big Deal",
        StageName="Prospecting",
        CloseDate="2027-01-31",
        Amount=12000.0,
    )
    role = create(
        org,
        admin,
        "OpportunityContactRole",
        OpportunityId=opp,
        ContactId=contact,
        Role="Economic Buyer",
        IsPrimary=True,
    )
    next_minute(org)
    puller.run()
    person = person_by_sfdc(any_db, contact)
    [added] = activities_of(any_db, person["id"], "Add to Opportunity")
    assert added["attributes"] == {
        "opportunityId": opp,
        "opportunityName": "Big Deal",
        "role": "Economic Buyer",
        "isPrimary": True,
        "stage": "Prospecting",
        "amount": 12000.0,
        "source": "salesforce",
    }
    [held] = any_db.person_opportunities(person["id"])
    assert (held["closeDate"], held["role"]) == ("2027-01-31", "Economic Buyer")
    # Deleting the role removes it; deleting the opportunity flags it. Nothing crashes.
    [done] = writes.delete(org, admin, [role])
    assert done.as_json()["success"]
    next_minute(org)
    result = puller.run()
    assert result.of("OpportunityContactRole").deleted == 1
    assert any_db.person_opportunities(person["id"]) == []
    [done] = writes.delete(org, admin, [opp])
    assert done.as_json()["success"]
    next_minute(org)
    puller.run()
    with any_db.transaction() as conn:
        flagged = conn.scalar(
            select(opportunities.c.sfdc_is_deleted).where(opportunities.c.sfdc_id == opp)
        )
    assert flagged is True


def test_campaign_membership_add_change_and_remove(
    org: Org, admin: Session, sf_admin: ApiClient, any_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    puller = copied(org, any_db, make_puller)
    campaign = create(org, admin, "Campaign", Name="Spring Webinar", Type="Webinar")
    lead = create(org, admin, "Lead", LastName="Joiner", Company="Join Co")
    member = create(org, admin, "CampaignMember", CampaignId=campaign, LeadId=lead, Status="Sent")
    next_minute(org)
    puller.run()
    person = person_by_sfdc(any_db, lead)
    [added] = activities_of(any_db, person["id"], "Add to SFDC Campaign")
    assert added["attributes"]["campaignName"] == "Spring Webinar"
    assert added["attributes"]["status"] == "Sent"
    edit(org, admin, "CampaignMember", member, Status="Responded")
    next_minute(org)
    puller.run()
    puller.run()  # the lookback re-reads the change: still one activity
    [changed] = activities_of(any_db, person["id"], "Change Status in SFDC Campaign")
    assert (changed["attributes"]["oldStatus"], changed["attributes"]["newStatus"]) == (
        "Sent",
        "Responded",
    )
    assert [m["status"] for m in any_db.person_campaigns(person["id"])] == ["Responded"]
    [done] = writes.delete(org, admin, [member])
    assert done.as_json()["success"]
    next_minute(org)
    puller.run()
    [removed] = activities_of(any_db, person["id"], "Remove from SFDC Campaign")
    assert removed["attributes"]["campaignName"] == "Spring Webinar"
    assert any_db.person_campaigns(person["id"]) == []


def test_a_task_update_updates_its_sfdc_activity(
    org: Org, admin: Session, sf_admin: ApiClient, any_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    puller = copied(org, any_db, make_puller)
    lead = first_id(sf_admin, "SELECT Id FROM Lead WHERE IsConverted = false ORDER BY Id")
    task = create(org, admin, "Task", WhoId=lead, Subject="Call back", ActivityDate="2027-02-01")
    event = create(
        org,
        admin,
        "Event",
        WhoId=lead,
        Subject="Demo",
        DurationInMinutes=30,
        ActivityDateTime="2027-02-02T10:00:00.000+0000",
    )
    next_minute(org)
    puller.run()
    person = person_by_sfdc(any_db, lead)
    logged = {a["sfdcId"]: a for a in activities_of(any_db, person["id"], "SFDC Activity")}
    assert logged[task]["attributes"]["type"] == "Task"
    assert logged[task]["attributes"]["subject"] == "Call back"
    assert logged[task]["attributes"]["activityDate"] == "2027-02-01"
    assert logged[task]["attributes"]["status"] == "Not Started"
    assert logged[event]["attributes"]["type"] == "Event"
    edit(org, admin, "Task", task, Status="Completed", Description="Done")
    next_minute(org)
    puller.run()
    mine = [a for a in activities_of(any_db, person["id"], "SFDC Activity") if a["sfdcId"] == task]
    assert len(mine) == 1  # updated in place, not logged twice
    assert mine[0]["attributes"]["status"] == "Completed"
    assert mine[0]["attributes"]["description"] == "Done"


def test_custom_object_records_follow_their_lookup(
    org: Org, admin: Session, sf_admin: ApiClient, any_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    puller = copied(org, any_db, make_puller)
    contact = first_id(sf_admin, "SELECT Id FROM Contact ORDER BY Id")
    record = create(
        org,
        admin,
        "Product_Interest__c",
        Contact__c=contact,
        Product__c="Core",
        Interest_Level__c=2,
    )
    next_minute(org)
    puller.run()
    edit(org, admin, "Product_Interest__c", record, Interest_Level__c=5)
    next_minute(org)
    result = puller.run()
    assert result.of("Product_Interest__c").updated == 1
    with any_db.transaction() as conn:
        row = conn.execute(
            select(custom_object_records).where(custom_object_records.c.sfdc_id == record)
        ).one()
    assert row.person_id == person_by_sfdc(any_db, contact)["id"]
    assert row.object_name == "Product_Interest__c"
    assert row.fields["Interest_Level__c"] == 5 and row.fields["Product__c"] == "Core"


# -- bad data and visibility ----------------------------------------------------------------------


def test_bad_records_are_reported_and_the_cycle_goes_on(
    org: Org, admin: Session, sf_admin: ApiClient, any_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    puller = copied(org, any_db, make_puller)
    broken = first_id(sf_admin, "SELECT Id FROM Opportunity ORDER BY Id")
    fine = sf_admin.query("SELECT Id FROM Opportunity ORDER BY Id LIMIT 2")["records"][1]["Id"]
    raw_update(org, "Opportunity", broken, Amount="lots", Name="Broken but named")
    edit(org, admin, "Opportunity", fine, Name="Renamed fine")
    member = first_id(sf_admin, "SELECT Id FROM CampaignMember WHERE LeadId != null ORDER BY Id")
    raw_update(org, "CampaignMember", member, LeadId="00Q000000000000AAA", Status="Responded")
    org.clock.advance(1)
    result = puller.run()
    assert result.of("Opportunity").updated == 2
    assert result.of("CampaignMember").failed == 1
    errors = {e["sfdcId"]: e for e in any_db.list_sync_errors()}
    assert errors[broken]["object"] == "Opportunity" and errors[broken]["fields"] == ["Amount"]
    assert errors[member]["object"] == "CampaignMember" and errors[member]["fields"] == ["LeadId"]
    assert "00Q000000000000AAA" in errors[member]["message"]
    with any_db.transaction() as conn:
        names = dict(conn.execute(select(opportunities.c.sfdc_id, opportunities.c.name)).all())
    assert names[broken] == "Broken but named" and names[fine] == "Renamed fine"
    puller.run()  # the lookback re-reads both: no second error
    assert len(any_db.list_sync_errors()) == 2


def test_an_object_the_sync_user_cannot_query_is_skipped(
    org: Org, sf_admin: ApiClient, any_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    profiles = org.definition.profiles
    hidden = frozenset({"campaign", "campaignmember", "campaignmemberstatus", "task"})
    sync_profile = profiles["Marketing Sync User"]
    profiles["Marketing Sync User"] = dataclasses.replace(
        sync_profile,
        hidden_objects=hidden,
        # No change stamp to read: pulling by change is impossible, so it is left out too.
        hidden_fields=sync_profile.hidden_fields | {"product_interest__c.systemmodstamp"},
    )
    seed_demo(org, records=30)
    puller = make_puller(any_db)
    result = puller.run()
    assert result.copied
    assert not {"Campaign", "CampaignMember", "Task", "Product_Interest__c"} & set(result.counts)
    assert count(any_db, campaigns) == 0 and count(any_db, custom_object_records) == 0
    assert count(any_db, opportunities) == total(sf_admin, "SELECT COUNT() FROM Opportunity")
    assert count(any_db, activities, activities.c.type == "SFDC Activity") == total(
        sf_admin, "SELECT COUNT() FROM Event WHERE WhoId != null"
    )
    org.clock.advance(1)
    assert not puller.run().copied  # the cycle after runs without them
