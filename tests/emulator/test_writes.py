"""Validated DML (`emulator.writes`): the org's rules, per record, with Salesforce's codes."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from leadsync.emulator import writes
from leadsync.emulator.dml import system_insert
from leadsync.emulator.errors import SalesforceError
from leadsync.emulator.org import Org
from leadsync.emulator.schema import Profile, ValidationRule
from leadsync.emulator.sessions import Session

from ..conftest import login


@pytest.fixture
def sync(org: Org) -> Session:
    return org.sessions.validate(login(org, "sync@example.com"))


@pytest.fixture
def admin(org: Org) -> Session:
    return org.sessions.validate(login(org, "admin@example.com"))


def lead(**values: Any) -> dict[str, Any]:
    return {"LastName": "Lovelace", "Company": "Analytical Engines", **values}


def row(org: Org, object_name: str, record_id: str) -> dict[str, Any]:
    obj = org.schema.get(object_name)
    assert obj is not None
    found = org.store.fetch_one(org.store.reader(), obj, record_id)
    assert found is not None
    return found


def only_error(result: writes.SaveResult) -> SalesforceError:
    assert not result.success and result.id is None
    assert len(result.errors) == 1, result.errors
    return result.errors[0]


def create_one(org: Org, session: Session, obj: str, values: dict[str, Any]) -> writes.SaveResult:
    [result] = writes.create(org, session, [(obj, values)])
    return result


def count(org: Org, object_name: str) -> int:
    return int(org.store.reader().execute(f'SELECT COUNT(*) FROM "{object_name}"').fetchone()[0])


# -- create: maintained fields -----------------------------------------------------------------


def test_create_fills_audit_owner_name_and_defaults(org: Org, sync: Session) -> None:
    org.clock.freeze(1_790_000_000)
    result = create_one(
        org,
        sync,
        "lead",
        {
            "firstname": "Ada",
            "LastName": "Lovelace",
            "Company": "AE",
            "attributes": {"type": "Lead"},
        },
    )
    assert result.success and result.errors == [] and result.created is None
    assert result.as_json() == {"id": result.id, "success": True, "errors": []}
    assert result.id is not None and result.id.startswith("00Q") and len(result.id) == 18
    stored = row(org, "Lead", result.id)
    assert stored["Name"] == "Ada Lovelace"
    assert stored["OwnerId"] == sync.user_id
    assert stored["CreatedById"] == stored["LastModifiedById"] == sync.user_id
    assert stored["CreatedDate"] == stored["LastModifiedDate"] == stored["SystemModstamp"]
    assert stored["CreatedDate"] == 1_790_000_000
    assert stored["Status"] == "Open - Not Contacted"
    assert stored["IsDeleted"] == 0 and stored["DoNotCall"] == 0 and stored["IsConverted"] == 0


def test_update_moves_modstamp_and_recomputes_name(org: Org, sync: Session, admin: Session) -> None:
    org.clock.freeze(1_790_000_000)
    created = create_one(org, sync, "Lead", lead(FirstName="Ada"))
    assert created.id is not None
    org.clock.advance(90)
    [result] = writes.update(org, admin, [("Lead", created.id[:15], {"FirstName": "Augusta"})])
    assert result.success and result.id == created.id and result.created is None
    stored = row(org, "Lead", created.id)
    assert stored["Name"] == "Augusta Lovelace"
    assert stored["CreatedDate"] == 1_790_000_000
    assert stored["LastModifiedDate"] == stored["SystemModstamp"] == 1_790_000_090
    assert stored["CreatedById"] == sync.user_id and stored["LastModifiedById"] == admin.user_id


def test_opportunity_and_task_flags_follow_stage_and_status(org: Org, sync: Session) -> None:
    won = create_one(
        org,
        sync,
        "Opportunity",
        {"Name": "Deal", "StageName": "Closed Won", "CloseDate": "2026-01-31"},
    )
    assert won.id is not None
    assert (
        row(org, "Opportunity", won.id)["IsClosed"],
        row(org, "Opportunity", won.id)["IsWon"],
    ) == (1, 1)
    [lost] = writes.update(org, sync, [("Opportunity", won.id, {"StageName": "Closed Lost"})])
    assert lost.success
    assert row(org, "Opportunity", won.id)["IsClosed"] == 1
    assert row(org, "Opportunity", won.id)["IsWon"] == 0
    task = create_one(org, sync, "Task", {"Subject": "Call", "Status": "Completed"})
    assert task.id is not None and row(org, "Task", task.id)["IsClosed"] == 1
    writes.update(org, sync, [("Task", task.id, {"Status": "In Progress"})])
    assert row(org, "Task", task.id)["IsClosed"] == 0


# -- create: field rules -----------------------------------------------------------------------


def test_unknown_field_is_invalid_field(org: Org, sync: Session) -> None:
    error = only_error(create_one(org, sync, "Lead", lead(Shoe_Size__c=44)))
    assert error.code == "INVALID_FIELD"
    assert error.message == "No such column 'Shoe_Size__c' on sobject of type Lead"


def test_field_hidden_by_fls_is_invalid_field(org: Org, sync: Session, admin: Session) -> None:
    error = only_error(create_one(org, sync, "Lead", lead(Internal_Notes__c="secret")))
    assert error.code == "INVALID_FIELD"
    assert "Internal_Notes__c" in error.message
    assert create_one(org, admin, "Lead", lead(Internal_Notes__c="secret")).success


def test_read_only_fields_are_refused(org: Org, sync: Session) -> None:
    error = only_error(create_one(org, sync, "Lead", lead(Name="X", IsConverted=True)))
    assert error.code == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert error.message.startswith("Unable to create/update fields: Name, IsConverted. Please")
    assert error.fields == ["Name", "IsConverted"]


def test_profile_read_only_field_is_refused(org: Org, sync: Session) -> None:
    locked = dataclasses.replace(
        sync, profile=Profile("Locked", readonly_fields=frozenset({"lead.title"}))
    )
    error = only_error(create_one(org, locked, "Lead", lead(Title="CEO")))
    assert error.code == "INVALID_FIELD_FOR_INSERT_UPDATE" and error.fields == ["Title"]
    assert create_one(org, locked, "Lead", lead()).success


def test_not_updateable_field_is_refused_on_update(org: Org, sync: Session) -> None:
    campaign = create_one(org, sync, "Campaign", {"Name": "Spring"})
    person = create_one(org, sync, "Lead", lead())
    member = create_one(
        org, sync, "CampaignMember", {"CampaignId": campaign.id, "LeadId": person.id}
    )
    assert member.id is not None
    [result] = writes.update(org, sync, [("CampaignMember", member.id, {"LeadId": person.id})])
    assert only_error(result).code == "INVALID_FIELD_FOR_INSERT_UPDATE"


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"NumberOfEmployees": "many"}, "INVALID_TYPE_ON_FIELD_IN_RECORD"),
        ({"DoNotCall": "perhaps"}, "INVALID_TYPE_ON_FIELD_IN_RECORD"),
        ({"LastName": {"nested": 1}}, "INVALID_TYPE_ON_FIELD_IN_RECORD"),
        ({"OwnerId": "not-an-id"}, "MALFORMED_ID"),
        ({"OwnerId": 42}, "INVALID_TYPE_ON_FIELD_IN_RECORD"),
    ],
)
def test_values_of_the_wrong_type(
    org: Org, sync: Session, values: dict[str, Any], code: str
) -> None:
    assert only_error(create_one(org, sync, "Lead", lead(**values))).code == code


def test_required_fields_on_create_and_update(org: Org, sync: Session) -> None:
    error = only_error(create_one(org, sync, "Lead", {"FirstName": "Ada"}))
    assert error.code == "REQUIRED_FIELD_MISSING"
    assert error.message == "Required fields are missing: [LastName, Company]"
    assert error.fields == ["LastName", "Company"]
    blank = only_error(create_one(org, sync, "Lead", lead(LastName="")))
    assert blank.fields == ["LastName"]
    created = create_one(org, sync, "Lead", lead())
    assert created.id is not None
    [result] = writes.update(org, sync, [("Lead", created.id, {"LastName": None})])
    error = only_error(result)
    assert error.code == "REQUIRED_FIELD_MISSING" and error.fields == ["LastName"]
    [ok] = writes.update(org, sync, [("Lead", created.id, {"Title": None})])
    assert ok.success


def test_string_too_long(org: Org, sync: Session) -> None:
    error = only_error(create_one(org, sync, "Lead", lead(LastName="x" * 81)))
    assert error.code == "STRING_TOO_LONG"
    assert error.message == f"Last Name: data value too large: {'x' * 81} (max length=80)"
    assert create_one(org, sync, "Lead", lead(LastName="x" * 80)).success


def test_invalid_email(org: Org, sync: Session) -> None:
    error = only_error(create_one(org, sync, "Lead", lead(Email="ada at example")))
    assert error.code == "INVALID_EMAIL_ADDRESS"
    assert error.message == "Email: invalid email address: ada at example"
    assert error.fields == ["Email"]
    assert create_one(org, sync, "Lead", lead(Email="ada@example.com")).success


def test_restricted_picklist(org: Org, sync: Session) -> None:
    error = only_error(create_one(org, sync, "Lead", lead(Preferred_Language__c="Klingon")))
    assert error.code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert error.message == "Preferred Language: bad value for restricted picklist field: Klingon"
    ok = create_one(org, sync, "Lead", lead(Preferred_Language__c="French"))
    assert ok.id is not None and row(org, "Lead", ok.id)["Preferred_Language__c"] == "French"
    # An unrestricted picklist takes any value.
    assert create_one(org, sync, "Lead", lead(Industry="Space Mining")).success


def test_reference_targets_must_exist_be_live_and_of_the_right_type(
    org: Org, sync: Session
) -> None:
    account = create_one(org, sync, "Account", {"Name": "Acme"})
    person = create_one(org, sync, "Lead", lead())
    assert account.id is not None and person.id is not None
    assert create_one(org, sync, "Contact", {"LastName": "A", "AccountId": account.id}).success
    missing = account.id[:3] + "5e000000ZZZZ"
    error = only_error(create_one(org, sync, "Contact", {"LastName": "A", "AccountId": missing}))
    assert error.code == "INVALID_CROSS_REFERENCE_KEY" and error.fields == ["AccountId"]
    wrong = only_error(create_one(org, sync, "Contact", {"LastName": "A", "AccountId": person.id}))
    assert wrong.code == "MALFORMED_ID"
    assert wrong.message == f"Account ID: id value of incorrect type: {person.id}"
    writes.delete(org, sync, [account.id])
    gone = only_error(create_one(org, sync, "Contact", {"LastName": "A", "AccountId": account.id}))
    assert gone.code == "ENTITY_IS_DELETED"


def test_unique_external_id_against_store_and_batch(org: Org, sync: Session) -> None:
    first = create_one(org, sync, "Lead", lead(LeadSync_Id__c="p-1"))
    error = only_error(create_one(org, sync, "Lead", lead(LeadSync_Id__c="P-1")))
    assert error.code == "DUPLICATE_VALUE"
    assert error.message == (
        f"duplicate value found: LeadSync_Id__c duplicates value on record with id: {first.id}"
    )
    a, b = writes.create(
        org, sync, [("Lead", lead(LeadSync_Id__c="p-2")), ("Lead", lead(LeadSync_Id__c="p-2"))]
    )
    assert a.success and only_error(b).code == "DUPLICATE_VALUE"
    assert first.id is not None
    [same] = writes.update(org, sync, [("Lead", first.id, {"LeadSync_Id__c": "p-1"})])
    assert same.success


def test_validation_rules_run_on_the_record_after_the_write(org: Org, sync: Session) -> None:
    error = only_error(create_one(org, sync, "Lead", lead(Phone="call me")))
    assert error.code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert error.message == "Phone must contain only digits, spaces and + ( ) . -"
    assert error.fields == ["Phone"]
    negative = only_error(create_one(org, sync, "Lead", lead(NumberOfEmployees=-3)))
    assert negative.message == "Number of employees cannot be negative."
    ok = create_one(org, sync, "Lead", lead(Phone="+46 8 123 456", NumberOfEmployees=0))
    assert ok.id is not None
    # A stored bad value fails the next update even when the update does not touch it.
    with org.store.write() as conn:
        conn.execute('UPDATE "Lead" SET "Phone" = ? WHERE "Id" = ?', ("bad!", ok.id))
    [result] = writes.update(org, sync, [("Lead", ok.id, {"Title": "CEO"})])
    assert only_error(result).code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"


def test_duplicate_rules_compare_case_insensitively(org: Org, sync: Session) -> None:
    rules = org.schema.duplicate_rules
    rules[:] = [dataclasses.replace(r, active=True) for r in rules]
    assert create_one(org, sync, "Lead", lead(Email="ada@example.com")).success
    error = only_error(create_one(org, sync, "Lead", lead(Email="ADA@example.com")))
    assert error.code == "DUPLICATES_DETECTED" and error.message == "Use one of these records?"
    assert create_one(org, sync, "Lead", lead()).success  # empty values never match
    assert create_one(org, sync, "Lead", lead(Email="grace@example.com")).success


def test_campaign_member_needs_a_person_and_joins_once(org: Org, sync: Session) -> None:
    campaign = create_one(org, sync, "Campaign", {"Name": "Spring"})
    person = create_one(org, sync, "Lead", lead())
    error = only_error(create_one(org, sync, "CampaignMember", {"CampaignId": campaign.id}))
    assert error.code == "REQUIRED_FIELD_MISSING"
    member = {"CampaignId": campaign.id, "LeadId": person.id}
    assert create_one(org, sync, "CampaignMember", member).success
    again = only_error(create_one(org, sync, "CampaignMember", member))
    assert again.code == "DUPLICATE_VALUE" and again.message == "Already a campaign member."
    a, b = writes.create(org, sync, [("CampaignMember", member), ("CampaignMember", member)])
    assert only_error(a).code == only_error(b).code == "DUPLICATE_VALUE"


def test_converted_and_deleted_records_refuse_updates(org: Org, sync: Session) -> None:
    converted = create_one(org, sync, "Lead", lead())
    doomed = create_one(org, sync, "Lead", lead())
    assert converted.id is not None and doomed.id is not None
    with org.store.write() as conn:
        conn.execute('UPDATE "Lead" SET "IsConverted" = 1 WHERE "Id" = ?', (converted.id,))
    writes.delete(org, sync, [doomed.id])
    first, second = writes.update(
        org, sync, [("Lead", converted.id, {"Title": "x"}), ("Lead", doomed.id, {"Title": "x"})]
    )
    assert only_error(first).code == "CANNOT_UPDATE_CONVERTED_LEAD"
    assert only_error(second).code == "ENTITY_IS_DELETED"
    assert only_error(second).message == "entity is deleted"


def test_update_with_bad_ids(org: Org, sync: Session) -> None:
    account = create_one(org, sync, "Account", {"Name": "Acme"})
    assert account.id is not None
    results = writes.update(
        org,
        sync,
        [
            ("Lead", "garbage", {"Title": "x"}),
            ("Lead", account.id, {"Title": "x"}),
            ("Lead", "00Q5e000000ZZZZ", {"Title": "x"}),
        ],
    )
    assert [only_error(r).code for r in results] == [
        "MALFORMED_ID",
        "MALFORMED_ID",
        "INVALID_CROSS_REFERENCE_KEY",
    ]


def test_unknown_object_is_a_request_error(org: Org, sync: Session) -> None:
    with pytest.raises(SalesforceError) as caught:
        writes.create(org, sync, [("Spaceship__c", {"Name": "x"})])
    assert caught.value.code == "INVALID_TYPE"
    hidden = dataclasses.replace(
        sync, profile=Profile("NoLeads", hidden_objects=frozenset({"lead"}))
    )
    with pytest.raises(SalesforceError):
        writes.create(org, hidden, [("Lead", lead())])


# -- batches -----------------------------------------------------------------------------------


def test_partial_success_keeps_order_and_writes_the_valid(org: Org, sync: Session) -> None:
    before = count(org, "Lead")
    results = writes.create(
        org,
        sync,
        [
            ("Lead", lead()),
            ("Lead", {"LastName": "x"}),
            ("Contact", {"LastName": "C"}),
            ("Lead", lead()),
        ],
    )
    assert [r.success for r in results] == [True, False, True, True]
    assert results[2].id is not None and results[2].id.startswith("003")
    assert results[1].as_json() == {
        "success": False,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [Company]",
                "fields": ["Company"],
            }
        ],
    }
    assert count(org, "Lead") == before + 2


def test_all_or_none_rolls_back_everything(org: Org, sync: Session) -> None:
    before = (count(org, "Lead"), count(org, "Contact"))
    results = writes.create(
        org,
        sync,
        [("Lead", lead()), ("Contact", {"LastName": "C"}), ("Lead", lead(Email="bad"))],
        all_or_none=True,
    )
    assert [r.success for r in results] == [False, False, False]
    assert [r.errors[0].code for r in results] == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "INVALID_EMAIL_ADDRESS",
    ]
    assert results[0].errors[0].message == (
        "Record rolled back because not all records were valid and the request was using "
        "AllOrNone header"
    )
    assert (count(org, "Lead"), count(org, "Contact")) == before
    kept = create_one(org, sync, "Lead", lead())
    assert kept.id is not None
    [bad] = writes.update(
        org,
        sync,
        [("Lead", kept.id, {"Title": "changed"}), ("Lead", kept.id[:3] + "5e000000ZZZZ", {})],
        all_or_none=True,
    )[1:]
    assert not bad.success and row(org, "Lead", kept.id)["Title"] is None


# -- upsert ------------------------------------------------------------------------------------


def test_upsert_inserts_updates_and_refuses_ambiguous_matches(org: Org, sync: Session) -> None:
    first = writes.upsert(
        org,
        sync,
        "Lead",
        "leadsync_id__c",
        [lead(LeadSync_Id__c="u-1"), lead(LeadSync_Id__c="u-2")],
    )
    assert [(r.success, r.created) for r in first] == [(True, True), (True, True)]
    second = writes.upsert(
        org, sync, "Lead", "LeadSync_Id__c", [{"LeadSync_Id__c": "U-1", "Title": "CTO"}]
    )
    assert second[0].success and second[0].created is False and second[0].id == first[0].id
    assert second[0].as_json()["created"] is False
    assert first[0].id is not None and row(org, "Lead", first[0].id)["Title"] == "CTO"
    twins = system_insert(org, "Lead", [lead(LeadSync_Id__c="twin"), lead(LeadSync_Id__c="twin")])
    [ambiguous] = writes.upsert(
        org, sync, "Lead", "LeadSync_Id__c", [{"LeadSync_Id__c": "twin", "Title": "x"}]
    )
    error = only_error(ambiguous)
    assert error.code == "DUPLICATE_EXTERNAL_ID"
    assert error.message == (
        "LeadSync_Id__c: more than one record found for external id field: "
        f"[{', '.join(sorted(twins))}]"
    )
    [missing] = writes.upsert(org, sync, "Lead", "LeadSync_Id__c", [lead()])
    assert not missing.success


def test_upsert_needs_an_external_id_field(org: Org, sync: Session) -> None:
    with pytest.raises(SalesforceError) as caught:
        writes.upsert(org, sync, "Lead", "Email", [lead(Email="a@b.co")])
    assert caught.value.status == 404 and caught.value.code == "NOT_FOUND"
    assert caught.value.message == (
        "Provided external ID field does not exist or is not accessible: Email"
    )
    by_id = writes.upsert(org, sync, "Lead", "Id", [lead(Id=None)])
    assert by_id[0].success and by_id[0].created is True


# -- delete ------------------------------------------------------------------------------------


def test_delete_bins_cascades_and_undeletes(org: Org, sync: Session) -> None:
    org.clock.freeze(1_790_000_000)
    account = create_one(org, sync, "Account", {"Name": "Acme"})
    contact = create_one(org, sync, "Contact", {"LastName": "C", "AccountId": account.id})
    opportunity = create_one(
        org,
        sync,
        "Opportunity",
        {
            "Name": "D",
            "StageName": "Prospecting",
            "CloseDate": "2026-03-01",
            "AccountId": account.id,
        },
    )
    campaign = create_one(org, sync, "Campaign", {"Name": "Spring"})
    member = create_one(
        org, sync, "CampaignMember", {"CampaignId": campaign.id, "ContactId": contact.id}
    )
    assert account.id and contact.id and opportunity.id and member.id
    org.clock.advance(60)
    [result] = writes.delete(org, sync, [account.id])
    assert result.success and result.id == account.id
    for obj, record_id in (
        ("Account", account.id),
        ("Contact", contact.id),
        ("Opportunity", opportunity.id),
        ("CampaignMember", member.id),
    ):
        stored = row(org, obj, record_id)
        assert stored["IsDeleted"] == 1 and stored["SystemModstamp"] == 1_790_000_060
        assert stored["LastModifiedDate"] == 1_790_000_000
    [again] = writes.delete(org, sync, [account.id])
    assert only_error(again).code == "ENTITY_IS_DELETED"
    org.clock.advance(60)
    [restored] = writes.undelete(org, sync, [account.id])
    assert restored.success
    assert row(org, "Contact", contact.id)["IsDeleted"] == 0
    assert row(org, "CampaignMember", member.id)["IsDeleted"] == 0
    assert row(org, "Account", account.id)["SystemModstamp"] == 1_790_000_120


def test_delete_lead_takes_its_memberships_and_reports_bad_ids(org: Org, sync: Session) -> None:
    campaign = create_one(org, sync, "Campaign", {"Name": "Spring"})
    person = create_one(org, sync, "Lead", lead())
    member = create_one(
        org, sync, "CampaignMember", {"CampaignId": campaign.id, "LeadId": person.id}
    )
    assert person.id and member.id
    users = [sync.user_id]
    results = writes.delete(org, sync, [person.id, "nonsense", users[0], person.id])
    assert results[0].success
    assert [only_error(r).code for r in results[1:]] == [
        "MALFORMED_ID",
        "INSUFFICIENT_ACCESS_OR_READONLY",
        "DUPLICATE_ID",
    ]
    assert row(org, "CampaignMember", member.id)["IsDeleted"] == 1


def test_delete_all_or_none(org: Org, sync: Session) -> None:
    person = create_one(org, sync, "Lead", lead())
    assert person.id is not None
    results = writes.delete(org, sync, [person.id, "00Q5e000000ZZZZ"], all_or_none=True)
    assert results[0].errors[0].code == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert row(org, "Lead", person.id)["IsDeleted"] == 0


@pytest.mark.parametrize(
    ("kind", "rule_value", "bad", "good"),
    [
        ("required", None, None, "x"),
        ("max_length", 3, "abcd", "abc"),
        ("one_of", ["CEO", "CTO"], "Intern", "cto"),
        ("less_than", 100, 100, 99),
        ("greater_than", 0, 0, 1),
        ("regex", "[A-Z]+", "abc", "ABC"),
    ],
)
def test_each_validation_rule_kind(
    org: Org, sync: Session, kind: str, rule_value: Any, bad: Any, good: Any
) -> None:
    target = "NumberOfEmployees" if kind in ("less_than", "greater_than") else "Title"
    org.schema.validation_rules[:] = [
        ValidationRule("Lead", "Rule", target, kind, "Rule says no.", rule_value)
    ]
    error = only_error(create_one(org, sync, "Lead", lead(**{target: bad})))
    assert (error.code, error.message, error.fields) == (
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "Rule says no.",
        [target],
    )
    assert create_one(org, sync, "Lead", lead(**{target: good})).success


def test_parents_can_be_named_by_external_id(org: Org, sync: Session) -> None:
    person = create_one(org, sync, "Lead", lead(LeadSync_Id__c="p-7"))
    campaign = create_one(org, sync, "Campaign", {"Name": "Spring"})
    member = create_one(
        org,
        sync,
        "CampaignMember",
        {
            "CampaignId": campaign.id,
            "Lead": {"attributes": {"type": "Lead"}, "LeadSync_Id__c": "P-7"},
        },
    )
    assert member.id is not None
    assert row(org, "CampaignMember", member.id)["LeadId"] == person.id
    interest = create_one(
        org, sync, "Product_Interest__c", {"Name": "x", "lead__r": {"LeadSync_Id__c": "p-7"}}
    )
    assert interest.id is not None
    assert row(org, "Product_Interest__c", interest.id)["Lead__c"] == person.id
    missing = only_error(
        create_one(org, sync, "Product_Interest__c", {"Lead__r": {"LeadSync_Id__c": "nobody"}})
    )
    assert missing.code == "INVALID_FIELD"
    assert missing.message == (
        "Foreign key external ID: nobody not found for field LeadSync_Id__c in entity Lead"
    )
    not_external = only_error(
        create_one(org, sync, "Product_Interest__c", {"Lead__r": {"Email": "a@b.co"}})
    )
    assert not_external.message == (
        "Field name provided, Email is not an External ID or indexed field for Lead"
    )


def test_objects_that_refuse_the_operation_and_non_record_values(org: Org, admin: Session) -> None:
    [profile] = writes.create(org, admin, [("Profile", {"Name": "Hacker"})])
    assert only_error(profile).code == "INVALID_TYPE_FOR_OPERATION"
    first, second = writes.create(org, admin, [("Lead", ["not", "a", "record"]), ("Lead", lead())])  # type: ignore[list-item]
    assert only_error(first).code == "JSON_PARSER_ERROR" and second.success
    error = only_error(create_one(org, admin, "Lead", lead(Id="00Q5e000000ZZZZ")))
    assert error.code == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert error.message == "cannot specify Id in an insert call"
