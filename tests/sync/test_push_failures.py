"""Push failures: rejected records are recorded on the person and retried; the batch goes on;
a crash between the Salesforce write and the local commit never makes a duplicate."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from leadsync.db import LeadDatabase
from leadsync.emulator.org import Org
from leadsync.salesforce.client import SalesforceClient
from leadsync.sync import push as push_module
from leadsync.sync.conditions import Condition

from ..conftest import ApiClient
from .conftest import PullerFactory
from .pushing import copied, ids, make_pusher, person_of, sf_record


@pytest.mark.parametrize(
    ("bad", "code", "field"),
    [
        ({"phone": "call me maybe"}, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Phone"),
        ({"title": "x" * 200}, "STRING_TOO_LONG", "Title"),
        ({"lastName": None}, "REQUIRED_FIELD_MISSING", "LastName"),
        ({"Preferred_Language__c": "Klingon"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", None),
    ],
)
def test_a_rejected_record_is_logged_and_the_rest_of_the_batch_goes_through(
    org: Org,
    sf_admin: ApiClient,
    client: SalesforceClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
    bad: dict[str, Any],
    code: str,
    field: str | None,
) -> None:
    copied(org, any_db, make_puller)
    good1, rejected, good2 = ids(sf_admin, "Lead", 3)
    for sfdc_id in (good1, good2):
        any_db.update_person(person_of(any_db, sfdc_id)["id"], {"city": "Turin"})
    person = person_of(any_db, rejected)
    any_db.update_person(person["id"], {"city": "Turin", **bad})
    result = make_pusher(org, any_db, client).run()
    assert (result.of("Lead").updated, result.of("Lead").failed) == (2, 1)
    assert [sf_record(sf_admin, "Lead", i)["City"] for i in (good1, good2)] == ["Turin"] * 2
    assert sf_record(sf_admin, "Lead", rejected)["City"] != "Turin"
    [activity] = any_db.list_activities(person["id"], types=["Sync Lead to SFDC"])
    attributes = activity["attributes"]
    assert attributes["success"] is False and attributes["errorCode"] == code
    assert attributes["message"]
    [error] = any_db.list_sync_errors()
    assert (error["personId"], error["sfdcId"], error["code"]) == (person["id"], rejected, code)
    if field is not None:
        assert field in error["fields"] and field in attributes["fields"]
    assert error["nextRetryAt"] is None  # not retriable: waits for the next change
    assert any_db.pending_changes() == []


def test_a_fixed_record_goes_again_with_its_earlier_fields_and_resolves_the_error(
    org: Org,
    sf_admin: ApiClient,
    client: SalesforceClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
) -> None:
    copied(org, any_db, make_puller)
    [lead_id] = ids(sf_admin, "Lead", 1)
    person = person_of(any_db, lead_id)
    pusher = make_pusher(org, any_db, client)
    any_db.update_person(person["id"], {"title": "Fixed later", "phone": "not a phone"})
    pusher.run()
    assert sf_record(sf_admin, "Lead", lead_id)["Title"] != "Fixed later"
    assert len(any_db.list_sync_errors()) == 1
    any_db.update_person(person["id"], {"phone": "+47 555 0100"})
    result = pusher.run()
    assert result.of("Lead").updated == 1
    record = sf_record(sf_admin, "Lead", lead_id)
    assert (record["Title"], record["Phone"]) == ("Fixed later", "+47 555 0100")
    assert any_db.list_sync_errors() == []
    [resolved] = any_db.list_sync_errors(include_resolved=True)
    assert resolved["resolvedAt"] is not None


def test_a_retriable_failure_follows_the_bounded_schedule(
    org: Org,
    sf_admin: ApiClient,
    client: SalesforceClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
) -> None:
    copied(org, any_db, make_puller)
    [lead_id] = ids(sf_admin, "Lead", 1)
    person = person_of(any_db, lead_id)
    pusher = make_pusher(org, any_db, client, retry_delays=(60.0, 120.0))
    any_db.update_person(person["id"], {"title": "Locked out"})
    org.faults.add({"kind": "lock", "count": 2, "path": "composite/sobjects"})  # both attempts
    pusher.run()
    [error] = any_db.list_sync_errors()
    assert (error["code"], error["attempts"]) == ("UNABLE_TO_LOCK_ROW", 1)
    first_retry = dt.datetime.fromisoformat(error["nextRetryAt"])
    pusher.run()  # not due yet: nothing is sent
    assert sf_record(sf_admin, "Lead", lead_id)["Title"] != "Locked out"
    org.clock.advance(61)
    org.faults.add({"kind": "lock", "count": 2, "path": "composite/sobjects"})
    pusher.run()  # due: retried, fails again
    [error] = any_db.list_sync_errors()
    assert error["attempts"] == 2
    assert dt.datetime.fromisoformat(error["nextRetryAt"]) - first_retry >= dt.timedelta(
        seconds=120
    )
    org.clock.advance(121)
    pusher.run()  # due again, and the org answers this time
    assert sf_record(sf_admin, "Lead", lead_id)["Title"] == "Locked out"
    assert any_db.list_sync_errors() == []


def test_the_retry_schedule_is_bounded(
    org: Org,
    sf_admin: ApiClient,
    client: SalesforceClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
) -> None:
    copied(org, any_db, make_puller)
    [lead_id] = ids(sf_admin, "Lead", 1)
    pusher = make_pusher(org, any_db, client, retry_delays=(10.0,))
    any_db.update_person(person_of(any_db, lead_id)["id"], {"title": "Never"})
    for _ in range(2):
        org.faults.add({"kind": "lock", "count": 2, "path": "composite/sobjects"})
        pusher.run()
        org.clock.advance(11)
    [error] = any_db.list_sync_errors()
    assert (error["attempts"], error["nextRetryAt"]) == (2, None)  # given up until it changes


@pytest.mark.parametrize("pull_first", [False, True])
def test_a_crash_between_the_salesforce_write_and_the_local_commit_makes_no_duplicate(
    org: Org,
    sf_admin: ApiClient,
    client: SalesforceClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
    monkeypatch: pytest.MonkeyPatch,
    pull_first: bool,
) -> None:
    puller = copied(org, any_db, make_puller)
    person = any_db.create_person({"email": "crash@example.com", "lastName": "Crash"})
    any_db.update_person(person["id"], {"leadScore": 90})
    pusher = make_pusher(org, any_db, client, auto_create=(Condition("leadScore", ">", 50),))
    real = push_module.link_created

    def crash(*args: Any, **kwargs: Any) -> None:
        monkeypatch.setattr(push_module, "link_created", real)  # fails once
        raise OSError("disk full")  # the local commit never happens

    monkeypatch.setattr(push_module, "link_created", crash)
    with pytest.raises(OSError):
        pusher.run()
    assert any_db.get_person(person["id"])["sfdcId"] is None  # rolled back locally
    assert len(any_db.pending_changes()) == 1  # and nothing was lost
    if pull_first:  # the next cycle's pull finds the lead by its external id
        org.clock.advance(1)
        puller.run()
        assert any_db.get_person(person["id"])["sfdcType"] == "Lead"
    pusher.run()
    found = sf_admin.query("SELECT Id, LeadSync_Id__c FROM Lead WHERE Email = 'crash@example.com'")
    assert found["totalSize"] == 1
    [record] = found["records"]
    assert record["LeadSync_Id__c"] == str(person["id"])
    assert any_db.get_person(person["id"])["sfdcLeadId"] == record["Id"]
    assert len(any_db.find_persons(email="crash@example.com")) == 1
    assert any_db.pending_changes() == []
