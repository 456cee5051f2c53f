"""Sync Person to SFDC: immediate create (upsert) or update, with the owner chosen by the
assignment rule, a user or a lead queue."""

from __future__ import annotations

import pytest

from leadsync.db import LeadDatabase
from leadsync.emulator import writes
from leadsync.emulator.org import Org
from leadsync.emulator.sessions import Session
from leadsync.errors import RecordError, ValidationError
from leadsync.salesforce.client import SalesforceClient

from ..conftest import ApiClient
from .conftest import PullerFactory
from .pushing import copied, ids, make_pusher, person_of, sf_record


def queue_id(sf_admin: ApiClient) -> str:
    soql = "SELECT Id FROM Group WHERE Type = 'Queue' AND Name = 'Inbound Leads'"
    return str(sf_admin.query(soql)["records"][0]["Id"])


def user_id(sf_admin: ApiClient, username: str) -> str:
    soql = f"SELECT Id FROM User WHERE Username = '{username}'"
    return str(sf_admin.query(soql)["records"][0]["Id"])


def test_an_unlinked_person_becomes_a_lead_owned_by_the_assignment_rule(
    org: Org,
    sf_admin: ApiClient,
    client: SalesforceClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
) -> None:
    puller = copied(org, any_db, make_puller)
    person = any_db.create_person({"email": "new@example.com", "firstName": "Nova"})
    synced = make_pusher(org, any_db, client).sync_person(person["id"])
    assert synced["sfdcType"] == "Lead" and synced["sfdcLeadId"]
    record = sf_record(sf_admin, "Lead", synced["sfdcLeadId"])
    assert record["LeadSync_Id__c"] == str(person["id"])
    assert (record["LastName"], record["Company"]) == ("[not provided]", "[not provided]")
    assert record["OwnerId"] == user_id(sf_admin, "admin@example.com")  # the demo org's rule
    [activity] = any_db.list_activities(person["id"], types=["Sync Lead to SFDC"])
    assert activity["attributes"]["success"] is True and activity["attributes"]["created"] is True
    org.clock.advance(1)
    puller.run()  # the defaults come back as the person's values: nothing left to push
    after = any_db.get_person(person["id"])
    assert after["lastName"] == "[not provided]"
    assert after["sfdcOwnerId"] == record["OwnerId"]
    before = org.limits.used
    make_pusher(org, any_db, client).run()
    assert org.limits.used == before


def test_a_linked_person_costs_one_call_and_can_change_owner(
    org: Org,
    sf_admin: ApiClient,
    client: SalesforceClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
) -> None:
    copied(org, any_db, make_puller)
    lead_id, warm_id = ids(sf_admin, "Lead", 2)
    pusher = make_pusher(org, any_db, client)
    pusher.sync_person(person_of(any_db, warm_id)["id"])  # describes are cached from here on
    person = person_of(any_db, lead_id)
    any_db.update_person(person["id"], {"title": "Synced now"})
    owner = user_id(sf_admin, "sync@example.com")
    before, earlier = org.limits.used, {a["id"] for a in any_db.list_activities(person["id"])}
    synced = pusher.sync_person(person["id"], owner_id=owner)
    assert org.limits.used - before == 1
    record = sf_record(sf_admin, "Lead", lead_id)
    assert (record["Title"], record["OwnerId"]) == ("Synced now", owner)
    assert synced["sfdcOwnerId"] == owner
    assert any_db.pending_changes() == []
    # What this sync logged (not "the last activity": its timestamps come from the org's
    # frozen clock and the local edit's from the database's, so order by time says little).
    logged = [a for a in any_db.list_activities(person["id"]) if a["id"] not in earlier]
    [sync] = [a for a in logged if a["type"] == "Sync Lead to SFDC"]
    assert sync["attributes"]["ownerId"] == owner and sync["attributes"]["success"] is True
    assert sync["attributes"]["fields"] == ["Title"]


def test_a_lead_can_go_to_a_queue_but_a_contact_cannot(
    org: Org,
    sf_admin: ApiClient,
    client: SalesforceClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
) -> None:
    copied(org, any_db, make_puller)
    queue = queue_id(sf_admin)
    pusher = make_pusher(org, any_db, client)
    [lead_id] = ids(sf_admin, "Lead", 1)
    pusher.sync_person(person_of(any_db, lead_id)["id"], owner_id=queue)
    assert sf_record(sf_admin, "Lead", lead_id)["OwnerId"] == queue
    [contact_id] = ids(sf_admin, "Contact", 1)
    contact = person_of(any_db, contact_id)
    owner_before = sf_record(sf_admin, "Contact", contact_id)["OwnerId"]
    activities_before = any_db.list_activities(contact["id"])
    before = org.limits.used
    with pytest.raises(ValidationError) as caught:
        pusher.sync_person(contact["id"], owner_id=queue)
    assert caught.value.field == "owner" and queue in str(caught.value)
    assert org.limits.used == before  # nothing sent
    assert sf_record(sf_admin, "Contact", contact_id)["OwnerId"] == owner_before
    assert any_db.list_activities(contact["id"]) == activities_before
    found = sf_admin.query(f"SELECT Id FROM Lead WHERE LeadSync_Id__c = '{contact['id']}'")
    assert found["totalSize"] == 0  # no duplicate lead


def test_a_rejected_sync_raises_and_is_recorded(
    org: Org,
    sf_admin: ApiClient,
    client: SalesforceClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
) -> None:
    copied(org, any_db, make_puller)
    person = any_db.create_person({"lastName": "Bad", "phone": "no digits here"})
    with pytest.raises(RecordError) as caught:
        make_pusher(org, any_db, client).sync_person(person["id"])
    assert caught.value.code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert "Phone" in caught.value.fields
    [activity] = any_db.list_activities(person["id"], types=["Sync Lead to SFDC"])
    assert activity["attributes"]["success"] is False
    [error] = any_db.list_sync_errors()
    assert (error["personId"], error["code"]) == (person["id"], "FIELD_CUSTOM_VALIDATION_EXCEPTION")
    assert any_db.get_person(person["id"])["sfdcId"] is None


def test_a_person_deleted_in_salesforce_comes_back_as_a_new_lead(
    org: Org,
    admin: Session,
    sf_admin: ApiClient,
    client: SalesforceClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
) -> None:
    puller = copied(org, any_db, make_puller)
    [lead_id] = ids(sf_admin, "Lead", 1)
    person = person_of(any_db, lead_id)
    [deleted] = writes.delete(org, admin, [lead_id])
    assert deleted.success
    org.clock.advance(1)
    puller.run()
    assert any_db.get_person(person["id"])["sfdcIsDeleted"] is True
    synced = make_pusher(org, any_db, client).sync_person(person["id"])
    assert synced["sfdcLeadId"] != lead_id and synced["sfdcIsDeleted"] is False
    assert sf_record(sf_admin, "Lead", synced["sfdcLeadId"])["LastName"] == person["lastName"]
