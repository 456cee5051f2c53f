"""Salesforce merges: the merged (deleted) lead's or contact's person joins the master's."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from leadsync.db import LeadDatabase, sync_state
from leadsync.emulator.org import Org
from leadsync.emulator.sessions import Session

from ..conftest import login
from ..emulator.test_convert_merge import merge, merge_xml
from .conftest import PullerFactory
from .helpers import next_minute, person_by_sfdc, person_counts
from .test_pull_cycle import copied
from .test_pull_related import create


def sf_merge(http: TestClient, org: Org, obj: str, master: str, loser: str) -> None:
    """A merge as a Salesforce user makes it (SOAP `merge`)."""
    [result] = merge(http, login(org, "admin@example.com"), merge_xml(obj, master, [loser]))
    assert result["success"] == "true", result


def types_of(db: LeadDatabase, person_id: int) -> list[str]:
    return [a["type"] for a in db.list_activities(person_id)]


def two_persons(org: Org, admin: Session, obj: str, *, master_first: bool) -> tuple[str, str]:
    """Two records of `obj`: the master lacks a phone the loser has. Returns (master, loser),
    ordered so that the master's Id sorts first (or last): equal SystemModstamps after the
    merge, so the Id decides which one the cycle reads first."""
    base: dict[str, Any] = {"LastName": "Twin"}
    if obj == "Lead":
        base["Company"] = "Twin Co"
    first = create(org, admin, obj, **base, Email="twin@example.com", Title="Boss")
    second = create(org, admin, obj, **base, Email="twin@old.example.com", Phone="+1 555 0101")
    if master_first:
        return first, second
    # The master is the later id: give it the other one's values instead.
    return second, first


@pytest.mark.parametrize("obj", ["Lead", "Contact"])
@pytest.mark.parametrize(
    "master_first", [True, False], ids=["master-read-first", "master-read-last"]
)
def test_a_salesforce_merge_merges_the_two_persons(
    org: Org,
    admin: Session,
    http: TestClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
    obj: str,
    master_first: bool,
) -> None:
    puller = copied(org, any_db, make_puller)
    master, loser = two_persons(org, admin, obj, master_first=master_first)
    campaign = create(org, admin, "Campaign", Name="Merge Webinar")
    key = "LeadId" if obj == "Lead" else "ContactId"
    create(org, admin, "CampaignMember", CampaignId=campaign, **{key: loser})
    next_minute(org)
    puller.run()
    winner, merged = person_by_sfdc(any_db, master), person_by_sfdc(any_db, loser)
    assert winner["id"] != merged["id"]
    counts = person_counts(any_db)
    next_minute(org)
    sf_merge(http, org, obj, master, loser)
    next_minute(org)
    puller.run()
    after = person_by_sfdc(any_db, master)
    assert after["id"] == winner["id"]
    with any_db.transaction() as conn:
        link = sync_state.get_link(conn, obj, loser)
    assert link is not None and link.entity_id == winner["id"]  # the loser's id leads here too
    assert person_counts(any_db)["all"] == counts["all"] - 1
    assert after["sfdcIsDeleted"] is False
    # The winner's values stay; its empty fields are filled from the loser.
    assert after["email"] == winner["email"]
    assert after["phone"] == (winner["phone"] or merged["phone"]) == "+1 555 0101"
    types = types_of(any_db, after["id"])
    assert types.count("Merge Leads") == 1
    assert types.count("New Lead") == 2  # the activity logs are joined
    assert "Delete Lead from SFDC" not in types
    [membership] = any_db.person_campaigns(after["id"])
    assert membership["campaignName"] == "Merge Webinar"
    [logged] = any_db.list_activities(after["id"], types=["Merge Leads"])
    assert logged["attributes"]["mergedSfdcId"] == loser
    puller.run()  # the lookback re-reads the merge: nothing more happens
    assert types_of(any_db, after["id"]) == types


def test_a_merge_into_a_master_leadsync_has_not_seen_yet(
    org: Org, admin: Session, http: TestClient, any_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    puller = copied(org, any_db, make_puller)
    loser = create(org, admin, "Lead", LastName="Old", Company="Old Co", Phone="+1 555 0102")
    org.clock.advance(1)
    puller.run()
    person = person_by_sfdc(any_db, loser)
    counts = person_counts(any_db)
    org.clock.advance(1)
    master = create(org, admin, "Lead", LastName="New", Company="New Co", Title="Lead Buyer")
    sf_merge(http, org, "Lead", master, loser)
    org.clock.advance(1)
    puller.run()
    after = person_by_sfdc(any_db, master)
    assert after["id"] == person["id"]  # the loser's person became the master's
    assert person_counts(any_db) == counts
    assert (after["lastName"], after["title"], after["sfdcLeadId"]) == ("New", "Lead Buyer", master)
    assert types_of(any_db, after["id"]).count("Merge Leads") == 1
