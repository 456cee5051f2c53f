"""The org's default lead assignment rule, applied to REST creates as Salesforce applies it:
when `Sforce-Auto-Assign` is TRUE or absent, and not when it is FALSE."""

from __future__ import annotations

import pytest

from leadsync.emulator import orgfile
from leadsync.emulator.org import Org

from ..conftest import ApiClient


def _user(sf: ApiClient, username: str) -> str:
    return str(sf.query(f"SELECT Id FROM User WHERE Username = '{username}'")["records"][0]["Id"])


def _owner(sf: ApiClient, lead_id: str) -> str:
    return str(sf.get(f"sobjects/Lead/{lead_id}").json()["OwnerId"])


@pytest.mark.parametrize("header", [None, "TRUE", "true"])
def test_rest_creates_run_the_default_rule(sf: ApiClient, header: str | None) -> None:
    headers = {"Sforce-Auto-Assign": header} if header else {}
    created = sf.post("sobjects/Lead", json={"LastName": "Ruled", "Company": "Co"}, headers=headers)
    assert created.status_code == 201, created.text
    assert _owner(sf, created.json()["id"]) == _user(sf, "admin@example.com")


def test_false_keeps_the_given_or_calling_owner(sf: ApiClient) -> None:
    off = {"Sforce-Auto-Assign": "FALSE"}
    mine = sf.post("sobjects/Lead", json={"LastName": "Mine", "Company": "Co"}, headers=off)
    assert _owner(sf, mine.json()["id"]) == _user(sf, "sync@example.com")
    body = {
        "allOrNone": False,
        "records": [
            {
                "attributes": {"type": "Lead"},
                "LastName": "Kept",
                "Company": "Co",
                "OwnerId": _user(sf, "sync@example.com"),
                "LeadSync_Id__c": "77",
            }
        ],
    }
    [result] = sf.patch("composite/sobjects/Lead/LeadSync_Id__c", json=body, headers=off).json()
    assert result["created"] is True
    assert _owner(sf, result["id"]) == _user(sf, "sync@example.com")


def test_collection_creates_and_upserts_follow_the_rule_and_updates_do_not(
    sf: ApiClient,
) -> None:
    admin = _user(sf, "admin@example.com")
    sync = _user(sf, "sync@example.com")
    body = {
        "allOrNone": False,
        "records": [
            {
                "attributes": {"type": "Lead"},
                "LastName": "Up",
                "Company": "Co",
                "LeadSync_Id__c": "78",
                "OwnerId": sync,
            }
        ],
    }
    [created] = sf.patch("composite/sobjects/Lead/LeadSync_Id__c", json=body).json()
    assert _owner(sf, created["id"]) == admin  # the rule overrides a given owner
    [updated] = sf.patch("composite/sobjects/Lead/LeadSync_Id__c", json=body).json()
    assert updated["created"] is False
    assert _owner(sf, created["id"]) == sync  # an update keeps the owner it is given
    many = {
        "allOrNone": False,
        "records": [{"attributes": {"type": "Lead"}, "LastName": "C", "Company": "Co"}],
    }
    [made] = sf.post("composite/sobjects", json=many).json()
    assert _owner(sf, made["id"]) == admin


def test_a_queue_rule_and_no_rule() -> None:
    definition = orgfile.load()
    assert definition.assignment_rule is not None
    queued = orgfile.from_mapping(
        {
            "queues": [{"name": "Inbound Leads", "objects": ["Lead"]}],
            "assignment_rule": {"name": "Queue them", "owner": "Inbound Leads"},
        }
    )
    org = Org(queued)
    try:
        owner = org.assignment_owner("Lead")
        assert owner is not None and owner.startswith("00G")
        assert org.assignment_owner("Contact") is None
    finally:
        org.close()
    bare = Org(orgfile.from_mapping({}))
    try:
        assert bare.assignment_owner("Lead") is None
    finally:
        bare.close()
