"""Related records stored a page at a time give the rows, activities, sync errors and outcomes
that storing the same records one at a time gives, for pages that mix new, updated, deleted
and unknown-reference records, and records that touch a row an earlier record of the page
touched (a member deleted and added again, a role moved onto a deleted role's place)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, select

from leadsync.db import LeadDatabase
from leadsync.db import campaigns as db_campaigns
from leadsync.db.schema import (
    activities,
    campaign_members,
    campaigns,
    companies,
    custom_object_records,
    opportunities,
    opportunity_roles,
    sync_errors,
    sync_links,
)
from leadsync.emulator.org import Org
from leadsync.sync import Puller
from leadsync.sync.campaigns import store_member, store_members
from leadsync.sync.custom_objects import store_custom_record, store_custom_records
from leadsync.sync.objects import ReadPlan
from leadsync.sync.opportunities import (
    store_opportunities,
    store_opportunity,
    store_role,
    store_roles,
)
from leadsync.sync.records import SfRecord
from leadsync.sync.tasks import store_sfdc_activities, store_sfdc_activity

from .conftest import PullerFactory
from .test_pull_cycle import copied

AT = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
UNKNOWN_LEAD = "00Q000000000000AAA"
StorePage = Callable[[Connection, ReadPlan, Sequence[SfRecord], dt.datetime], list[str]]
StoreRecord = Callable[[Connection, ReadPlan, SfRecord, dt.datetime], str]


def record(obj: str, sfdc_id: str, *, deleted: bool = False, **values: Any) -> SfRecord:
    return SfRecord(obj, sfdc_id, AT, deleted, {"Id": sfdc_id, "IsDeleted": deleted}, values)


def fake_id(prefix: str, n: int) -> str:
    return f"{prefix}9{n:011d}AAA"


def snapshot(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """The related tables in insertion order, without the rows' own ids (a rolled-back
    PostgreSQL sequence does not go back) and without timestamps."""

    def rows(table: Any, *skip: str) -> list[tuple[Any, ...]]:
        columns = [c for c in table.c if c.name not in {"id", "created_at", "updated_at", *skip}]
        return [tuple(r) for r in conn.execute(select(*columns).order_by(table.c.id))]

    custom = conn.execute(
        select(
            custom_object_records.c.sfdc_id,
            custom_object_records.c.person_id,
            companies.c.sfdc_account_id,
            custom_object_records.c.sfdc_is_deleted,
            custom_object_records.c.fields,
        )
        .outerjoin(companies, companies.c.id == custom_object_records.c.company_id)
        .order_by(custom_object_records.c.id)
    )
    return {
        "opportunities": rows(opportunities),
        "roles": rows(opportunity_roles, "opportunity_id"),
        "members": rows(campaign_members),
        "activities": rows(activities),
        "errors": rows(sync_errors, "at"),
        "custom": [tuple(r) for r in custom],
        "companies": rows(companies),
    }


def stored_both_ways(
    db: LeadDatabase, plan: ReadPlan, page: list[SfRecord], paged: StorePage, one: StoreRecord
) -> tuple[list[str], dict[str, list[tuple[Any, ...]]]]:
    """The page stored at once and one record at a time, each in a rolled-back savepoint:
    the outcomes and what each wrote must be the same. Returns the page's."""
    with db.transaction() as conn:
        before = snapshot(conn)
        savepoint = conn.begin_nested()
        page_outcomes = paged(conn, plan, page, AT)
        page_after = snapshot(conn)
        savepoint.rollback()
        assert snapshot(conn) == before
        savepoint = conn.begin_nested()
        single_outcomes = [one(conn, plan, r, AT) for r in page]
        single_after = snapshot(conn)
        savepoint.rollback()
    assert page_outcomes == single_outcomes
    assert page_after == single_after
    assert page_after != before
    return page_outcomes, page_after


def added(before: list[tuple[Any, ...]], after: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return after[len(before) :]


def plan_of(puller: Puller, name: str) -> ReadPlan:
    return next(p for p in puller.plans() if p.name == name)


def test_a_page_of_members_stores_as_one_by_one(
    org: Org, any_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    puller = copied(org, any_db, make_puller)
    plan = plan_of(puller, "CampaignMember")
    with any_db.transaction() as conn:
        held = conn.execute(
            select(
                campaign_members,
                campaigns.c.sfdc_id.label("campaign"),
                sync_links.c.sfdc_id.label("lead"),
            )
            .join(campaigns, campaigns.c.id == campaign_members.c.campaign_id)
            .join(sync_links, sync_links.c.entity_id == campaign_members.c.person_id)
            .where(sync_links.c.entity == "person", sync_links.c.sfdc_object == "Lead")
            .order_by(campaign_members.c.id)
        ).all()
        leads = dict(
            conn.execute(
                select(sync_links.c.sfdc_id, sync_links.c.entity_id)
                .where(sync_links.c.sfdc_object == "Lead", sync_links.c.entity == "person")
                .order_by(sync_links.c.sfdc_id)
            ).all()
        )
        # Every demo lead is in every demo campaign: new members go to a campaign of their own.
        extra = fake_id("701", 1)
        extra_id = db_campaigns.ensure_campaign(conn, extra, "Page test", AT)
        free = [(extra, lead) for lead in leads]
        # A membership a flow action made, not read back yet: the page adopts it.
        db_campaigns.set_membership(
            conn, extra_id, leads[free[0][1]], "Planned", at=AT, source="salesforce"
        )
    moved, gone, same = held[0], held[1], held[2]
    member = "CampaignMember"
    page = [
        record(member, moved.sfdc_id, CampaignId=moved.campaign, LeadId=moved.lead,
               Status="Changed"),
        record(member, gone.sfdc_id, deleted=True),
        # the deleted member's campaign and lead, added again under a new id in the same page
        record(member, fake_id("00v", 1), CampaignId=gone.campaign, LeadId=gone.lead,
               Status="Sent"),
        record(member, fake_id("00v", 2), CampaignId=free[1][0], LeadId=UNKNOWN_LEAD),
        record(member, same.sfdc_id, CampaignId=same.campaign, LeadId=same.lead,
               Status=same.status),
        record(member, fake_id("00v", 3), CampaignId=free[0][0], LeadId=free[0][1],
               Status="Planned"),
        record(member, fake_id("00v", 4), CampaignId=free[2][0], LeadId=free[2][1],
               Status="Sent"),
        record(member, fake_id("00v", 5), deleted=True),
    ]  # fmt: skip
    with any_db.transaction() as conn:
        before = snapshot(conn)
    outcomes, after = stored_both_ways(any_db, plan, page, store_members, store_member)
    assert outcomes == [
        "updated",
        "deleted",
        "new",
        "failed",
        "skipped",
        "updated",
        "new",
        "skipped",
    ]
    logged = [(a[0], a[1]) for a in added(before["activities"], after["activities"])]
    person = {m.lead: m.person_id for m in held}
    assert logged == [
        (person[moved.lead], "Change Status in SFDC Campaign"),
        (person[gone.lead], "Remove from SFDC Campaign"),
        (person[gone.lead], "Add to SFDC Campaign"),
        (leads[free[2][1]], "Add to SFDC Campaign"),
    ]
    [error] = added(before["errors"], after["errors"])
    assert UNKNOWN_LEAD in error[5] and error[4] == "UNKNOWN_REFERENCE"


def test_pages_of_opportunities_and_roles_store_as_one_by_one(
    org: Org, any_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    puller = copied(org, any_db, make_puller)
    with any_db.transaction() as conn:
        opps = conn.execute(select(opportunities).order_by(opportunities.c.id)).all()
        roles = conn.execute(
            select(opportunity_roles, opportunities.c.sfdc_id.label("opportunity"))
            .join(opportunities, opportunities.c.id == opportunity_roles.c.opportunity_id)
            .order_by(opportunity_roles.c.id)
        ).all()
        contacts = list(
            conn.scalars(
                select(sync_links.c.sfdc_id)
                .where(sync_links.c.sfdc_object == "Contact", sync_links.c.entity == "person")
                .order_by(sync_links.c.sfdc_id)
            )
        )
        before = snapshot(conn)
    with_roles = next(o for o in opps if any(r.opportunity_id == o.id for r in roles))
    page = [
        record("Opportunity", with_roles.sfdc_id, Name=with_roles.name, StageName="Closed Won",
               Amount=with_roles.amount),
        record("Opportunity", opps[-1].sfdc_id, deleted=True, Name=opps[-1].name),
        record("Opportunity", fake_id("006", 1), Name="Fresh", StageName="Prospecting",
               CloseDate="2031-02-03"),
        record("Opportunity", opps[-2].sfdc_id, Name=opps[-2].name),
    ]  # fmt: skip
    outcomes, after = stored_both_ways(
        any_db, plan_of(puller, "Opportunity"), page, store_opportunities, store_opportunity
    )
    assert outcomes == ["updated", "deleted", "new", "skipped"]
    logged = added(before["activities"], after["activities"])
    people = {r.person_id for r in roles if r.opportunity_id == with_roles.id}
    assert {a[0] for a in logged} == people and {a[1] for a in logged} == {"Update Opportunity"}
    with any_db.transaction() as conn:
        contact_of = dict(
            conn.execute(
                select(sync_links.c.sfdc_id, sync_links.c.entity_id).where(
                    sync_links.c.sfdc_object == "Contact", sync_links.c.entity == "person"
                )
            ).all()
        )
    moved, gone = roles[0], roles[1]
    on_it = {r.person_id for r in roles if r.opportunity_id == moved.opportunity_id}
    other = next(c for c in contacts if contact_of[c] not in on_it)
    gone_contact = next(c for c in contacts if contact_of[c] == gone.person_id)
    role = "OpportunityContactRole"
    page = [
        record(role, moved.sfdc_id, OpportunityId=moved.opportunity, ContactId=other,
               Role=moved.role, IsPrimary=moved.is_primary),
        record(role, gone.sfdc_id, deleted=True),
        # the deleted role's place taken by a new role in the same page
        record(role, fake_id("00K", 1), OpportunityId=gone.opportunity, ContactId=gone_contact,
               Role=gone.role, IsPrimary=False),
        record(role, fake_id("00K", 2), OpportunityId=fake_id("006", 9), ContactId=other),
        record(role, fake_id("00K", 3), OpportunityId=moved.opportunity, ContactId=other,
               Role="Page Test Role"),
    ]  # fmt: skip
    outcomes, after = stored_both_ways(any_db, plan_of(puller, role), page, store_roles, store_role)
    assert outcomes == ["updated", "deleted", "new", "failed", "new"]
    logged = [(a[0], a[1]) for a in added(before["activities"], after["activities"])]
    assert logged == [
        (moved.person_id, "Remove from Opportunity"),
        (contact_of[other], "Add to Opportunity"),
        (gone.person_id, "Remove from Opportunity"),
        (gone.person_id, "Add to Opportunity"),
        (contact_of[other], "Add to Opportunity"),
    ]


def test_pages_of_tasks_and_custom_records_store_as_one_by_one(
    org: Org, any_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    puller = copied(org, any_db, make_puller)
    with any_db.transaction() as conn:
        tasks = conn.execute(
            select(activities)
            .where(activities.c.type == "SFDC Activity")
            .where(activities.c.attributes["type"].as_string() == "Task")
            .order_by(activities.c.id)
        ).all()
        customs = conn.execute(
            select(custom_object_records).order_by(custom_object_records.c.id)
        ).all()
        lead = conn.scalar(
            select(sync_links.c.sfdc_id).where(sync_links.c.sfdc_object == "Lead").limit(1)
        )
        before = snapshot(conn)
    page = [
        record("Task", tasks[0].sfdc_id, WhoId=lead, Subject="Moved", Status="Completed"),
        record("Task", tasks[1].sfdc_id, deleted=True),
        record("Task", fake_id("00T", 1), WhoId=lead, Subject="New one"),
        record("Task", fake_id("00T", 2), WhoId=UNKNOWN_LEAD, Subject="Nobody"),
        record("Task", fake_id("00T", 3), Subject="About an account only"),
    ]
    outcomes, after = stored_both_ways(
        any_db, plan_of(puller, "Task"), page, store_sfdc_activities, store_sfdc_activity
    )
    assert outcomes == ["updated", "deleted", "new", "failed", "skipped"]
    assert len(added(before["activities"], after["activities"])) == 1
    interest = "Product_Interest__c"
    page = [
        record(interest, customs[0].sfdc_id, Interest_Level__c=1, Lead__c=lead),
        record(interest, customs[1].sfdc_id, deleted=True),
        # two new records naming an account leadsync has not read: one placeholder company
        record(interest, fake_id("a01", 1), Contact__c=fake_id("003", 1),
               Account__c=fake_id("001", 1)),
        record(interest, fake_id("a01", 2), Lead__c=lead, Account__c=fake_id("001", 1)),
        record(interest, fake_id("a01", 3), deleted=True),
    ]  # fmt: skip
    # The demo's custom object looks up leads and contacts; an account lookup is added here.
    plan = plan_of(puller, interest)
    plan = dataclasses.replace(plan, sf_types={**plan.sf_types, "Account__c": "reference"})
    outcomes, after = stored_both_ways(
        any_db, plan, page, store_custom_records, store_custom_record
    )
    assert outcomes == ["updated", "deleted", "new", "new", "skipped"]
    [company] = added(before["companies"], after["companies"])
    assert fake_id("001", 1) in company
    [error] = added(before["errors"], after["errors"])
    assert fake_id("003", 1) in error[5]
