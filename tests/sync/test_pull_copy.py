"""The initial copy: counts, Bulk path, field-level security, crash and resume."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from leadsync.db import LeadDatabase
from leadsync.db.schema import persons, sync_fields, sync_watermarks
from leadsync.emulator.org import Org
from leadsync.emulator.seed import seed_demo
from leadsync.sync import pull as pull_module
from leadsync.sync.objects import ACCOUNT, CONTACT, LEAD, USER

from ..conftest import ApiClient
from .conftest import PullerFactory
from .helpers import account_company_count, owner_count, person_counts


def total(sf_admin: ApiClient, soql: str) -> int:
    return int(sf_admin.query(soql)["totalSize"])


def expected(sf_admin: ApiClient) -> dict[str, int]:
    leads = total(sf_admin, "SELECT COUNT() FROM Lead WHERE IsConverted = false")
    contacts = total(sf_admin, "SELECT COUNT() FROM Contact")
    return {"Lead": leads, "Contact": contacts, "all": leads + contacts}


def assert_copied(db: LeadDatabase, sf_admin: ApiClient) -> None:
    assert person_counts(db) == expected(sf_admin)
    assert owner_count(db) == total(sf_admin, "SELECT COUNT() FROM User")
    assert account_company_count(db) == total(sf_admin, "SELECT COUNT() FROM Account")


def test_initial_copy_counts_equal_the_org(
    org: Org, sf_admin: ApiClient, any_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    seed_demo(org, records=60)
    result = make_puller(any_db).run()
    assert result.copied
    assert_copied(any_db, sf_admin)
    converted = total(sf_admin, "SELECT COUNT() FROM Lead WHERE IsConverted = true")
    assert converted > 0  # the demo seed converts a few: each is its contact's person
    linked = [p for p in any_db.find_persons(sfdcType="Contact") if p["sfdcLeadId"]]
    assert len(linked) == converted


def test_bulk_copy_above_the_threshold(
    org: Org, sf_admin: ApiClient, sqlite_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    seed_demo(org, records=120)
    make_puller(sqlite_db, bulk_threshold=50, batch_size=25).run()
    assert_copied(sqlite_db, sf_admin)
    lead = sqlite_db.find_persons(sfdcType="Lead", limit=1)[0]
    assert lead["lastName"] and lead["email"]
    assert isinstance(lead["unsubscribed"], bool)  # CSV text decoded by describe type


def test_a_growing_copy_refreshes_planner_statistics_a_few_times(
    org: Org,
    sf_admin: ApiClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed_demo(org, records=400)
    monkeypatch.setattr(pull_module, "ANALYZE_AFTER", 20)
    refreshed: list[int] = []
    real = any_db.analyze
    monkeypatch.setattr(any_db, "analyze", lambda: (refreshed.append(1), real())[1])
    make_puller(any_db, bulk_threshold=50, batch_size=25).run()
    assert_copied(any_db, sf_admin)
    # Per object: at 20, 80, 320, ... records stored, then once after it (400 leads: 4 times).
    # Geometric, so far fewer than one per batch of 25 (about 70 batches in this org).
    assert 4 <= len(refreshed) <= 40


@pytest.mark.parametrize("order", ["contacts first", "leads first"])
def test_converted_leads_are_one_person_in_either_order(
    org: Org,
    sf_admin: ApiClient,
    sqlite_db: LeadDatabase,
    make_puller: PullerFactory,
    monkeypatch: pytest.MonkeyPatch,
    order: str,
) -> None:
    seed_demo(org, records=40)
    objects = (
        (USER, ACCOUNT, CONTACT, LEAD)
        if order == "contacts first"
        else (USER, ACCOUNT, LEAD, CONTACT)
    )
    monkeypatch.setattr(pull_module, "OBJECTS", objects)
    make_puller(sqlite_db).run()
    assert person_counts(sqlite_db) == expected(sf_admin)
    for person in sqlite_db.find_persons(sfdcType="Contact"):
        if person["sfdcLeadId"]:
            types = [a["type"] for a in sqlite_db.list_activities(person["id"])]
            assert types.count("Convert Lead") == 1


def test_field_hidden_by_field_level_security_never_reaches_the_database(
    org: Org, sf_admin: ApiClient, sqlite_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    seed_demo(org, records=30)
    rows = sf_admin.query("SELECT Internal_Notes__c FROM Lead")["records"]
    noted = sum(1 for row in rows if row["Internal_Notes__c"])
    assert noted > 0  # the admin sees values the sync user must not
    make_puller(sqlite_db).run()
    with sqlite_db.transaction() as conn:
        names = set(conn.scalars(select(sync_fields.c.api_name)))
        customs = list(conn.scalars(select(persons.c.custom)))
    assert "Lead_Score__c" in names and "Internal_Notes__c" not in names
    assert customs and all("Internal_Notes__c" not in c for c in customs)


class Crash(Exception):
    pass


def test_a_crash_mid_copy_resumes_without_starting_over(
    org: Org, sf_admin: ApiClient, sqlite_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    seed_demo(org, records=100)
    settings = {"bulk_threshold": 0, "batch_size": 10}

    def crash_after_three(name: str, batches: int) -> None:
        if name == "Lead" and batches == 3:
            raise Crash

    with pytest.raises(Crash):
        make_puller(sqlite_db, on_batch=crash_after_three, **settings).run()
    with sqlite_db.transaction() as conn:
        cursor = conn.execute(
            select(sync_watermarks).where(sync_watermarks.c.sfdc_object == "Lead")
        ).one()
    assert cursor.copy_cursor is not None and not cursor.copy_done
    failed = sqlite_db.list_sync_runs()[0]
    assert (failed["object"], failed["status"], failed["new"]) == ("Lead", "Failed", 30)
    leads = total(sf_admin, "SELECT COUNT() FROM Lead")
    result = make_puller(sqlite_db, **settings).run()
    assert result.of("Lead").read == leads - 30  # resumed after the 3 stored batches
    assert result.of("Contact").read == 0  # finished before the crash: not read again
    assert_copied(sqlite_db, sf_admin)


def test_a_record_read_twice_in_one_fresh_copy_is_still_one_person(
    org: Org,
    sf_admin: ApiClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A fresh copy skips the link lookups; were Salesforce to return a record twice, the
    # links' unique key sends that batch to the record-by-record path, which finds the link.
    seed_demo(org, records=60)
    real = pull_module.Puller._copy_batches

    def with_a_repeat(self: pull_module.Puller, read_plan, where, total):  # type: ignore[no-untyped-def]
        first: list[object] = []
        for number, batch in enumerate(real(self, read_plan, where, total)):
            if read_plan.name == "Lead" and number == 0:
                first = batch[:1]
            if read_plan.name == "Lead" and number == 1:
                batch = [*batch, *first]  # the first lead comes again
            yield batch

    monkeypatch.setattr(pull_module.Puller, "_copy_batches", with_a_repeat)
    result = make_puller(any_db, bulk_threshold=0, batch_size=10).run()
    leads = total(sf_admin, "SELECT COUNT() FROM Lead")
    assert result.of("Lead").read == leads + 1
    assert result.of("Lead").failed == 0
    assert_copied(any_db, sf_admin)  # exactly one person per record
