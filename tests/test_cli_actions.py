"""The other flow actions through `leadsync person ...`: campaigns, owner, task, delete."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from leadsync.db import LeadDatabase

from .cli_support import Served, invoke, served_org, sf_query


@pytest.fixture
def synced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    for served in served_org(tmp_path, monkeypatch, records=30):
        result = invoke("sync", "--once")
        assert result.code == 0, result.output
        yield served


def a_lead(served: Served) -> dict[str, object]:
    with LeadDatabase.open(served.db_url) as db:
        return next(p for p in db.find_persons(sfdcType="Lead") if p["email"])


def test_campaign_actions_add_change_status_and_remove(synced: Served) -> None:
    created = invoke(
        "person",
        "create",
        "--set",
        "email=ada@example.com",
        "--set",
        "lastName=Lovelace",
        "--json",
    ).json()
    [campaign] = sf_query(synced, "SELECT Id, Name FROM Campaign ORDER BY Name LIMIT 1")
    [status] = sf_query(
        synced,
        "SELECT Label FROM CampaignMemberStatus WHERE CampaignId = "
        f"'{campaign['Id']}' AND IsDefault = false LIMIT 1",
    )
    pid = str(created["id"])
    added = invoke("person", "add-to-campaign", pid, campaign["Name"], "--json")
    assert added.code == 0, added.output
    assert added.json()["done"] is True and added.json()["action"] == "Add to SFDC Campaign"
    assert added.json()["synced"] is True  # not in Salesforce yet: synced first (implied)
    lead = invoke("person", "get", pid, "--json").json()
    assert lead["sfdcLeadId"].startswith("00Q")
    again = invoke("person", "add-to-campaign", pid, campaign["Id"])
    assert again.code == 0 and "skipped" in again.stdout  # an existing member is skipped
    changed = invoke("person", "change-campaign-status", pid, campaign["Id"], status["Label"])
    assert changed.code == 0, changed.output
    where = f"CampaignId = '{campaign['Id']}' AND LeadId = '{lead['sfdcLeadId']}'"
    [member] = sf_query(synced, f"SELECT Status FROM CampaignMember WHERE {where}")
    assert member["Status"] == status["Label"]
    removed = invoke("person", "remove-from-campaign", pid, campaign["Id"], "--json")
    assert removed.code == 0 and removed.json()["done"] is True
    assert sf_query(synced, f"SELECT Id FROM CampaignMember WHERE {where}") == []
    unknown = invoke("person", "add-to-campaign", pid, "No Such Campaign")
    assert unknown.code == 2 and "No Such Campaign" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1


def test_change_owner_create_task_and_delete(synced: Served) -> None:
    lead = a_lead(synced)
    pid, lead_id = str(lead["id"]), str(lead["sfdcLeadId"])
    [user] = sf_query(synced, "SELECT Id FROM User WHERE Username = 'admin@example.com'")
    owner = invoke("person", "change-owner", pid, user["Id"], "--json")
    assert owner.code == 0, owner.output
    [record] = sf_query(synced, f"SELECT OwnerId FROM Lead WHERE Id = '{lead_id}'")
    assert record["OwnerId"] == user["Id"]
    task = invoke("person", "create-task", pid, "--subject", "Call {{lead.lastName}}", "--json")
    assert task.code == 0, task.output
    task_id = task.json()["taskId"]
    [made] = sf_query(synced, f"SELECT Subject, WhoId FROM Task WHERE Id = '{task_id}'")
    assert made == {**made, "Subject": f"Call {lead['lastName']}", "WhoId": lead_id}
    gone = invoke("person", "delete-from-salesforce", pid, "--json")
    assert gone.code == 0, gone.output
    assert gone.json()["sfdcIsDeleted"] is True
    assert sf_query(synced, f"SELECT Id FROM Lead WHERE Id = '{lead_id}'") == []
    missing = invoke("person", "change-owner", "999999", user["Id"])
    assert missing.code == 4 and len(missing.stderr.strip().splitlines()) == 1
