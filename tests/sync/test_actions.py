"""Flow actions on persons against the emulator: Convert Person, Change Owner, Create Task,
Delete Person from SFDC (campaign actions: test_actions_campaigns.py). Each Marketo edge case of
reference/marketo-sync.md §5 that applies has a test here."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from leadsync.db import LeadDatabase
from leadsync.db.schema import companies, persons, sync_changes
from leadsync.emulator import writes
from leadsync.emulator.org import Org
from leadsync.emulator.schema import ValidationRule
from leadsync.emulator.sessions import Session
from leadsync.errors import PersonNotFound, RecordError, ValidationError
from leadsync.salesforce.client import SalesforceClient
from leadsync.sync.actions import CREATE_TASK
from leadsync.sync.push import Pusher
from leadsync.sync.tokens import render

from .actions_support import RecordingPusher, World, make_world, queue_id, user_id
from .conftest import PullerFactory, org_clock
from .helpers import count, person_counts


@pytest.fixture
def world(
    org: Org,
    admin: Session,
    any_db: LeadDatabase,
    client: SalesforceClient,
    make_puller: PullerFactory,
) -> World:
    return make_world(org, admin, any_db, client, make_puller)


def unsynced_changes(db: LeadDatabase) -> int:
    return count(db, sync_changes, sync_changes.c.processed_at.is_(None))


def types_of(world: World, person_id: int) -> list[str]:
    return [a["type"] for a in world.db.list_activities(person_id)]


# -- Convert Person ----------------------------------------------------------------------------


def test_convert_makes_the_same_person_the_contact_of_a_new_account_and_opportunity(
    world: World,
) -> None:
    person = world.linked_lead(Email="ada@example.com", Title="Countess", Industry="Banking")
    converted = world.actions.convert_person(person["id"], opportunity_name="Engines - new")

    lead = world.record(
        "Lead",
        person["sfdcLeadId"],
        "IsConverted",
        "Status",
        "ConvertedContactId",
        "ConvertedAccountId",
        "ConvertedOpportunityId",
    )
    assert lead["IsConverted"] == 1 and lead["Status"] == "Closed - Converted"
    assert converted["id"] == person["id"]
    assert converted["sfdcType"] == "Contact"
    assert converted["sfdcContactId"] == lead["ConvertedContactId"]
    assert converted["sfdcLeadId"] == person["sfdcLeadId"]
    assert converted["sfdcAccountId"] == lead["ConvertedAccountId"]
    assert converted["company"] == "Analytical Engines"
    assert converted["industry"] == "Banking"
    assert converted["leadStatus"] == "Closed - Converted"
    [name] = world.rows(
        'SELECT "Name" FROM "Opportunity" WHERE "Id" = ?', lead["ConvertedOpportunityId"]
    )
    assert name == ("Engines - new",)
    [activity] = world.db.list_activities(person["id"], types=["Convert Lead"])
    assert activity["attributes"]["sfdcContactId"] == lead["ConvertedContactId"]
    assert activity["attributes"]["sfdcOpportunityId"] == lead["ConvertedOpportunityId"]
    assert activity["attributes"]["success"] is True
    assert world.pusher.calls == []
    # The lead's own company row became the account's company: no second company.
    assert (
        count(world.db, companies, companies.c.sfdc_account_id == lead["ConvertedAccountId"]) == 1
    )


@pytest.mark.parametrize("opportunity", [False, True])
def test_the_pull_after_a_convert_changes_nothing_and_makes_no_duplicate(
    world: World, opportunity: bool
) -> None:
    person = world.linked_lead(Email="ada@example.com", Phone="555 0100")
    world.actions.convert_person(person["id"], create_opportunity=opportunity)
    before = (
        person_counts(world.db),
        world.db.get_person(person["id"]),
        count(world.db, companies),
    )
    logged = types_of(world, person["id"])
    result = world.pull()
    after = (person_counts(world.db), world.db.get_person(person["id"]), count(world.db, companies))
    assert after == before
    assert person_counts(world.db) == {"Lead": 0, "Contact": 1, "all": 1}
    assert result.of("Contact").new == 0 and result.of("Contact").updated == 0
    assert result.of("Account").new == 0 and result.of("Account").updated == 0
    assert unsynced_changes(world.db) == 0
    # Only the opportunity Salesforce made is news to the pull (as Marketo logs it).
    new_types = Counter(types_of(world, person["id"])) - Counter(logged)
    assert list(new_types.elements()) == (["Add to Opportunity"] if opportunity else [])


def test_convert_without_an_opportunity(world: World) -> None:
    person = world.linked_lead()
    world.actions.convert_person(person["id"], create_opportunity=False)
    lead = world.record("Lead", person["sfdcLeadId"], "IsConverted", "ConvertedOpportunityId")
    assert lead["IsConverted"] == 1 and lead["ConvertedOpportunityId"] is None
    assert world.rows('SELECT "Id" FROM "Opportunity"') == []


def test_convert_always_creates_a_new_account(world: World) -> None:
    """Marketo warns its Convert Person duplicates accounts: each conversion gets its own."""
    first = world.linked_lead(Company="Same Co")
    second = world.linked_lead(Company="Same Co", LastName="Byron")
    a = world.actions.convert_person(first["id"], create_opportunity=False)
    b = world.actions.convert_person(second["id"], create_opportunity=False)
    assert a["sfdcAccountId"] != b["sfdcAccountId"]
    assert len(world.rows('SELECT "Id" FROM "Account" WHERE "Name" = ?', "Same Co")) == 2


def test_convert_with_an_owner_gives_the_contact_that_user(world: World) -> None:
    person = world.linked_lead()
    sync_user = user_id(world.org, "sync@example.com")
    converted = world.actions.convert_person(person["id"], owner_id=sync_user)
    contact = world.record("Contact", converted["sfdcContactId"], "OwnerId")
    assert contact["OwnerId"] == sync_user
    assert converted["sfdcOwnerId"] == sync_user


def test_a_converted_status_is_looked_up_once_and_a_linked_convert_costs_two_calls(
    world: World,
) -> None:
    first, second = world.linked_lead(), world.linked_lead(LastName="Byron")
    world.actions.convert_person(first["id"])
    before = world.calls()
    world.actions.convert_person(second["id"])
    assert world.calls() - before == 2  # convertLead + one composite read-back


def test_converting_a_contact_is_refused_before_anything_is_written(world: World) -> None:
    person = world.linked_contact()
    before = (world.calls(), world.activity_count())
    with pytest.raises(ValidationError, match="already a contact"):
        world.actions.convert_person(person["id"])
    assert (world.calls(), world.activity_count()) == before


def test_a_contact_cannot_be_assigned_to_a_queue_by_convert(world: World) -> None:
    person = world.linked_lead()
    with pytest.raises(ValidationError, match="queue"):
        world.actions.convert_person(person["id"], owner_id=queue_id(world.org))
    assert world.db.get_person(person["id"])["sfdcType"] == "Lead"


def test_a_refused_convert_is_an_activity_a_sync_error_and_a_record_error(world: World) -> None:
    person = world.linked_lead()
    with pytest.raises(RecordError) as caught:
        world.actions.convert_person(person["id"], converted_status="Open - Not Contacted")
    assert caught.value.code == "INVALID_STATUS"
    [failed] = world.db.list_activities(person["id"], types=["Convert Lead"])
    assert failed["attributes"]["success"] is False
    assert failed["attributes"]["errorCode"] == "INVALID_STATUS"
    assert failed["attributes"]["fields"] == ["convertedStatus"]
    [error] = world.db.list_sync_errors()
    assert (error["personId"], error["sfdcId"], error["code"]) == (
        person["id"],
        person["sfdcLeadId"],
        "INVALID_STATUS",
    )
    assert world.db.get_person(person["id"])["sfdcType"] == "Lead"
    assert world.record("Lead", person["sfdcLeadId"], "IsConverted")["IsConverted"] == 0


# -- Change Owner ------------------------------------------------------------------------------


def test_change_owner_of_a_lead_to_a_user_costs_one_call(world: World) -> None:
    person = world.linked_lead()
    sync_user = user_id(world.org, "sync@example.com")
    before = world.calls()
    changed = world.actions.change_owner(person["id"], sync_user)
    assert world.calls() - before == 1
    assert world.record("Lead", person["sfdcLeadId"], "OwnerId")["OwnerId"] == sync_user
    assert changed["sfdcOwnerId"] == sync_user
    [logged] = world.db.list_activities(person["id"], types=["Change Owner"])
    assert logged["attributes"]["oldOwnerId"] == person["sfdcOwnerId"]
    assert logged["attributes"]["newOwnerId"] == sync_user


def test_change_owner_of_a_lead_to_a_lead_queue(world: World) -> None:
    person = world.linked_lead()
    queue = queue_id(world.org)
    changed = world.actions.change_owner(person["id"], queue)
    assert world.record("Lead", person["sfdcLeadId"], "OwnerId")["OwnerId"] == queue
    assert changed["sfdcOwnerId"] == queue
    assert changed["leadOwnerEmail"] is None  # a queue-owned lead has no sales owner fields


def test_a_contact_cannot_go_to_a_queue_clear_error_and_no_duplicate_lead(world: World) -> None:
    """Marketo creates a duplicate lead here; leadsync refuses before writing anything."""
    person = world.linked_contact()
    before = (world.calls(), world.activity_count(), person_counts(world.db))
    with pytest.raises(ValidationError, match="contact cannot be owned by a queue"):
        world.actions.change_owner(person["id"], queue_id(world.org))
    assert (world.calls(), world.activity_count(), person_counts(world.db)) == before
    assert world.rows('SELECT "Id" FROM "Lead"') == []


def test_change_owner_of_a_contact_to_a_user(world: World) -> None:
    person = world.linked_contact()
    sync_user = user_id(world.org, "sync@example.com")
    world.actions.change_owner(person["id"], sync_user)
    assert world.record("Contact", person["sfdcContactId"], "OwnerId")["OwnerId"] == sync_user


def test_the_pull_after_change_owner_changes_nothing(world: World) -> None:
    person = world.linked_lead()
    world.actions.change_owner(person["id"], user_id(world.org, "sync@example.com"))
    before = (world.activity_count(), world.db.get_person(person["id"]))
    world.pull()
    assert (world.activity_count(), world.db.get_person(person["id"])) == before


@pytest.mark.parametrize("owner", ["not-an-id", "001000000000001AAA"])
def test_change_owner_refuses_what_is_neither_a_user_nor_a_queue(world: World, owner: str) -> None:
    person = world.linked_lead()
    with pytest.raises(ValidationError, match="ownerId"):
        world.actions.change_owner(person["id"], owner)


def test_change_owner_to_an_unknown_user_is_recorded_and_raised(world: World) -> None:
    person = world.linked_lead()
    with pytest.raises(RecordError):
        world.actions.change_owner(person["id"], "005000000000999AAA")
    [failed] = world.db.list_activities(person["id"], types=["Change Owner"])
    assert failed["attributes"]["success"] is False and failed["attributes"]["errorCode"]
    [error] = world.db.list_sync_errors()
    assert (error["personId"], error["sfdcId"]) == (person["id"], person["sfdcLeadId"])
    assert world.db.get_person(person["id"])["sfdcOwnerId"] == person["sfdcOwnerId"]


# -- Create Task -------------------------------------------------------------------------------


def test_create_task_fills_tokens_due_in_five_days_owned_by_the_record_owner(world: World) -> None:
    person = world.linked_lead(Email="ada@example.com")
    before = world.calls()
    task_id = world.actions.create_task(
        person["id"],
        "Call {{lead.firstName}}",
        description="{{lead.firstName}} {{lead.lastName}} of {{lead.company}} ({{lead.nope}})",
    )
    assert world.calls() - before == 1
    task = world.record(
        "Task", task_id, "WhoId", "Subject", "Description", "ActivityDate", "OwnerId", "Priority"
    )
    today = dt.datetime.fromtimestamp(world.org.clock.now_float(), dt.UTC).date()
    assert task["WhoId"] == person["sfdcLeadId"]
    assert task["Subject"] == "Call Ada"
    assert task["Description"] == "Ada Lovelace of Analytical Engines ({{lead.nope}})"
    assert task["ActivityDate"] == (today + dt.timedelta(days=5)).isoformat()
    assert task["OwnerId"] == person["sfdcOwnerId"]
    assert task["Priority"] == "Normal"
    [logged] = world.db.list_activities(person["id"], types=[CREATE_TASK])
    assert logged["sfdcId"] == task_id and logged["attributes"]["taskId"] == task_id


def test_create_task_on_a_contact_with_owner_due_and_priority(world: World) -> None:
    person = world.linked_contact()
    sync_user = user_id(world.org, "sync@example.com")
    task_id = world.actions.create_task(
        person["id"], "Renewal", due_in_days=0, owner_id=sync_user, priority="High"
    )
    task = world.record("Task", task_id, "WhoId", "OwnerId", "Priority", "ActivityDate")
    today = dt.datetime.fromtimestamp(world.org.clock.now_float(), dt.UTC).date()
    assert task["WhoId"] == person["sfdcContactId"]
    assert (task["OwnerId"], task["Priority"]) == (sync_user, "High")
    assert task["ActivityDate"] == today.isoformat()


def test_a_task_for_a_queue_owned_lead_goes_to_the_sync_user(world: World) -> None:
    person = world.linked_lead(OwnerId=queue_id(world.org))
    task_id = world.actions.create_task(person["id"], "Follow up")
    owner = world.record("Task", task_id, "OwnerId")["OwnerId"]
    assert owner == user_id(world.org, "sync@example.com")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"subject": "  "}, "subject"),
        ({"subject": "x", "due_in_days": -1}, "dueInDays"),
        ({"subject": "x", "owner_id": "00G000000000001AAA"}, "ownerId"),
    ],
)
def test_create_task_refuses_bad_input_before_any_call(
    world: World, kwargs: dict[str, object], field: str
) -> None:
    person = world.linked_lead()
    before = world.calls()
    with pytest.raises(ValidationError) as caught:
        world.actions.create_task(person["id"], **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert world.calls() == before


def test_a_task_refused_by_a_validation_rule_is_recorded_on_the_person(world: World) -> None:
    world.org.schema.validation_rules.append(
        ValidationRule("Task", "Short", "Subject", "max_length", "Subject too long.", 10)
    )
    person = world.linked_lead()
    with pytest.raises(RecordError) as caught:
        world.actions.create_task(person["id"], "A subject far longer than ten")
    assert caught.value.code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    [failed] = world.db.list_activities(person["id"], types=[CREATE_TASK])
    assert failed["attributes"]["success"] is False
    assert failed["attributes"]["errorCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert failed["attributes"]["fields"] == ["Subject"]
    [error] = world.db.list_sync_errors()
    assert (error["personId"], error["sfdcId"], error["level"]) == (
        person["id"],
        person["sfdcLeadId"],
        "record",
    )
    assert world.rows('SELECT "Id" FROM "Task"') == []


# -- Delete Person from SFDC -------------------------------------------------------------------


def test_delete_keeps_the_person_marked_deleted_and_the_next_pull_changes_nothing(
    world: World,
) -> None:
    person = world.linked_lead()
    before = world.calls()
    deleted = world.actions.delete_from_salesforce(person["id"])
    assert world.calls() - before == 1
    assert world.record("Lead", person["sfdcLeadId"])["IsDeleted"] == 1
    assert deleted["id"] == person["id"] and deleted["sfdcIsDeleted"] is True
    assert types_of(world, person["id"]).count("Delete Lead from SFDC") == 1
    snapshot = (world.activity_count(), world.db.get_person(person["id"]))
    world.pull()
    assert (world.activity_count(), world.db.get_person(person["id"])) == snapshot


def test_delete_a_contact(world: World) -> None:
    person = world.linked_contact()
    world.actions.delete_from_salesforce(person["id"])
    assert world.record("Contact", person["sfdcContactId"])["IsDeleted"] == 1
    assert world.db.get_person(person["id"])["sfdcIsDeleted"] is True


def test_delete_of_a_person_not_in_salesforce_is_skipped_without_a_sync(world: World) -> None:
    person = world.db.create_person({"email": "local@example.com", "lastName": "Local"})
    before = (world.calls(), world.activity_count())
    assert world.actions.delete_from_salesforce(person["id"]) == person
    assert (world.calls(), world.activity_count()) == before
    assert world.pusher.calls == []


def test_delete_of_a_record_already_gone_from_salesforce_still_marks_the_person(
    world: World,
) -> None:
    person = world.linked_lead()
    [gone] = writes.delete(world.org, world.admin, [person["sfdcLeadId"]])
    assert gone.success
    assert world.actions.delete_from_salesforce(person["id"])["sfdcIsDeleted"] is True


# -- tokens ------------------------------------------------------------------------------------


AT = dt.datetime(2026, 11, 23, 14, 30, tzinfo=dt.UTC)
PERSON = {"firstName": "Ada", "lastName": None, "company": "Engines", "numberOfEmployees": 12}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi {{lead.firstName}}", "Hi Ada"),
        ("Hi {{lead.First Name}}", "Hi Ada"),  # Marketo's display-name style
        ("[{{lead.lastName}}]", "[]"),  # a known field with no value: empty
        ("{{lead.lastName:default=friend}}", "friend"),
        ("{{lead.firstName:default=friend}}", "Ada"),
        ("{{lead.unknownField}}", "{{lead.unknownField}}"),  # unknown: left as written
        ("{{company.name}} / {{company.numberOfEmployees}}", "Engines / 12"),
        ("due {{system.date}}", "due 2026-11-23"),
        ("{{ lead.firstName }}", "Ada"),
        ("no tokens", "no tokens"),
    ],
)
def test_tokens(text: str, expected: str) -> None:
    assert render(text, PERSON, AT) == expected


def test_a_person_row_is_untouched_by_a_refused_action(world: World) -> None:
    person = world.linked_lead()
    with world.db.transaction() as conn:
        row = conn.execute(select(persons).where(persons.c.id == person["id"])).one()
    with pytest.raises(RecordError):
        world.actions.change_owner(person["id"], "005000000000999AAA")
    with world.db.transaction() as conn:
        assert conn.execute(select(persons).where(persons.c.id == person["id"])).one() == row


# -- implied Sync Person to SFDC (a real Pusher) -----------------------------------------------


@pytest.fixture
def synced_world(
    org: Org,
    admin: Session,
    any_db: LeadDatabase,
    client: SalesforceClient,
    make_puller: PullerFactory,
) -> World:
    pusher = RecordingPusher(real=Pusher(any_db, client, clock=org_clock(org)))
    return make_world(org, admin, any_db, client, make_puller, pusher)


def local_person(world: World) -> dict[str, Any]:
    return world.db.create_person(
        {
            "email": "grace@example.com",
            "firstName": "Grace",
            "lastName": "Hopper",
            "company": "Navy",
        }
    )


def test_convert_of_a_person_not_in_salesforce_syncs_it_first(synced_world: World) -> None:
    world = synced_world
    person = local_person(world)
    converted = world.actions.convert_person(person["id"], create_opportunity=False)
    assert world.pusher.calls == [(person["id"], None)]
    assert converted["sfdcType"] == "Contact" and converted["sfdcLeadId"]
    lead = world.record("Lead", converted["sfdcLeadId"], "IsConverted", "ConvertedContactId")
    assert lead["IsConverted"] == 1 and lead["ConvertedContactId"] == converted["sfdcContactId"]
    logged = types_of(world, person["id"])
    assert logged.index("Sync Lead to SFDC") < logged.index("Convert Lead")
    assert world.db.get_person(person["id"])["sfdcAccountId"] == converted["sfdcAccountId"]
    snapshot = (person_counts(world.db), world.db.get_person(person["id"]))
    world.pull()
    assert (person_counts(world.db), world.db.get_person(person["id"])) == snapshot


def test_change_owner_of_a_person_not_in_salesforce_creates_the_lead_with_that_owner(
    synced_world: World,
) -> None:
    world = synced_world
    warm_up = world.db.create_person({"lastName": "First", "company": "Co"})
    world.actions.sync_person(warm_up["id"])  # the pusher's describe is cached from here on
    person = local_person(world)
    sync_user = user_id(world.org, "sync@example.com")
    before = world.calls()
    changed = world.actions.change_owner(person["id"], sync_user)
    assert world.calls() - before == 1  # the implied sync creates it owned by that user
    assert world.pusher.calls[-1] == (person["id"], sync_user)
    assert world.record("Lead", changed["sfdcLeadId"], "OwnerId")["OwnerId"] == sync_user
    [logged] = world.db.list_activities(person["id"], types=["Change Owner"])
    assert logged["attributes"]["newOwnerId"] == sync_user


def test_create_task_for_a_person_not_in_salesforce_syncs_it_first(synced_world: World) -> None:
    world = synced_world
    person = local_person(world)
    task_id = world.actions.create_task(person["id"], "Call {{lead.firstName}}")
    lead_id = world.db.get_person(person["id"])["sfdcLeadId"]
    assert lead_id and world.pusher.calls == [(person["id"], None)]
    task = world.record("Task", task_id, "WhoId", "Subject")
    assert (task["WhoId"], task["Subject"]) == (lead_id, "Call Grace")


def test_a_person_deleted_in_salesforce_gets_a_new_lead_when_acted_on(synced_world: World) -> None:
    """Marketo: a deleted-in-SFDC person synced again becomes a new lead."""
    world = synced_world
    person = world.linked_lead(Email="ada@example.com")
    [gone] = writes.delete(world.org, world.admin, [person["sfdcLeadId"]])
    assert gone.success
    world.pull()
    assert world.db.get_person(person["id"])["sfdcIsDeleted"] is True
    world.actions.create_task(person["id"], "Welcome back")
    again = world.db.get_person(person["id"])
    assert again["sfdcIsDeleted"] is False
    assert again["sfdcLeadId"] not in (None, person["sfdcLeadId"])
    assert world.record("Lead", again["sfdcLeadId"])["IsDeleted"] == 0


def test_sync_person_is_the_pushers(synced_world: World) -> None:
    world = synced_world
    person = local_person(world)
    synced = world.actions.sync_person(person["id"])
    assert synced["sfdcType"] == "Lead" and world.pusher.calls == [(person["id"], None)]


@pytest.mark.parametrize(
    "act",
    [
        lambda a: a.convert_person(999),
        lambda a: a.change_owner(999, "005000000000001AAA"),
        lambda a: a.create_task(999, "Hello"),
        lambda a: a.delete_from_salesforce(999),
        lambda a: a.remove_from_campaign(999, "7015e0000000001AAA"),
    ],
)
def test_an_unknown_person_is_not_found_before_any_call(world: World, act: Any) -> None:
    world.create("Campaign", Name="Any")
    before = world.calls()
    with pytest.raises(PersonNotFound):
        act(world.actions)
    assert world.calls() - before <= 1  # at most the campaign lookup
