"""The initial copy: counts, Bulk path, field-level security, crash and resume."""

from __future__ import annotations

import math
from typing import Any

import pytest
from sqlalchemy import select

from leadsync.db import LeadDatabase
from leadsync.db.schema import persons, sync_fields, sync_watermarks
from leadsync.emulator import bulk_query
from leadsync.emulator.org import Org
from leadsync.emulator.seed import seed_demo
from leadsync.salesforce import bulk as bulk_client
from leadsync.salesforce.client import SalesforceClient
from leadsync.sync import pull as pull_module
from leadsync.sync.objects import ACCOUNT, CONTACT, LEAD, USER

from ..conftest import ApiClient
from .conftest import PullerFactory
from .helpers import account_company_count, owner_count, person_counts


@pytest.fixture
def bulk_jobs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The objects of the Bulk query jobs the org is asked to run, in order."""
    created: list[str] = []
    real = bulk_query.create

    def spy(*args: Any, **kwargs: Any) -> bulk_query.QueryJob:
        job = real(*args, **kwargs)
        created.append(job.object_name)
        return job

    monkeypatch.setattr(bulk_query, "create", spy)
    return created


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
    org: Org,
    sf_admin: ApiClient,
    sqlite_db: LeadDatabase,
    make_puller: PullerFactory,
    small_pages: int,
    bulk_jobs: list[str],
) -> None:
    seed_demo(org, records=120)
    make_puller(sqlite_db, bulk_threshold=50, batch_size=25).run()
    assert_copied(sqlite_db, sf_admin)
    assert "Lead" in bulk_jobs  # 120 leads: a first page of 20, then a Bulk job for the other 100
    leads = sqlite_db.find_persons(sfdcType="Lead")
    assert all(lead["lastName"] and lead["email"] for lead in leads)
    assert all(isinstance(lead["unsubscribed"], bool) for lead in leads)  # CSV text decoded


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

    def with_a_repeat(self: pull_module.Puller, read_plan, *args):  # type: ignore[no-untyped-def]
        first: list[object] = []
        for number, batch in enumerate(real(self, read_plan, *args)):
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


# -- API economy of the copy ---------------------------------------------------------------


def test_a_small_orgs_copy_costs_two_calls_and_one_per_five_objects(
    org: Org, sf_admin: ApiClient, any_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    seed_demo(org, records=60)
    puller = make_puller(any_db)
    before = org.limits.used
    result = puller.run()
    objects = len(puller.plans())
    assert objects >= 13  # users, accounts, leads, contacts, ..., a custom object, activities
    # The global describe, every object's describe in one /composite call (<= 24 with the
    # global's room), every object's first page in /composite calls of five queries (the
    # most Salesforce allows in one). Every object fits its first page (at most 2,000
    # records): no COUNT(), no second page.
    assert org.limits.used - before == result.api_calls == 2 + math.ceil(objects / 5)
    assert_copied(any_db, sf_admin)


def test_a_copy_past_the_first_pages_costs_a_call_per_page_or_bulk_job(
    org: Org,
    sf_admin: ApiClient,
    sqlite_db: LeadDatabase,
    make_puller: PullerFactory,
    small_pages: int,
    bulk_jobs: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed_demo(org, records=60)
    threshold = 50
    puller = make_puller(sqlite_db, bulk_threshold=threshold, batch_size=25)
    totals: dict[str, int | None] = {}
    puller.progress = lambda name, stored, of: totals.setdefault(name, of)
    polls = count_job_polls(monkeypatch)
    before = org.limits.used
    puller.run()
    calls = org.limits.used - before
    first_pages = math.ceil(len(puller.plans()) / 5)  # five queries per /composite call
    sizes = {name: int(of or 0) for name, of in totals.items()}
    rest_pages = sum(math.ceil(n / small_pages) - 1 for n in sizes.values() if 0 < n <= threshold)
    bulk = [name for name, n in sizes.items() if n > threshold and n > small_pages]
    assert rest_pages > 0 and len(bulk) >= 3  # both ways past a first page are taken
    assert bulk_jobs == bulk  # a job only for what is left after a first page, in order
    # The calls of a small org, a call per further REST page, and per Bulk job its
    # creation, one result page (each job is far below 10,000 records), its deletion, and
    # its status polls (as many as the job takes to finish).
    assert calls == 2 + first_pages + rest_pages + 3 * len(bulk) + polls[0]
    assert len(bulk) <= polls[0] <= 5 * len(bulk)
    assert_copied(sqlite_db, sf_admin)


def count_job_polls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """[status polls of Bulk jobs]: each a GET of `jobs/query/<id>`, one API call."""
    polls = [0]
    real = bulk_client.wait_for_job

    def counted(client: SalesforceClient, job_id: str, *args: Any, **kwargs: Any) -> None:
        real_request = client.request_json

        def request_json(method: str, path: str, **kw: Any) -> Any:
            if method == "GET" and path.startswith("jobs/query/"):
                polls[0] += 1
            return real_request(method, path, **kw)

        monkeypatch.setattr(client, "request_json", request_json)
        try:
            real(client, job_id, *args, **kwargs)
        finally:
            monkeypatch.setattr(client, "request_json", real_request)

    monkeypatch.setattr(bulk_client, "wait_for_job", counted)
    return polls


def test_first_pages_are_read_together_and_stored_in_dependency_order(
    org: Org, sf_admin: ApiClient, sqlite_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    seed_demo(org, records=60)
    before = org.limits.used
    stored: list[tuple[str, int]] = []  # (object, calls spent) at each stored batch

    def note(name: str, batches: int) -> None:
        stored.append((name, org.limits.used - before))

    puller = make_puller(sqlite_db, on_batch=note)
    puller.run()
    order = [p.name for p in puller.plans()]
    assert order.index("User") < order.index("Account") < order.index("Contact")
    assert order.index("Lead") < order.index("CampaignMember") < order.index("Task")
    names = [name for name, _ in stored]
    runs = [name for n, name in enumerate(names) if n == 0 or names[n - 1] != name]
    assert runs == [name for name in order if name in names]  # each once, in plan order
    assert len(runs) >= 12
    # Every first page read before any store: describes, then five objects per call.
    assert {calls for _, calls in stored} == {2 + math.ceil(len(order) / 5)}


def test_a_crash_between_the_first_page_and_the_bulk_job_resumes_after_the_page(
    org: Org,
    sf_admin: ApiClient,
    sqlite_db: LeadDatabase,
    make_puller: PullerFactory,
    small_pages: int,
    bulk_jobs: list[str],
) -> None:
    seed_demo(org, records=100)
    settings = {"bulk_threshold": 50, "batch_size": 10}

    def crash_after_the_first_page(name: str, batches: int) -> None:
        if name == "Lead" and batches * 10 == small_pages:  # its first page, all stored
            raise Crash

    with pytest.raises(Crash):
        make_puller(sqlite_db, on_batch=crash_after_the_first_page, **settings).run()
    failed = sqlite_db.list_sync_runs()[0]
    assert (failed["object"], failed["status"], failed["new"]) == ("Lead", "Failed", 20)
    bulk_jobs.clear()
    leads = total(sf_admin, "SELECT COUNT() FROM Lead")
    result = make_puller(sqlite_db, **settings).run()
    assert result.of("Lead").read == leads - small_pages  # none of the first page again
    assert result.of("Contact").read == 0
    assert "Lead" in bulk_jobs  # the resumed copy: a new first page, then the Bulk job
    assert_copied(sqlite_db, sf_admin)


def test_a_large_object_is_read_in_bulk_jobs_of_growing_size(
    org: Org,
    sf_admin: ApiClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
    small_pages: int,
    bulk_jobs: list[str],
) -> None:
    seed_demo(org, records=150)
    leads = total(sf_admin, "SELECT COUNT() FROM Lead")
    settings = {"bulk_threshold": 50, "batch_size": 10, "first_bulk_chunk": 15, "bulk_chunk": 40}
    puller = make_puller(any_db, **settings)
    totals: dict[str, int | None] = {}
    puller.progress = lambda name, stored, of: totals.setdefault(name, of)
    result = puller.run()
    assert totals["Lead"] == leads and result.of("Lead").read == leads
    # After the first page: jobs of 15, 30, 40, 40, ... records, until one comes back short.
    left, chunk, jobs = leads - small_pages, 15, 0
    while True:
        jobs += 1
        if left < chunk:
            break
        left, chunk = left - chunk, min(chunk * 2, 40)
    assert jobs >= 3
    assert bulk_jobs.count("Lead") == jobs
    assert_copied(any_db, sf_admin)  # each record once


def test_a_crash_between_bulk_jobs_resumes_after_the_stored_records(
    org: Org,
    sf_admin: ApiClient,
    sqlite_db: LeadDatabase,
    make_puller: PullerFactory,
    small_pages: int,
    bulk_jobs: list[str],
) -> None:
    seed_demo(org, records=150)
    settings = {"bulk_threshold": 50, "batch_size": 10, "first_bulk_chunk": 15, "bulk_chunk": 40}

    def crash_in_the_third_job(name: str, batches: int) -> None:
        if name == "Lead" and bulk_jobs.count("Lead") == 3:
            raise Crash

    with pytest.raises(Crash):
        make_puller(sqlite_db, on_batch=crash_in_the_third_job, **settings).run()
    stored = sqlite_db.list_sync_runs()[0]["new"]
    assert stored >= small_pages + 15 + 30 - 10  # the first page and the first two jobs
    leads = total(sf_admin, "SELECT COUNT() FROM Lead")
    result = make_puller(sqlite_db, **settings).run()
    assert result.of("Lead").read == leads - stored  # resumed after what was stored
    assert_copied(sqlite_db, sf_admin)


def test_the_rest_of_an_object_is_asked_for_afresh_not_through_the_first_pages_cursor(
    org: Org,
    sf_admin: ApiClient,
    sqlite_db: LeadDatabase,
    make_puller: PullerFactory,
    small_pages: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # First pages are read when the copy begins; an object's turn may come hours later, when
    # Salesforce has closed that cursor. The REST remainder is a new query after the page.
    seed_demo(org, records=60)
    puller = make_puller(sqlite_db, bulk_threshold=10_000)
    first_cursors: list[str] = []
    real_first = pull_module.Puller._query_first_pages

    def remember(self: pull_module.Puller, statements: Any) -> dict[str, dict[str, Any]]:
        pages = real_first(self, statements)
        first_cursors.extend(str(p["nextRecordsUrl"]) for p in pages.values() if not p["done"])
        return pages

    asked: list[str] = []
    real_request = puller.client.request_json

    def spy(method: str, path: str, **kwargs: Any) -> Any:
        asked.append(path)
        return real_request(method, path, **kwargs)

    monkeypatch.setattr(pull_module.Puller, "_query_first_pages", remember)
    monkeypatch.setattr(puller.client, "request_json", spy)
    puller.run()
    assert first_cursors  # some objects went past their first page
    assert not [p for p in asked if any(c.endswith(p) or p.endswith(c) for c in first_cursors)]
    assert_copied(sqlite_db, sf_admin)
