from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert, update

from leadsync.db import PERSON_FIELDS, LeadDatabase
from leadsync.db.schema import companies, owners, persons
from leadsync.errors import PersonNotFound, ValidationError

from .conftest import Field

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_create_returns_person_json_with_every_standard_field(database: LeadDatabase) -> None:
    person = database.create_person(
        {
            "email": "ada@example.com",
            "firstName": "Ada",
            "lastName": "Lovelace",
            "company": "Analytical Engines",
            "leadScore": "42",
            "unsubscribed": False,
        }
    )
    assert set(person) == {f.name for f in PERSON_FIELDS}
    assert isinstance(person["id"], int)
    assert person["email"] == "ada@example.com"
    assert person["company"] == "Analytical Engines"
    assert person["leadScore"] == 42
    assert person["sfdcType"] is None and person["sfdcId"] is None
    assert person["sfdcIsDeleted"] is False and person["doNotCall"] is False
    assert person["createdAt"].endswith("Z") and person["updatedAt"] == person["createdAt"]
    assert database.get_person(person["id"]) == person


def test_get_by_email_is_case_insensitive_and_takes_the_oldest(database: LeadDatabase) -> None:
    first = database.create_person({"email": "Dup@Example.com"})
    database.create_person({"email": "dup@example.com"})
    assert database.get_person_by_email("DUP@example.COM")["id"] == first["id"]
    assert len(database.find_persons(email="dup@example.com")) == 2


def test_missing_person_raises(database: LeadDatabase) -> None:
    with pytest.raises(PersonNotFound):
        database.get_person(999_999)
    with pytest.raises(PersonNotFound):
        database.get_person_by_email("nobody@example.com")
    with pytest.raises(PersonNotFound):
        database.update_person(999_999, {"title": "x"})


def test_update_changes_only_the_given_fields(database: LeadDatabase) -> None:
    person = database.create_person({"email": "a@example.com", "title": "Engineer"})
    updated = database.update_person(person["id"], {"title": "CTO", "doNotCall": "true"})
    assert updated["title"] == "CTO" and updated["doNotCall"] is True
    assert updated["email"] == "a@example.com"
    assert database.get_person(person["id"]) == updated


def test_find_filters_on_standard_fields(database: LeadDatabase) -> None:
    a = database.create_person({"lastName": "A", "city": "Paris", "industry": "Energy"})
    b = database.create_person({"lastName": "B", "city": "Paris"})
    database.create_person({"lastName": "C", "city": "Lyon"})
    assert [p["id"] for p in database.find_persons(city="Paris")] == [a["id"], b["id"]]
    assert [p["id"] for p in database.find_persons(city="Paris", industry=None)] == [b["id"]]
    assert [p["id"] for p in database.find_persons(industry="Energy")] == [a["id"]]
    assert [p["id"] for p in database.find_persons(limit=1, offset=1)] == [b["id"]]
    assert len(database.find_persons(sfdcType=None)) == 3
    with pytest.raises(ValidationError) as caught:
        database.find_persons(noSuchField=1)
    assert caught.value.field == "noSuchField"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"leadScore": "many"}, "leadScore"),
        ({"unsubscribed": "perhaps"}, "unsubscribed"),
        ({"annualRevenue": True}, "annualRevenue"),
        ({"firstName": ["a", "list"]}, "firstName"),
        ({"favouriteColour": "blue"}, "favouriteColour"),  # unknown: not a registered field
        ({"sfdcType": "Lead"}, "sfdcType"),  # sync fields are read-only locally
        ({"leadOwnerEmail": "o@example.com"}, "leadOwnerEmail"),  # owner fields too
        ({"id": 5}, "id"),
    ],
)
def test_validation_errors_name_the_record_and_field(
    database: LeadDatabase, fields: dict[str, object], field: str
) -> None:
    person = database.create_person({"email": "v@example.com", "title": "Before"})
    with pytest.raises(ValidationError) as caught:
        database.update_person(person["id"], {"title": "After", **fields})
    assert caught.value.field == field
    assert caught.value.record_id == person["id"]
    assert repr(field) in str(caught.value) and str(person["id"]) in str(caught.value)
    assert database.get_person(person["id"])["title"] == "Before"  # nothing written
    with pytest.raises(ValidationError) as on_create:
        database.create_person(fields)
    assert on_create.value.field == field and on_create.value.record_id is None


def test_custom_fields_are_stored_validated_and_flattened(database: LeadDatabase) -> None:
    database.record_describe(
        "Lead", [Field("Email"), Field("Colour__c"), Field("Seats__c", "double")]
    )
    database.record_describe("Contact", [Field("Colour__c")])
    database.record_describe("Account", [Field("Tier__c", "picklist")])
    person = database.create_person({"lastName": "C", "Colour__c": "blue", "Seats__c": "3"})
    assert person["Colour__c"] == "blue" and person["Seats__c"] == 3.0
    updated = database.update_person(person["id"], {"Colour__c": "green", "Tier__c": "Gold"})
    assert updated["Colour__c"] == "green" and updated["Tier__c"] == "Gold"
    assert updated["Seats__c"] == 3.0
    assert database.get_person(person["id"]) == updated
    with pytest.raises(ValidationError) as caught:
        database.update_person(person["id"], {"Seats__c": "lots"})
    assert caught.value.field == "Seats__c"


def test_a_field_that_disappears_keeps_its_values(database: LeadDatabase) -> None:
    database.record_describe("Lead", [Field("Colour__c"), Field("Size__c")])
    person = database.create_person({"Colour__c": "blue", "Size__c": "L"})
    assert database.record_describe("Lead", [Field("Size__c"), Field("New__c")]) == ["New__c"]
    fields = database.custom_fields()
    assert fields["Colour__c"].visible is False and fields["New__c"].visible is True
    assert database.get_person(person["id"])["Colour__c"] == "blue"


def test_mapping_renames_custom_fields(database: LeadDatabase) -> None:
    from leadsync.db import FieldMapping

    mapped = LeadDatabase(
        database.engine, mapping=FieldMapping.from_config({"Lead": {"Colour__c": "colour"}})
    )
    mapped.record_describe("Lead", [Field("Colour__c")])
    person = mapped.create_person({"colour": "red"})
    assert person["colour"] == "red" and "Colour__c" not in person
    assert mapped.mapping.api_name("Lead", "colour") == "Colour__c"
    assert mapped.mapping.api_name("Contact", "firstName") == "FirstName"


def test_sync_and_owner_fields_are_joined(database: LeadDatabase) -> None:
    lead = database.create_person({"lastName": "Lead"})
    contact = database.create_person({"lastName": "Contact"})
    queued = database.create_person({"lastName": "Queued"})
    with database.transaction() as conn:
        for owner in (
            {
                "sfdc_id": "005000000000001AAA",
                "first_name": "Sam",
                "last_name": "Seller",
                "email": "sam@example.com",
                "phone": "1",
                "title": "AE",
            },
            {
                "sfdc_id": "005000000000002AAA",
                "first_name": "Ann",
                "last_name": "Owner",
                "email": "ann@example.com",
            },
            {"sfdc_id": "00G000000000001AAA", "is_queue": True, "last_name": "Queue"},
        ):
            conn.execute(insert(owners).values(**owner, updated_at=NOW))
        company_id = conn.execute(
            insert(companies).values(
                sfdc_account_id="001000000000001AAA",
                name="Acme",
                sfdc_owner_id="005000000000002AAA",
                custom={"Tier__c": "Gold"},
                created_at=NOW,
                updated_at=NOW,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        for pid, values in (
            (
                lead["id"],
                {
                    "sfdc_type": "Lead",
                    "sfdc_lead_id": "00Q000000000001AAA",
                    "sfdc_owner_id": "005000000000001AAA",
                },
            ),
            (
                contact["id"],
                {
                    "sfdc_type": "Contact",
                    "sfdc_lead_id": "00Q000000000002AAA",
                    "sfdc_contact_id": "003000000000001AAA",
                    "company_id": company_id,
                    "sfdc_owner_id": "005000000000001AAA",
                },
            ),
            (
                queued["id"],
                {
                    "sfdc_type": "Lead",
                    "sfdc_lead_id": "00Q000000000003AAA",
                    "sfdc_owner_id": "00G000000000001AAA",
                },
            ),
        ):
            conn.execute(update(persons).where(persons.c.id == pid).values(**values))
    lead, contact, queued = (database.get_person(p["id"]) for p in (lead, contact, queued))
    assert (lead["sfdcType"], lead["sfdcId"], lead["sfdcLeadId"]) == (
        "Lead",
        "00Q000000000001AAA",
        "00Q000000000001AAA",
    )
    assert lead["leadOwnerEmail"] == "sam@example.com" and lead["leadOwnerTitle"] == "AE"
    assert lead["accountOwnerEmail"] is None  # leads have no account owner
    assert (contact["sfdcId"], contact["sfdcAccountId"]) == (
        "003000000000001AAA",
        "001000000000001AAA",
    )
    assert contact["accountOwnerFirstName"] == "Ann" and contact["company"] == "Acme"
    assert contact["leadOwnerLastName"] == "Seller" and contact["Tier__c"] == "Gold"
    assert all(
        queued[f] is None
        for f in (
            "leadOwnerFirstName",
            "leadOwnerLastName",
            "leadOwnerEmail",
            "leadOwnerPhone",
            "leadOwnerTitle",
        )
    )
    assert [p["id"] for p in database.find_persons(sfdcId="003000000000001AAA")] == [contact["id"]]
    assert len(database.find_persons(sfdcType="Lead")) == 2
