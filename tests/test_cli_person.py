"""`leadsync person ...` through the real entry point: person JSON (design §4 names), `--set`
parsing, errors naming the field, exit codes, and the flow actions against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from leadsync.db import LeadDatabase

from .cli_support import Served, invoke, run, served_org, sf_query

PERSON_KEYS = {
    "id",
    "email",
    "firstName",
    "lastName",
    "company",
    "title",
    "phone",
    "leadSource",
    "leadStatus",
    "industry",
    "annualRevenue",
    "numberOfEmployees",
    "sfdcType",
    "sfdcId",
    "sfdcLeadId",
    "sfdcContactId",
    "sfdcAccountId",
    "sfdcIsDeleted",
}


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    yield from served_org(tmp_path, monkeypatch, records=30)


@pytest.fixture
def synced(served: Served) -> Served:
    result = invoke("sync", "--once")
    assert result.code == 0, result.output
    return served


def test_create_get_update_activities(served: Served) -> None:
    created = invoke(
        "person",
        "create",
        "--set",
        "email=ada@example.com",
        "--set",
        "lastName=Lovelace",
        "--set",
        "numberOfEmployees=42",
        "--set",
        "postalCode=02139",
        "--set",
        "doNotCall=true",
        "--json",
    )
    assert created.code == 0, created.output
    person = created.json()
    assert set(person) >= PERSON_KEYS
    assert (person["numberOfEmployees"], person["postalCode"], person["doNotCall"]) == (
        42,
        "02139",
        True,
    )
    assert person["sfdcType"] is None and person["sfdcId"] is None
    person_id = str(person["id"])

    assert invoke("person", "get", person_id, "--json").json() == person
    assert (
        invoke("person", "get", "--email", "ADA@example.com", "--json").json()["id"] == person["id"]
    )
    text = invoke("person", "get", person_id)
    assert text.code == 0 and "Lovelace" in text.stdout

    updated = invoke("person", "update", person_id, "--set", "title=Countess", "--set", "phone=")
    assert updated.code == 0 and "title" in updated.stdout
    after = invoke("person", "get", person_id, "--json").json()
    assert after["title"] == "Countess"

    activities = invoke("person", "activities", person_id, "--json").json()
    assert [a["type"] for a in activities][:2] == ["New Lead", "Change Data Value"]
    assert all({"type", "at", "attributes"} <= set(a) for a in activities)
    change = next(a for a in activities if a["type"] == "Change Data Value")
    assert (
        change["attributes"]["field"] == "title" and change["attributes"]["newValue"] == "Countess"
    )
    only = invoke("person", "activities", person_id, "--type", "New Lead", "--json").json()
    assert [a["type"] for a in only] == ["New Lead"]


def test_bad_input_names_the_field_with_exit_code_2(served: Served) -> None:
    bad_number = invoke(
        "person", "create", "--set", "lastName=X", "--set", "numberOfEmployees=many"
    )
    assert bad_number.code == 2
    assert bad_number.stderr.strip() == (
        "leadsync person create: error: new person: field 'numberOfEmployees': "
        "expected an integer, got 'many'"
    )
    unknown = invoke("person", "create", "--set", "favouriteColour=red")
    assert unknown.code == 2 and "'favouriteColour': unknown field" in unknown.stderr
    no_equals = invoke("person", "create", "--set", "lastName")
    assert no_equals.code == 2 and "expected FIELD=VALUE" in no_equals.stderr
    read_only = invoke("person", "create", "--set", "sfdcId=00Q000000000001AAA")
    assert read_only.code == 2 and "'sfdcId': read-only" in read_only.stderr
    both = invoke("person", "get", "1", "--email", "x@example.com")
    assert both.code == 2


def test_missing_person_is_exit_code_4_one_line(served: Served) -> None:
    for command in (
        ("person", "get", "999999"),
        ("person", "get", "--email", "nobody@example.com"),
        ("person", "update", "999999", "--set", "title=x"),
        ("person", "activities", "999999"),
    ):
        result = invoke(*command)
        assert result.code == 4, command
        [line] = result.stderr.strip().splitlines()
        assert "not found" in line and "Traceback" not in result.output


def test_pulled_person_json_has_the_salesforce_ids(synced: Served) -> None:
    with LeadDatabase.open(synced.db_url) as db:
        [contact] = db.find_persons(sfdcType="Contact", limit=1)
    person = invoke("person", "get", str(contact["id"]), "--json").json()
    assert person["sfdcType"] == "Contact"
    assert person["sfdcId"] == person["sfdcContactId"] and person["sfdcId"].startswith("003")
    assert person["sfdcAccountId"].startswith("001")


def test_sync_to_salesforce_creates_a_lead(synced: Served) -> None:
    created = invoke(
        "person",
        "create",
        "--set",
        "email=grace@example.com",
        "--set",
        "lastName=Hopper",
        "--set",
        "company=Navy",
        "--json",
    ).json()
    result = invoke("person", "sync-to-salesforce", str(created["id"]), "--json")
    assert result.code == 0, result.output
    person = result.json()
    assert person["sfdcType"] == "Lead" and person["sfdcLeadId"].startswith("00Q")
    [lead] = sf_query(
        synced, f"SELECT LastName, Company FROM Lead WHERE Id = '{person['sfdcLeadId']}'"
    )
    assert (lead["LastName"], lead["Company"]) == ("Hopper", "Navy")
    text = invoke("person", "sync-to-salesforce", str(created["id"]))
    assert text.code == 0 and f"is Lead {person['sfdcLeadId']}" in text.stdout


def test_convert_makes_the_lead_a_contact(synced: Served) -> None:
    with LeadDatabase.open(synced.db_url) as db:
        lead = next(p for p in db.find_persons(sfdcType="Lead") if p["email"] and p["company"])
    result = invoke(
        "person", "convert", str(lead["id"]), "--opportunity-name", "Big deal", "--json"
    )
    assert result.code == 0, result.output
    person = result.json()
    assert person["sfdcType"] == "Contact" and person["sfdcContactId"].startswith("003")
    assert person["sfdcLeadId"] == lead["sfdcLeadId"]
    [opportunity] = sf_query(synced, "SELECT Name FROM Opportunity WHERE Name = 'Big deal'")
    assert opportunity["Name"] == "Big deal"


def test_console_script_person_commands(served: Served) -> None:
    created = run(
        "person",
        "create",
        "--set",
        "lastName=Script",
        "--set",
        "email=s@example.com",
        "--json",
        env=served.env(),
    )
    assert created.code == 0, created.stderr
    person_id = str(created.json()["id"])
    got = run("person", "get", person_id, "--json", env=served.env())
    assert got.code == 0 and got.json()["lastName"] == "Script"
    missing = run("person", "get", "424242", env=served.env())
    assert missing.code == 4 and missing.stderr.count("\n") == 1
