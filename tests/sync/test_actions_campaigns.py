"""Add to / Change Status in / Remove from SFDC Campaign against the emulator, and the local
campaign membership edits captured in the outbox (db/campaigns.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import insert, select

from leadsync.db import LeadDatabase
from leadsync.db import campaigns as campaign_db
from leadsync.db.changes import LOCAL, SALESFORCE
from leadsync.db.schema import campaign_members, campaign_statuses, campaigns, sync_changes
from leadsync.emulator.org import Org
from leadsync.emulator.schema import ValidationRule
from leadsync.emulator.sessions import Session
from leadsync.errors import RecordError, ValidationError
from leadsync.salesforce.client import SalesforceClient
from leadsync.sync.push import Pusher

from .actions_support import RecordingPusher, World, make_world
from .conftest import PullerFactory, org_clock
from .helpers import count

STATUSES = ("Sent", "Registered", "Attended")


@pytest.fixture
def world(
    org: Org,
    admin: Session,
    any_db: LeadDatabase,
    client: SalesforceClient,
    make_puller: PullerFactory,
) -> World:
    return make_world(org, admin, any_db, client, make_puller)


def new_campaign(world: World, name: str = "Spring Webinar") -> str:
    campaign_id = world.create("Campaign", Name=name)
    for order, label in enumerate(STATUSES, start=1):
        world.create(
            "CampaignMemberStatus",
            CampaignId=campaign_id,
            Label=label,
            IsDefault=label == "Sent",
            SortOrder=order,
        )
    return campaign_id


def members(world: World, campaign_id: str) -> list[tuple[Any, ...]]:
    return world.rows(
        'SELECT "Id", COALESCE("LeadId", "ContactId"), "Status" FROM "CampaignMember" '
        'WHERE "CampaignId" = ? AND "IsDeleted" = 0 ORDER BY "Id"',
        campaign_id,
    )


def local_member(db: LeadDatabase, person_id: int) -> list[tuple[Any, ...]]:
    with db.transaction() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(campaigns.c.sfdc_id, campaign_members.c.status, campaign_members.c.sfdc_id)
                .join(campaigns, campaigns.c.id == campaign_members.c.campaign_id)
                .where(campaign_members.c.person_id == person_id)
            )
        ]


def member_changes(db: LeadDatabase) -> list[dict[str, Any]]:
    with db.transaction() as conn:
        rows = conn.execute(
            select(sync_changes)
            .where(sync_changes.c.entity == campaign_db.MEMBER_ENTITY)
            .order_by(sync_changes.c.id)
        )
        return [dict(r._mapping) for r in rows]


# -- Add to SFDC Campaign ----------------------------------------------------------------------


def test_add_uses_the_campaign_default_status_and_records_the_member(world: World) -> None:
    campaign_id = new_campaign(world)
    person = world.linked_lead()
    outcome = world.actions.add_to_campaign(person["id"], "Spring Webinar")
    assert outcome.done and outcome.status == "Sent" and outcome.campaign_id == campaign_id
    [(member_id, who, status)] = members(world, campaign_id)
    assert (member_id, who, status) == (outcome.member_id, person["sfdcLeadId"], "Sent")
    assert local_member(world.db, person["id"]) == [(campaign_id, "Sent", member_id)]
    [logged] = world.db.list_activities(person["id"], types=["Add to SFDC Campaign"])
    assert logged["attributes"]["campaignId"] == campaign_id
    assert logged["attributes"]["status"] == "Sent"
    [change] = member_changes(world.db)  # captured, and already pushed by the action itself
    assert change["new"]["status"] == "Sent" and change["old"] is None
    assert change["processed_at"] is not None
    assert world.db.pending_changes() == []


def test_add_by_id_with_a_status_and_a_cached_lookup_costs_one_call(world: World) -> None:
    first, second = world.linked_lead(), world.linked_lead(LastName="Byron")
    campaign_id = new_campaign(world)  # not pulled yet: looked up in Salesforce
    before = world.calls()
    world.actions.add_to_campaign(first["id"], campaign_id, status="Registered")
    assert world.calls() - before == 2  # the campaign lookup (one composite) + the create
    before = world.calls()
    outcome = world.actions.add_to_campaign(second["id"], campaign_id, status="Registered")
    assert world.calls() - before == 1
    assert [m[2] for m in members(world, campaign_id)] == ["Registered", "Registered"]
    assert outcome.status == "Registered"


def test_a_campaign_the_pull_brought_costs_no_lookup(world: World) -> None:
    campaign_id = new_campaign(world)
    world.pull()
    with world.db.transaction() as conn:
        found = conn.scalar(select(campaigns.c.id).where(campaigns.c.sfdc_id == campaign_id))
        if found is None:  # the pull of campaigns is not there: hold it as the pull would
            found = conn.execute(
                insert(campaigns).values(
                    sfdc_id=campaign_id,
                    name="Spring Webinar",
                    fields={},
                    created_at=world.actions.clock(),
                    updated_at=world.actions.clock(),
                )
            ).inserted_primary_key[0]
            for label in STATUSES:
                conn.execute(
                    insert(campaign_statuses).values(
                        campaign_id=found, label=label, is_default=label == "Sent"
                    )
                )
    person = world.linked_lead()
    before = world.calls()
    outcome = world.actions.add_to_campaign(person["id"], "Spring Webinar")
    assert world.calls() - before == 1
    assert outcome.status == "Sent"


def test_an_existing_member_is_skipped_and_its_status_unchanged(world: World) -> None:
    campaign_id = new_campaign(world)
    person = world.linked_lead()
    world.create(
        "CampaignMember", CampaignId=campaign_id, LeadId=person["sfdcLeadId"], Status="Attended"
    )
    outcome = world.actions.add_to_campaign(person["id"], campaign_id, status="Registered")
    assert not outcome.done and outcome.reason == "already a member"
    assert outcome.status == "Attended"
    assert [m[2] for m in members(world, campaign_id)] == ["Attended"]
    assert world.db.list_activities(person["id"], types=["Add to SFDC Campaign"]) == []
    assert local_member(world.db, person["id"]) == [(campaign_id, "Attended", outcome.member_id)]
    before = world.calls()  # now known locally: a second add is skipped without a call
    again = world.actions.add_to_campaign(person["id"], campaign_id, status="Registered")
    assert not again.done and world.calls() == before


def test_an_unknown_campaign_is_a_clear_error_and_nothing_is_written(world: World) -> None:
    new_campaign(world)
    person = world.linked_lead()
    before = world.activity_count()
    with pytest.raises(ValidationError, match="No Such Campaign") as caught:
        world.actions.add_to_campaign(person["id"], "No Such Campaign")
    assert caught.value.field == "campaign"
    with pytest.raises(ValidationError, match="7015e000000009"):
        world.actions.add_to_campaign(person["id"], "7015e0000000099AAA")
    assert world.rows('SELECT "Id" FROM "CampaignMember"') == []
    assert world.activity_count() == before
    assert local_member(world.db, person["id"]) == []


def test_a_status_the_campaign_lacks_is_a_clear_error_and_nothing_is_written(world: World) -> None:
    campaign_id = new_campaign(world)
    person = world.linked_lead()
    with pytest.raises(ValidationError, match="'Waitlisted'") as caught:
        world.actions.add_to_campaign(person["id"], campaign_id, status="Waitlisted")
    assert caught.value.field == "status" and "Spring Webinar" in str(caught.value)
    with pytest.raises(ValidationError, match="'Waitlisted'"):
        world.actions.change_campaign_status(person["id"], campaign_id, "Waitlisted")
    assert members(world, campaign_id) == []
    assert member_changes(world.db) == []


def test_a_name_shared_by_two_campaigns_asks_for_the_id(world: World) -> None:
    new_campaign(world, "Twice")
    new_campaign(world, "Twice")
    person = world.linked_lead()
    with pytest.raises(ValidationError, match="give the campaign id"):
        world.actions.add_to_campaign(person["id"], "Twice")


def test_a_contact_is_added_by_its_contact_id(world: World) -> None:
    campaign_id = new_campaign(world)
    person = world.linked_contact()
    world.actions.add_to_campaign(person["id"], campaign_id)
    [(_id, who, _status)] = members(world, campaign_id)
    assert who == person["sfdcContactId"]


def test_a_refused_member_is_an_activity_a_sync_error_and_a_record_error(world: World) -> None:
    world.org.schema.validation_rules.append(
        ValidationRule("CampaignMember", "No", "Status", "one_of", "Members need Sent.", ["Sent"])
    )
    campaign_id = new_campaign(world)
    person = world.linked_lead()
    with pytest.raises(RecordError) as caught:
        world.actions.add_to_campaign(person["id"], campaign_id, status="Attended")
    assert caught.value.code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    [failed] = world.db.list_activities(person["id"], types=["Add to SFDC Campaign"])
    assert failed["attributes"]["success"] is False
    assert failed["attributes"]["fields"] == ["Status"]
    [error] = world.db.list_sync_errors()
    assert (error["personId"], error["sfdcId"]) == (person["id"], person["sfdcLeadId"])
    assert local_member(world.db, person["id"]) == []


def test_the_pull_after_an_add_changes_nothing(world: World) -> None:
    campaign_id = new_campaign(world)
    person = world.linked_lead()
    world.actions.add_to_campaign(person["id"], campaign_id)
    before = (world.activity_count(), local_member(world.db, person["id"]))
    world.pull()
    assert (world.activity_count(), local_member(world.db, person["id"])) == before


# -- Change Status in SFDC Campaign ------------------------------------------------------------


def test_change_status_of_a_member_costs_one_call(world: World) -> None:
    campaign_id = new_campaign(world)
    person = world.linked_lead()
    world.actions.add_to_campaign(person["id"], campaign_id)
    before = world.calls()
    outcome = world.actions.change_campaign_status(person["id"], campaign_id, "Attended")
    assert world.calls() - before == 1
    assert outcome.done and [m[2] for m in members(world, campaign_id)] == ["Attended"]
    [logged] = world.db.list_activities(person["id"], types=["Change Status in SFDC Campaign"])
    assert (logged["attributes"]["oldStatus"], logged["attributes"]["newStatus"]) == (
        "Sent",
        "Attended",
    )
    assert local_member(world.db, person["id"])[0][1] == "Attended"
    assert [c["new"]["status"] for c in member_changes(world.db)] == ["Sent", "Attended"]


def test_change_status_of_a_non_member_adds_it_with_that_status(world: World) -> None:
    campaign_id = new_campaign(world)
    person = world.linked_lead()
    outcome = world.actions.change_campaign_status(person["id"], "Spring Webinar", "Registered")
    assert outcome.done and outcome.status == "Registered"
    assert [m[2] for m in members(world, campaign_id)] == ["Registered"]
    [added] = world.db.list_activities(person["id"], types=["Add to SFDC Campaign"])
    assert added["attributes"]["impliedBy"] == "Change Status in SFDC Campaign"


def test_change_status_of_a_member_only_salesforce_knew(world: World) -> None:
    campaign_id = new_campaign(world)
    person = world.linked_lead()
    world.create("CampaignMember", CampaignId=campaign_id, LeadId=person["sfdcLeadId"])
    outcome = world.actions.change_campaign_status(person["id"], campaign_id, "Attended")
    assert outcome.done
    assert [m[2] for m in members(world, campaign_id)] == ["Attended"]


def test_change_to_the_same_status_is_skipped(world: World) -> None:
    campaign_id = new_campaign(world)
    person = world.linked_lead()
    world.actions.add_to_campaign(person["id"], campaign_id, status="Registered")
    before = world.calls()
    outcome = world.actions.change_campaign_status(person["id"], campaign_id, "Registered")
    assert not outcome.done and outcome.reason == "status unchanged"
    assert world.calls() == before


# -- Remove from SFDC Campaign -----------------------------------------------------------------


def test_remove_a_member(world: World) -> None:
    campaign_id = new_campaign(world)
    person = world.linked_lead()
    world.actions.add_to_campaign(person["id"], campaign_id)
    before = world.calls()
    outcome = world.actions.remove_from_campaign(person["id"], "Spring Webinar")
    assert world.calls() - before == 1
    assert outcome.done and members(world, campaign_id) == []
    assert local_member(world.db, person["id"]) == []
    assert len(world.db.list_activities(person["id"], types=["Remove from SFDC Campaign"])) == 1
    last = member_changes(world.db)[-1]
    assert last["new"] is None and last["old"]["status"] == "Sent"
    snapshot = world.activity_count()
    world.pull()
    assert world.activity_count() == snapshot


def test_remove_a_member_only_salesforce_knew(world: World) -> None:
    campaign_id = new_campaign(world)
    person = world.linked_lead()
    world.create("CampaignMember", CampaignId=campaign_id, LeadId=person["sfdcLeadId"])
    assert world.actions.remove_from_campaign(person["id"], campaign_id).done
    assert members(world, campaign_id) == []


def test_a_non_member_is_skipped(world: World) -> None:
    campaign_id = new_campaign(world)
    person = world.linked_lead()
    outcome = world.actions.remove_from_campaign(person["id"], campaign_id)
    assert not outcome.done and outcome.reason == "not a member"
    assert world.db.list_activities(person["id"], types=["Remove from SFDC Campaign"]) == []


def test_a_person_not_in_salesforce_is_skipped_without_a_sync(world: World) -> None:
    new_campaign(world)
    person = world.db.create_person({"email": "local@example.com", "lastName": "Local"})
    outcome = world.actions.remove_from_campaign(person["id"], "Spring Webinar")
    assert not outcome.done and outcome.reason == "not in Salesforce"
    assert world.pusher.calls == []


# -- local membership edits (db/campaigns.py) --------------------------------------------------


def local_campaign(db: LeadDatabase) -> int:
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with db.transaction() as conn:
        return campaign_db.ensure_campaign(conn, "7015e0000000001AAA", "Local", at)


def test_a_local_membership_edit_is_captured_in_the_outbox(any_db: LeadDatabase) -> None:
    person = any_db.create_person({"email": "a@example.com"})
    campaign_id = local_campaign(any_db)
    at = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    with any_db.transaction() as conn:
        added = campaign_db.set_membership(
            conn, campaign_id, person["id"], "Sent", at=at, source=LOCAL
        )
        campaign_db.set_membership(conn, campaign_id, person["id"], "Sent", at=at, source=LOCAL)
        campaign_db.set_membership(conn, campaign_id, person["id"], "Attended", at=at, source=LOCAL)
    pending = [c for c in any_db.pending_changes() if c.entity == campaign_db.MEMBER_ENTITY]
    assert [(c.entity_id, c.field) for c in pending] == [(added.id, "membership")] * 2
    assert [(c.old and c.old["status"], c.new["status"]) for c in pending] == [
        (None, "Sent"),
        ("Sent", "Attended"),
    ]
    assert pending[0].new == {
        "campaignId": campaign_id,
        "personId": person["id"],
        "status": "Sent",
        "sfdcId": None,
    }
    with any_db.transaction() as conn:
        removed = campaign_db.remove_membership(
            conn, campaign_id, person["id"], at=at, source=LOCAL
        )
        assert removed is not None and removed.status == "Attended"
        assert (
            campaign_db.remove_membership(conn, campaign_id, person["id"], at=at, source=LOCAL)
            is None
        )
    last = any_db.pending_changes()[-1]
    assert last.new is None and last.old["status"] == "Attended"


def test_a_membership_edit_and_its_outbox_row_commit_or_roll_back_together(
    any_db: LeadDatabase,
) -> None:
    person = any_db.create_person({"email": "a@example.com"})
    campaign_id = local_campaign(any_db)
    at = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    with pytest.raises(RuntimeError), any_db.transaction() as conn:
        campaign_db.set_membership(conn, campaign_id, person["id"], "Sent", at=at, source=LOCAL)
        raise RuntimeError("crash before commit")
    assert count(any_db, campaign_members) == 0
    assert count(any_db, sync_changes, sync_changes.c.entity == campaign_db.MEMBER_ENTITY) == 0


def test_pulled_memberships_write_no_outbox_row(any_db: LeadDatabase) -> None:
    person = any_db.create_person({"email": "a@example.com"})
    campaign_id = local_campaign(any_db)
    at = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    with any_db.transaction() as conn:
        campaign_db.set_membership(
            conn,
            campaign_id,
            person["id"],
            "Sent",
            at=at,
            source=SALESFORCE,
            sfdc_id="00v5e0000000001AAA",
        )
        assert campaign_db.memberships_of(conn, person["id"])[0].sfdc_id == "00v5e0000000001AAA"
    assert count(any_db, sync_changes, sync_changes.c.entity == campaign_db.MEMBER_ENTITY) == 0


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


def test_add_a_person_not_in_salesforce_syncs_it_first(synced_world: World) -> None:
    world = synced_world
    campaign_id = new_campaign(world)
    person = world.db.create_person(
        {"email": "g@example.com", "lastName": "Hopper", "company": "Navy"}
    )
    outcome = world.actions.add_to_campaign(person["id"], campaign_id)
    assert outcome.done and outcome.synced
    lead_id = world.db.get_person(person["id"])["sfdcLeadId"]
    assert world.pusher.calls == [(person["id"], None)]
    assert [(m[1], m[2]) for m in members(world, campaign_id)] == [(lead_id, "Sent")]


def test_change_status_of_a_person_not_in_salesforce_syncs_and_adds(synced_world: World) -> None:
    world = synced_world
    campaign_id = new_campaign(world)
    person = world.db.create_person(
        {"email": "g@example.com", "lastName": "Hopper", "company": "Navy"}
    )
    outcome = world.actions.change_campaign_status(person["id"], campaign_id, "Attended")
    assert outcome.done and outcome.synced and outcome.status == "Attended"
    assert [m[2] for m in members(world, campaign_id)] == ["Attended"]


def test_a_bad_campaign_is_refused_before_the_implied_sync(synced_world: World) -> None:
    world = synced_world
    person = world.db.create_person(
        {"email": "g@example.com", "lastName": "Hopper", "company": "Navy"}
    )
    with pytest.raises(ValidationError):
        world.actions.add_to_campaign(person["id"], "Nowhere")
    assert world.pusher.calls == [] and world.rows('SELECT "Id" FROM "Lead"') == []


# -- pushing local membership edits ------------------------------------------------------------


def edit_membership(world: World, person_id: int, campaign_id: str, status: str | None) -> None:
    """A local edit (CLI, API): membership set or, with None, removed."""
    at = world.actions.clock()
    with world.db.transaction() as conn:
        local = campaign_db.ensure_campaign(conn, campaign_id, "Spring Webinar", at)
        if status is None:
            campaign_db.remove_membership(conn, local, person_id, at=at, source=LOCAL)
        else:
            campaign_db.set_membership(conn, local, person_id, status, at=at, source=LOCAL)


def test_local_membership_edits_are_pushed_in_one_call_per_kind(world: World) -> None:
    campaign_id = new_campaign(world)
    people = [world.linked_lead(LastName=f"P{i}") for i in range(3)]
    for person in people:
        edit_membership(world, person["id"], campaign_id, "Registered")
    before = world.calls()
    counts = world.actions.push_memberships()
    assert world.calls() - before == 1 and counts.new == 3
    assert sorted(m[1] for m in members(world, campaign_id)) == sorted(
        p["sfdcLeadId"] for p in people
    )
    assert all(local_member(world.db, p["id"])[0][2] for p in people)  # ids recorded
    assert [c for c in member_changes(world.db) if c["processed_at"] is None] == []

    edit_membership(world, people[0]["id"], campaign_id, "Attended")
    edit_membership(world, people[1]["id"], campaign_id, None)
    counts = world.actions.push_memberships()
    assert (counts.updated, counts.deleted) == (1, 1)
    assert sorted(m[2] for m in members(world, campaign_id)) == ["Attended", "Registered"]
    snapshot = world.activity_count()
    world.pull()  # the pushed memberships read back change nothing
    assert world.activity_count() == snapshot
    assert world.actions.push_memberships().new == 0


def test_edits_netted_before_a_push_cost_nothing(world: World) -> None:
    campaign_id = new_campaign(world)
    person = world.linked_lead()
    edit_membership(world, person["id"], campaign_id, "Sent")
    edit_membership(world, person["id"], campaign_id, None)  # added, then removed: no call
    before = world.calls()
    counts = world.actions.push_memberships()
    assert world.calls() == before and counts.skipped == 1
    assert members(world, campaign_id) == []


def test_a_pushed_membership_refused_is_recorded_and_the_rest_goes_through(world: World) -> None:
    world.org.schema.validation_rules.append(
        ValidationRule("CampaignMember", "No", "Status", "one_of", "Only Sent.", ["Sent"])
    )
    campaign_id = new_campaign(world)
    good, bad = world.linked_lead(), world.linked_lead(LastName="Bad")
    edit_membership(world, good["id"], campaign_id, "Sent")
    edit_membership(world, bad["id"], campaign_id, "Attended")
    counts = world.actions.push_memberships()
    assert (counts.new, counts.failed) == (1, 1)
    assert [m[1] for m in members(world, campaign_id)] == [good["sfdcLeadId"]]
    [failed] = world.db.list_activities(bad["id"], types=["Add to SFDC Campaign"])
    assert failed["attributes"]["errorCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    [error] = world.db.list_sync_errors()
    assert error["personId"] == bad["id"]


def test_a_local_membership_of_a_member_salesforce_already_has_takes_that_member(
    world: World,
) -> None:
    campaign_id = new_campaign(world)
    person = world.linked_lead()
    member_id = world.create("CampaignMember", CampaignId=campaign_id, LeadId=person["sfdcLeadId"])
    edit_membership(world, person["id"], campaign_id, "Attended")
    counts = world.actions.push_memberships()
    assert counts.updated == 1
    assert members(world, campaign_id) == [(member_id, person["sfdcLeadId"], "Attended")]
    assert local_member(world.db, person["id"])[0][2] == member_id


def test_a_pushed_membership_of_a_person_not_in_salesforce_syncs_it(synced_world: World) -> None:
    world = synced_world
    campaign_id = new_campaign(world)
    person = world.db.create_person(
        {"email": "g@example.com", "lastName": "Hopper", "company": "Navy"}
    )
    edit_membership(world, person["id"], campaign_id, "Registered")
    assert world.actions.push_memberships().new == 1
    lead_id = world.db.get_person(person["id"])["sfdcLeadId"]
    assert [(m[1], m[2]) for m in members(world, campaign_id)] == [(lead_id, "Registered")]


def test_an_action_supersedes_pending_local_edits_of_that_membership(world: World) -> None:
    campaign_id = new_campaign(world)
    person = world.linked_lead()
    edit_membership(world, person["id"], campaign_id, "Registered")  # pending, not pushed
    world.actions.add_to_campaign(person["id"], campaign_id, status="Attended")
    before = world.calls()
    counts = world.actions.push_memberships()
    assert world.calls() == before and counts.new == counts.updated == 0
    assert [m[2] for m in members(world, campaign_id)] == ["Attended"]


def test_a_campaign_not_pulled_yet_is_found_in_salesforce_by_name(world: World) -> None:
    person = world.linked_lead()
    campaign_id = new_campaign(world, "Fresh")  # after the last pull: only Salesforce knows it
    new_campaign(world, "Twin")
    new_campaign(world, "Twin")
    outcome = world.actions.add_to_campaign(person["id"], "Fresh")
    assert outcome.campaign_id == campaign_id and outcome.status == "Sent"
    with pytest.raises(ValidationError, match="give the campaign id"):
        world.actions.add_to_campaign(person["id"], "Twin")
    with pytest.raises(ValidationError, match="'Gone'"):
        world.actions.change_campaign_status(person["id"], "Fresh", "Gone")
