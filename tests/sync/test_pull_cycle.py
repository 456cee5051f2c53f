"""Incremental cycles: API economy, late commits, merges against the baseline, conversions,
deletes, account fan-out and echoes."""

from __future__ import annotations

import datetime as dt
import math
import time
from typing import Any

import pytest
from sqlalchemy import select

from leadsync.db import LeadDatabase
from leadsync.db.schema import persons, sync_conflicts, sync_fields
from leadsync.emulator import writes
from leadsync.emulator.convert import LeadConvert, convert_leads
from leadsync.emulator.org import Org
from leadsync.emulator.schema import FieldDef
from leadsync.emulator.seed import seed_demo
from leadsync.emulator.sessions import Session
from leadsync.errors import ValidationError
from leadsync.sync import Puller
from leadsync.sync import pull as pull_module
from leadsync.sync import store as store_module
from leadsync.sync.objects import ReadPlan

from ..conftest import ApiClient
from .conftest import PullerFactory
from .helpers import activity_count, person_by_sfdc, person_counts

HOUR = 3600


def copied(org: Org, db: LeadDatabase, make_puller: PullerFactory, records: int = 40) -> Puller:
    """A seeded org copied into `db`, with the org clock frozen an hour later (so the seed is
    outside the lookback window and each test controls every SystemModstamp)."""
    seed_demo(org, records=records)
    org.clock.freeze()
    org.clock.advance(HOUR)
    puller = make_puller(db)
    assert puller.run().copied
    org.clock.advance(60)
    return puller


def lead_ids(sf_admin: ApiClient, n: int) -> list[str]:
    soql = f"SELECT Id FROM Lead WHERE IsConverted = false ORDER BY Id LIMIT {n}"
    return [r["Id"] for r in sf_admin.query(soql)["records"]]


def edit(org: Org, admin: Session, obj: str, sfdc_id: str, **values: object) -> None:
    [result] = writes.update(org, admin, [(obj, sfdc_id, values)])
    assert result.as_json()["success"], result.as_json()


def test_incremental_cycle_pulls_changed_fields(
    org: Org, admin: Session, sf_admin: ApiClient, any_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    puller = copied(org, any_db, make_puller)
    [lead_id] = lead_ids(sf_admin, 1)
    edit(org, admin, "Lead", lead_id, Title="Chief Pull Officer")
    org.clock.advance(1)
    result = puller.run()
    assert not result.copied and result.of("Lead").updated == 1
    person = person_by_sfdc(any_db, lead_id)
    assert person["title"] == "Chief Pull Officer"
    change = any_db.list_activities(person["id"], types=["Change Data Value"])[-1]
    assert change["attributes"]["source"] == "salesforce"
    assert any_db.pending_changes() == []  # pulled values are never pushed back
    run = next(r for r in any_db.list_sync_runs() if r["object"] == "Lead")
    assert (run["operation"], run["status"], run["updated"]) == ("Pull updates", "Succeeded", 1)


def test_an_idle_cycle_costs_one_call(
    org: Org, any_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    puller = copied(org, any_db, make_puller)
    puller.run()
    pulled = {p.name for p in puller.plans()}  # every object rides in a composite call
    assert pulled >= {"User", "Group", "Account", "Lead", "Contact", "Opportunity", "Task"}
    assert {"OpportunityContactRole", "CampaignMember", "Event", "Product_Interest__c"} <= pulled
    before_calls, before_activities = org.limits.used, activity_count(any_db)
    runs = any_db.list_sync_runs()
    result = puller.run()
    # Salesforce allows five queries in one /composite call; the other objects are checked by
    # the replication resources in the same call.
    assert org.limits.used - before_calls == result.api_calls == 1
    assert activity_count(any_db) == before_activities
    assert any_db.list_sync_runs() == runs  # an idle cycle writes nothing at all


def test_an_idle_cycle_after_the_describes_expire_costs_one_more_call_and_sees_new_fields(
    org: Org, admin: Session, sf_admin: ApiClient, any_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    puller = copied(org, any_db, make_puller)
    puller.run()
    lead = org.schema.get("Lead")
    assert lead is not None
    lead.add(FieldDef("Shoe_Size__c", "string", label="Shoe Size", length=10, custom=True))
    org.store.sync_tables()
    later = time.monotonic()
    puller.describe.clock = lambda: later

    def lead_plan() -> ReadPlan:
        return next(p for p in puller.plans() if p.name == "Lead")

    idle = 1  # an idle cycle's /composite call
    assert puller.run().api_calls == idle  # describes not expired: the new field not seen yet
    assert "Shoe_Size__c" not in lead_plan().select
    later += puller.settings.describe_ttl + 1
    before = org.limits.used
    result = puller.run()
    # One /composite call refreshes the global describe and every object's; the cycle's
    # own calls read every object's changes.
    assert org.limits.used - before == result.api_calls == idle + 1
    assert "Shoe_Size__c" in lead_plan().select
    with any_db.transaction() as conn:
        assert "Shoe_Size__c" in set(conn.scalars(select(sync_fields.c.api_name)))
    assert puller.run().api_calls == idle  # refreshed together: they expire together again
    [lead_id] = lead_ids(sf_admin, 1)
    edit(org, admin, "Lead", lead_id, Shoe_Size__c="44")
    org.clock.advance(1)
    assert puller.run().of("Lead").updated == 1
    assert person_by_sfdc(any_db, lead_id)["Shoe_Size__c"] == "44"


def test_changed_leads_cost_at_most_a_call_per_page_plus_two(
    org: Org,
    admin: Session,
    sf_admin: ApiClient,
    sqlite_db: LeadDatabase,
    make_puller: PullerFactory,
) -> None:
    puller = copied(org, sqlite_db, make_puller, records=4_300)
    ids = lead_ids(sf_admin, 4_200)
    writes.update(org, admin, [("Lead", i, {"Title": "Changed"}) for i in ids])
    org.clock.advance(1)
    before = org.limits.used
    result = puller.run()
    assert org.limits.used - before <= math.ceil(len(ids) / 2000) + 2
    assert result.of("Lead").updated == len(ids)


@pytest.mark.parametrize("lookback", [300, 0])
def test_a_late_commit_below_the_watermark_is_picked_up(
    org: Org,
    admin: Session,
    sf_admin: ApiClient,
    sqlite_db: LeadDatabase,
    make_puller: PullerFactory,
    lookback: int,
) -> None:
    copied(org, sqlite_db, make_puller)
    puller = make_puller(sqlite_db, lookback=dt.timedelta(seconds=lookback))
    early, late = lead_ids(sf_admin, 2)
    edit(org, admin, "Lead", early, Title="Early")
    org.clock.advance(30)
    puller.run()  # the watermark is now this cycle's start
    org.clock.advance(-20)  # a transaction that began before that query commits after it
    edit(org, admin, "Lead", late, Title="Late")
    org.clock.advance(40)
    puller.run()
    picked_up = person_by_sfdc(sqlite_db, late)["title"] == "Late"
    assert picked_up is (lookback > 0)  # without the lookback the staging really loses it


@pytest.mark.parametrize("order", ["leads first", "contacts first"])
def test_a_lead_converted_in_salesforce_stays_one_person(
    org: Org,
    admin: Session,
    sf_admin: ApiClient,
    sqlite_db: LeadDatabase,
    make_puller: PullerFactory,
    monkeypatch: pytest.MonkeyPatch,
    order: str,
) -> None:
    if order == "contacts first":
        monkeypatch.setattr(pull_module, "CYCLE_ORDER", ("User", "Account", "Contact", "Lead"))
    puller = copied(org, sqlite_db, make_puller)
    [lead_id] = lead_ids(sf_admin, 1)
    person = person_by_sfdc(sqlite_db, lead_id)
    counts = person_counts(sqlite_db)
    [converted] = convert_leads(org, admin, [LeadConvert(lead_id, "Closed - Converted")])
    assert converted.success, converted.errors
    org.clock.advance(1)
    puller.run()
    after = person_counts(sqlite_db)
    assert after["all"] == counts["all"]  # no duplicate
    assert (after["Lead"], after["Contact"]) == (counts["Lead"] - 1, counts["Contact"] + 1)
    now = person_by_sfdc(sqlite_db, lead_id)
    assert now["sfdcType"] == "Contact" and now["sfdcContactId"] == converted.contact_id
    if order == "leads first":
        assert now["id"] == person["id"]
    types = [a["type"] for a in sqlite_db.list_activities(now["id"])]
    assert types.count("Convert Lead") == 1
    if order == "contacts first":  # the contact's person came first: the two were merged
        assert "Merge Leads" in types and types.count("New Lead") == 2


def test_a_deleted_lead_keeps_its_person_flagged(
    org: Org, admin: Session, sf_admin: ApiClient, any_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    puller = copied(org, any_db, make_puller)
    [lead_id] = lead_ids(sf_admin, 1)
    [result] = writes.delete(org, admin, [lead_id])
    assert result.as_json()["success"]
    org.clock.advance(1)
    puller.run()
    person = person_by_sfdc(any_db, lead_id)
    assert person["sfdcIsDeleted"] is True
    types = [a["type"] for a in any_db.list_activities(person["id"])]
    assert types.count("Delete Lead from SFDC") == 1


def test_echoes_and_rereads_write_nothing(
    org: Org,
    admin: Session,
    sf_admin: ApiClient,
    sqlite_db: LeadDatabase,
    make_puller: PullerFactory,
) -> None:
    puller = copied(org, sqlite_db, make_puller)
    [lead_id] = lead_ids(sf_admin, 1)
    title = person_by_sfdc(sqlite_db, lead_id)["title"]
    with sqlite_db.transaction() as conn:
        stamps_before = list(conn.execute(select(persons.c.id, persons.c.updated_at)))
    activities_before = activity_count(sqlite_db)
    edit(org, admin, "Lead", lead_id, Title=title)  # a save that changes no value
    org.clock.advance(1)
    puller.run()
    puller.run()  # and the lookback re-reads it once more
    with sqlite_db.transaction() as conn:
        assert list(conn.execute(select(persons.c.id, persons.c.updated_at))) == stamps_before
    assert activity_count(sqlite_db) == activities_before
    assert sqlite_db.pending_changes() == []


def test_an_account_change_lands_on_every_contact_with_activities(
    org: Org,
    admin: Session,
    sf_admin: ApiClient,
    sqlite_db: LeadDatabase,
    make_puller: PullerFactory,
) -> None:
    puller = copied(org, sqlite_db, make_puller)
    account = sf_admin.query("SELECT Id FROM Account ORDER BY Id LIMIT 1")["records"][0]["Id"]
    edit(org, admin, "Account", account, Industry="Aerospace")
    org.clock.advance(1)
    puller.run()
    contacts = [p for p in sqlite_db.find_persons(sfdcAccountId=account)]
    assert contacts and all(p["industry"] == "Aerospace" for p in contacts)
    for person in contacts:
        changes = sqlite_db.list_activities(person["id"], types=["Change Data Value"])
        assert [c["attributes"]["newValue"] for c in changes] == ["Aerospace"]


def test_no_account_activities_above_the_contact_threshold(
    org: Org,
    admin: Session,
    sf_admin: ApiClient,
    sqlite_db: LeadDatabase,
    make_puller: PullerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    puller = copied(org, sqlite_db, make_puller)
    account = sf_admin.query("SELECT Id FROM Account ORDER BY Id LIMIT 1")["records"][0]["Id"]
    contacts = sqlite_db.find_persons(sfdcAccountId=account)
    monkeypatch.setattr(store_module, "ACTIVITY_FANOUT_LIMIT", len(contacts) - 1)
    edit(org, admin, "Account", account, Industry="Aerospace")
    org.clock.advance(1)
    puller.run()
    for person in sqlite_db.find_persons(sfdcAccountId=account):
        assert person["industry"] == "Aerospace"  # the values still change
        assert sqlite_db.list_activities(person["id"], types=["Change Data Value"]) == []


@pytest.mark.parametrize(("obj", "winner"), [("Lead", "leadsync"), ("Contact", "salesforce")])
def test_both_sides_changed_the_same_field(
    org: Org,
    admin: Session,
    sf_admin: ApiClient,
    sqlite_db: LeadDatabase,
    make_puller: PullerFactory,
    obj: str,
    winner: str,
) -> None:
    puller = copied(org, sqlite_db, make_puller)
    where = "WHERE IsConverted = false " if obj == "Lead" else ""
    sfdc_id = sf_admin.query(f"SELECT Id FROM {obj} {where}ORDER BY Id LIMIT 1")["records"][0]["Id"]
    person = person_by_sfdc(sqlite_db, sfdc_id)
    sqlite_db.update_person(person["id"], {"title": "Local title", "phone": "555-0100"})
    extra = {"City": "Lyon"} if obj == "Lead" else {"Department": "Ops"}
    edit(org, admin, obj, sfdc_id, Title="Salesforce title", **extra)
    org.clock.advance(1)
    puller.run()
    after = sqlite_db.get_person(person["id"])
    assert after["title"] == ("Local title" if winner == "leadsync" else "Salesforce title")
    assert after["phone"] == "555-0100"  # a field only leadsync changed is untouched
    if obj == "Lead":
        assert after["city"] == "Lyon"  # a field only Salesforce changed lands
    with sqlite_db.transaction() as conn:
        [conflict] = conn.execute(select(sync_conflicts)).all()
    assert (conflict.field, conflict.winner) == ("title", winner)
    assert (conflict.local_value, conflict.salesforce_value) == ("Local title", "Salesforce title")


def test_a_record_that_cannot_be_stored_is_reported_and_the_rest_goes_on(
    org: Org,
    admin: Session,
    sf_admin: ApiClient,
    sqlite_db: LeadDatabase,
    make_puller: PullerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    puller = copied(org, sqlite_db, make_puller)
    bad, good = lead_ids(sf_admin, 2)
    for sfdc_id in (bad, good):
        edit(org, admin, "Lead", sfdc_id, Title="Changed")
    real = pull_module.store_person

    def refuse_one(conn: Any, plan: Any, record: Any, at: Any) -> str:
        if record.id == bad:  # a fault injected at the database edge
            raise ValidationError("title", "refused by the test", record_id=None)
        return real(conn, plan, record, at)

    real_page = pull_module.store_updates

    def refuse_page(conn: Any, plan: Any, batch: list[Any], at: Any, links: Any) -> dict[int, str]:
        if any(record.id == bad for record in batch):  # the page-at-a-time path refuses it too
            raise ValidationError("title", "refused by the test", record_id=None)
        return real_page(conn, plan, batch, at, links)

    monkeypatch.setattr(pull_module, "store_person", refuse_one)
    monkeypatch.setattr(pull_module, "store_updates", refuse_page)
    org.clock.advance(1)
    result = puller.run()
    assert (result.of("Lead").failed, result.of("Lead").updated) == (1, 1)
    assert person_by_sfdc(sqlite_db, good)["title"] == "Changed"
    [error] = sqlite_db.list_sync_errors()
    assert (error["sfdcId"], error["code"]) == (bad, "STORE_FAILED")


def test_a_second_change_within_the_stored_versions_second_is_pulled(
    org: Org, admin: Session, sf_admin: ApiClient, any_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    # Salesforce stamps whole seconds: two changes in one second share a SystemModstamp, and
    # the second must not pass for a re-read of the first, which the last cycle stored.
    puller = copied(org, any_db, make_puller)
    [lead_id] = lead_ids(sf_admin, 1)
    edit(org, admin, "Lead", lead_id, Title="First title")
    assert puller.run().of("Lead").updated == 1
    edit(org, admin, "Lead", lead_id, Title="Second title")  # the clock is frozen: same stamp
    result = puller.run()
    assert result.of("Lead").updated == 1
    assert person_by_sfdc(any_db, lead_id)["title"] == "Second title"
    assert puller.run().of("Lead").updated == 0  # and then it is a re-read like any other


def test_a_delete_within_the_stored_versions_second_is_pulled_once(
    org: Org, admin: Session, sf_admin: ApiClient, any_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    puller = copied(org, any_db, make_puller)
    [lead_id] = lead_ids(sf_admin, 1)
    edit(org, admin, "Lead", lead_id, Title="Last title")
    assert puller.run().of("Lead").updated == 1
    [result] = writes.delete(org, admin, [lead_id])  # the clock is frozen: the same stamp
    assert result.as_json()["success"]
    assert puller.run().of("Lead").deleted == 1
    person = person_by_sfdc(any_db, lead_id)
    assert person["sfdcIsDeleted"] is True
    activities = len(any_db.list_activities(person["id"]))
    again = puller.run()  # a lookback re-read of the deleted version: nothing new
    assert (again.of("Lead").deleted, again.of("Lead").updated) == (0, 0)
    assert len(any_db.list_activities(person["id"])) == activities


@pytest.mark.parametrize("page_path", [True, False], ids=["page", "one-by-one"])
@pytest.mark.parametrize("obj,field", [("Lead", "OwnerId"), ("Contact", "AccountId")])
def test_an_owner_or_account_change_within_the_stored_versions_second_is_pulled(
    org: Org,
    admin: Session,
    sf_admin: ApiClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
    monkeypatch: pytest.MonkeyPatch,
    obj: str,
    field: str,
    page_path: bool,
) -> None:
    # Neither field is in the baseline: a change of only that field, in the second of the
    # stored version, carries the same stamp and no data change.
    puller = copied(org, any_db, make_puller)
    record = sf_admin.query(f"SELECT Id, {field} FROM {obj} ORDER BY Id LIMIT 1")["records"][0]
    edit(org, admin, obj, record["Id"], Title="Stored version")
    assert puller.run().of(obj).updated == 1
    parent = "User" if field == "OwnerId" else "Account"
    soql = f"SELECT Id FROM {parent} WHERE Id != '{record[field]}' ORDER BY Id LIMIT 1"
    [other] = [r["Id"] for r in sf_admin.query(soql)["records"]]
    edit(org, admin, obj, record["Id"], **{field: other})  # the clock is frozen: same stamp
    if not page_path:
        monkeypatch.setattr(pull_module, "store_updates", lambda *args: {})
    assert puller.run().of(obj).read == 1
    key = "sfdcOwnerId" if field == "OwnerId" else "sfdcAccountId"
    assert person_by_sfdc(any_db, record["Id"])[key] == other
    assert puller.run().of(obj).updated == 0  # and then it is a re-read like any other
