"""The push: local edits reach Salesforce, conflicts settle by rule, echoes change nothing."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import select

from leadsync.db import LeadDatabase
from leadsync.db.schema import activities, persons, sync_conflicts
from leadsync.emulator import writes
from leadsync.emulator.org import Org
from leadsync.emulator.sessions import Session
from leadsync.salesforce.client import SalesforceClient
from leadsync.sync.conditions import Condition
from leadsync.sync.rules import FieldRules

from ..conftest import ApiClient
from .conftest import PullerFactory
from .helpers import count
from .pushing import copied, edit, ids, make_pusher, person_of, sf_record


def test_a_local_edit_reaches_salesforce(
    org: Org,
    sf_admin: ApiClient,
    client: SalesforceClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
) -> None:
    copied(org, any_db, make_puller)
    [lead_id] = ids(sf_admin, "Lead", 1)
    person = person_of(any_db, lead_id)
    any_db.update_person(person["id"], {"title": "Head of Pushing", "city": "Oslo"})
    result = make_pusher(org, any_db, client).run()
    assert result.of("Lead").updated == 1
    record = sf_record(sf_admin, "Lead", lead_id)
    assert (record["Title"], record["City"]) == ("Head of Pushing", "Oslo")
    assert any_db.pending_changes() == []
    run = next(r for r in any_db.list_sync_runs() if r["operation"] == "Push updates")
    assert (run["object"], run["status"], run["updated"]) == ("Lead", "Succeeded", 1)


@pytest.mark.parametrize(("obj", "winner"), [("Lead", "leadsync"), ("Contact", "salesforce")])
def test_the_same_field_edited_on_both_sides(
    org: Org,
    admin: Session,
    sf_admin: ApiClient,
    client: SalesforceClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
    obj: str,
    winner: str,
) -> None:
    puller = copied(org, any_db, make_puller)
    pusher = make_pusher(org, any_db, client)
    [sfdc_id] = ids(sf_admin, obj, 1)
    person = person_of(any_db, sfdc_id)
    any_db.update_person(person["id"], {"title": "Marketing title"})
    edit(org, admin, obj, sfdc_id, Title="Salesforce title")
    org.clock.advance(1)
    puller.run()
    pusher.run()
    expected = "Marketing title" if winner == "leadsync" else "Salesforce title"
    assert any_db.get_person(person["id"])["title"] == expected
    assert sf_record(sf_admin, obj, sfdc_id)["Title"] == expected
    with any_db.transaction() as conn:
        [conflict] = conn.execute(select(sync_conflicts)).all()
    expected_rule = "marketing-wins" if obj == "Lead" else "salesforce-wins"
    assert (conflict.field, conflict.winner, conflict.rule) == ("title", winner, expected_rule)


@pytest.mark.parametrize("obj", ["Lead", "Contact"])
def test_edits_to_different_fields_both_survive(
    org: Org,
    admin: Session,
    sf_admin: ApiClient,
    client: SalesforceClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
    obj: str,
) -> None:
    puller = copied(org, any_db, make_puller)
    [sfdc_id] = ids(sf_admin, obj, 1)
    person = person_of(any_db, sfdc_id)
    any_db.update_person(person["id"], {"title": "Local title"})
    edit(org, admin, obj, sfdc_id, Description="Salesforce notes")
    org.clock.advance(1)
    puller.run()
    make_pusher(org, any_db, client).run()
    local = any_db.get_person(person["id"])
    remote = sf_record(sf_admin, obj, sfdc_id)
    assert (local["title"], local["description"]) == ("Local title", "Salesforce notes")
    assert (remote["Title"], remote["Description"]) == ("Local title", "Salesforce notes")


def test_a_local_company_edit_fans_out_and_never_reaches_salesforce(
    org: Org,
    admin: Session,
    sf_admin: ApiClient,
    client: SalesforceClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
) -> None:
    puller = copied(org, any_db, make_puller)
    account = sf_admin.query("SELECT Id, Industry FROM Account ORDER BY Id LIMIT 1")["records"][0]
    contacts = any_db.find_persons(sfdcAccountId=account["Id"])
    assert len(contacts) >= 1
    any_db.update_person(contacts[0]["id"], {"industry": "Local Industry"})
    assert all(
        p["industry"] == "Local Industry" for p in any_db.find_persons(sfdcAccountId=account["Id"])
    )
    before = org.limits.used
    make_pusher(org, any_db, client).run()
    assert org.limits.used == before  # nothing to push: local-only
    assert sf_record(sf_admin, "Account", account["Id"])["Industry"] == account["Industry"]
    edit(org, admin, "Account", account["Id"], Industry="Banking")
    org.clock.advance(1)
    puller.run()
    assert all(p["industry"] == "Banking" for p in any_db.find_persons(sfdcAccountId=account["Id"]))


def test_pushing_n_persons_costs_ceil_n_over_200_plus_one_calls(
    org: Org,
    sf_admin: ApiClient,
    client: SalesforceClient,
    sqlite_db: LeadDatabase,
    make_puller: PullerFactory,
) -> None:
    copied(org, sqlite_db, make_puller, records=1_200)
    lead_ids = ids(sf_admin, "Lead", 450)
    with sqlite_db.transaction():
        for n, lead_id in enumerate(lead_ids):
            sqlite_db.update_person(person_of(sqlite_db, lead_id)["id"], {"title": f"T{n}"})
    before = org.limits.used
    result = make_pusher(org, sqlite_db, client).run()
    assert org.limits.used - before <= math.ceil(len(lead_ids) / 200) + 1
    assert result.of("Lead").updated == len(lead_ids)
    assert sf_record(sf_admin, "Lead", lead_ids[-1])["Title"] == f"T{len(lead_ids) - 1}"


def test_our_own_push_read_back_changes_nothing(
    org: Org,
    sf_admin: ApiClient,
    client: SalesforceClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
) -> None:
    puller = copied(org, any_db, make_puller)
    lead_id, other = ids(sf_admin, "Lead", 2)
    [contact_id] = ids(sf_admin, "Contact", 1)
    for sfdc_id in (lead_id, other, contact_id):
        any_db.update_person(
            person_of(any_db, sfdc_id)["id"], {"title": "Echo", "phone": "555-0100"}
        )
    make_pusher(org, any_db, client).run()
    with any_db.transaction() as conn:
        stamps = list(conn.execute(select(persons.c.id, persons.c.updated_at)))
    activities_before = count(any_db, activities)
    org.clock.advance(1)
    result = puller.run()
    assert result.of("Lead").read == 2 and result.of("Contact").read == 1  # it was read back
    with any_db.transaction() as conn:
        assert list(conn.execute(select(persons.c.id, persons.c.updated_at))) == stamps
        assert conn.execute(select(sync_conflicts)).all() == []
    assert count(any_db, activities) == activities_before
    assert any_db.pending_changes() == []
    before = org.limits.used
    make_pusher(org, any_db, client).run()  # and nothing goes back out
    assert org.limits.used - before == 0


def test_rules_from_config_steer_both_directions(
    org: Org,
    admin: Session,
    sf_admin: ApiClient,
    client: SalesforceClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
) -> None:
    rules = FieldRules.from_config(
        {
            "fields": {"title": "dont-sync", "description": "leadsync-only"},
            "Lead": {"city": "salesforce-only"},
        }
    )
    copied(org, any_db, make_puller)
    puller = make_puller(any_db)
    puller.rules = rules
    puller._plans.clear()
    [lead_id] = ids(sf_admin, "Lead", 1)
    remote_before = sf_record(sf_admin, "Lead", lead_id)
    person = person_of(any_db, lead_id)
    any_db.update_person(
        person["id"], {"title": "Local only", "description": "Pushed", "city": "Never pushed"}
    )
    make_pusher(org, any_db, client, rules=rules).run()
    remote = sf_record(sf_admin, "Lead", lead_id)
    assert remote["Title"] == remote_before["Title"]  # dont-sync
    assert remote["City"] == remote_before["City"]  # salesforce-only
    assert remote["Description"] == "Pushed"  # leadsync-only pushes
    edit(org, admin, "Lead", lead_id, Description="Salesforce text", Title="SF title", City="Rome")
    org.clock.advance(1)
    puller.run()
    local = any_db.get_person(person["id"])
    assert local["description"] == "Pushed"  # leadsync-only: never pulled
    assert local["title"] == "Local only"  # dont-sync: never pulled
    assert local["city"] == "Rome"  # salesforce-only: Salesforce's value lands


def test_unlinked_persons_wait_for_an_action_unless_auto_create_matches(
    org: Org,
    sf_admin: ApiClient,
    client: SalesforceClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
) -> None:
    copied(org, any_db, make_puller)
    quiet = any_db.create_person({"email": "quiet@example.com", "lastName": "Quiet"})
    hot = any_db.create_person({"email": "hot@example.com", "lastName": "Hot", "leadScore": 80})
    any_db.update_person(quiet["id"], {"title": "Still local"})
    any_db.update_person(hot["id"], {"title": "Hot lead"})
    settings = {"auto_create": (Condition("leadScore", ">=", 50),)}
    result = make_pusher(org, any_db, client, **settings).run()
    assert result.of("Lead").new == 1
    created = any_db.get_person(hot["id"])
    assert created["sfdcType"] == "Lead" and created["sfdcLeadId"]
    record = sf_record(sf_admin, "Lead", created["sfdcLeadId"])
    assert record["LeadSync_Id__c"] == str(hot["id"])
    assert (record["Title"], record["Company"]) == ("Hot lead", "[not provided]")
    assert any_db.get_person(quiet["id"])["sfdcId"] is None
    found = sf_admin.query("SELECT Id FROM Lead WHERE Email = 'quiet@example.com'")
    assert found["totalSize"] == 0
    assert any_db.pending_changes() == []


def test_new_persons_never_edited_are_scanned_once_by_auto_create(
    org: Org,
    sf_admin: ApiClient,
    client: SalesforceClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
) -> None:
    copied(org, any_db, make_puller)
    quiet = any_db.create_person({"email": "quiet2@example.com", "lastName": "Quiet"})
    hot = any_db.create_person({"email": "hot2@example.com", "lastName": "Hot", "leadScore": 90})
    pusher = make_pusher(org, any_db, client, auto_create=(Condition("leadScore", ">=", 50),))
    assert pusher.run().of("Lead").new == 1
    assert any_db.get_person(hot["id"])["sfdcLeadId"]
    assert any_db.get_person(quiet["id"])["sfdcId"] is None
    later = any_db.create_person({"email": "later@example.com", "lastName": "L", "leadScore": 70})
    used = org.limits.used
    again = pusher.run()
    assert again.of("Lead").new == 1  # only the person created since: the scan has a cursor
    assert any_db.get_person(later["id"])["sfdcLeadId"]
    assert org.limits.used - used == 1
    quiet_found = sf_admin.query("SELECT Id FROM Lead WHERE Email = 'quiet2@example.com'")
    assert quiet_found["totalSize"] == 0


def test_a_missing_external_id_field_says_how_to_add_it(
    org: Org,
    client: SalesforceClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
) -> None:
    from leadsync.errors import ConfigError

    copied(org, any_db, make_puller)
    person = any_db.create_person({"lastName": "Nobody", "leadScore": 99})
    pusher = make_pusher(
        org,
        any_db,
        client,
        external_id_field="Missing_Id__c",
        auto_create=(Condition("leadScore", ">", 1),),
    )
    any_db.update_person(person["id"], {"title": "x"})
    with pytest.raises(ConfigError) as caught:
        pusher.run()
    text = str(caught.value)
    for needed in ("Missing_Id__c", "Text", "36", "External ID", "Unique", "Contact", "sync"):
        assert needed in text
    assert writes  # the emulator module stays importable here


def test_a_large_push_goes_through_bulk_ingest_with_per_record_results(
    org: Org,
    sf_admin: ApiClient,
    client: SalesforceClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
) -> None:
    copied(org, any_db, make_puller)
    lead_ids = ids(sf_admin, "Lead", 4)
    for n, lead_id in enumerate(lead_ids):
        phone = "not a phone" if n == 2 else f"+1 555 010{n}"
        any_db.update_person(person_of(any_db, lead_id)["id"], {"phone": phone, "title": None})
    result = make_pusher(org, any_db, client, bulk_threshold=2).run()
    assert (result.of("Lead").updated, result.of("Lead").failed) == (3, 1)
    records = [sf_record(sf_admin, "Lead", i) for i in lead_ids]
    assert [r["Phone"] for r in records[:2]] == ["+1 555 0100", "+1 555 0101"]
    assert records[3]["Phone"] == "+1 555 0103" and records[0]["Title"] is None  # #N/A: null
    [error] = any_db.list_sync_errors()
    assert (error["sfdcId"], error["code"]) == (lead_ids[2], "FIELD_CUSTOM_VALIDATION_EXCEPTION")
    assert error["fields"] == ["Phone"]
    jobs = sf_admin.get("jobs/ingest").json()["records"]
    assert [j["operation"] for j in jobs] == ["update"]


def test_most_recent_lets_the_later_edit_win(
    org: Org,
    admin: Session,
    sf_admin: ApiClient,
    client: SalesforceClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
) -> None:
    from .conftest import org_clock

    rules = FieldRules.from_config({"fields": {"title": "most-recent"}})
    copied(org, any_db, make_puller)
    puller = make_puller(any_db)
    puller.rules = rules
    puller._plans.clear()
    any_db.clock = org_clock(org)  # both sides' edit times on one clock
    local_later, salesforce_later = ids(sf_admin, "Lead", 2)
    edit(org, admin, "Lead", local_later, Title="SF early")
    org.clock.advance(5)
    any_db.update_person(person_of(any_db, local_later)["id"], {"title": "Local late"})
    any_db.update_person(person_of(any_db, salesforce_later)["id"], {"title": "Local early"})
    org.clock.advance(5)
    edit(org, admin, "Lead", salesforce_later, Title="SF late")
    org.clock.advance(1)
    puller.run()
    make_pusher(org, any_db, client, rules=rules).run()
    for sfdc_id, expected in ((local_later, "Local late"), (salesforce_later, "SF late")):
        assert person_of(any_db, sfdc_id)["title"] == expected
        assert sf_record(sf_admin, "Lead", sfdc_id)["Title"] == expected
    with any_db.transaction() as conn:
        rows = conn.execute(select(sync_conflicts.c.rule, sync_conflicts.c.winner)).all()
    assert sorted(tuple(r) for r in rows) == [
        ("most-recent", "leadsync"),
        ("most-recent", "salesforce"),
    ]
