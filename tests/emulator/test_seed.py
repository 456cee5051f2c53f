"""The demo seed: realistic, deterministic, valid under the org's rules, seeded once."""

from __future__ import annotations

import random
import string
import time
from pathlib import Path
from typing import Any

import pytest

from leadsync.emulator import ids, orgfile
from leadsync.emulator.org import Org
from leadsync.emulator.seed import DEFAULT_LEADS, SeedError, seed_org
from leadsync.emulator.server import OrgOptions, build_org
from leadsync.emulator.validation import check_value, failing_rules

from ..conftest import ApiClient

FROZEN_AT = 1_790_000_000


def rows(org: Org, object_name: str, where: str = "") -> list[dict[str, Any]]:
    conn = org.store.reader()
    cursor = conn.execute(f'SELECT * FROM "{object_name}" {where} ORDER BY "Id"')
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, values, strict=True)) for values in cursor]


def count(org: Org, object_name: str, where: str = "") -> int:
    return count_from(org, f'"{object_name}" {where}')


def count_from(org: Org, from_sql: str) -> int:
    return int(org.store.reader().execute(f"SELECT COUNT(*) FROM {from_sql}").fetchone()[0])


@pytest.fixture
def seeded(org: Org) -> Org:
    org.clock.freeze(FROZEN_AT)
    seed_org(org, "demo")
    return org


def frozen_seeded_org(records: int, chunk_size: int = 50_000) -> Org:
    org = Org()
    org.clock.freeze(FROZEN_AT)
    seed_org(org, "demo", records=records, chunk_size=chunk_size)
    return org


def test_demo_seed_builds_every_kind_of_record(seeded: Org) -> None:
    assert count(seeded, "Lead") == DEFAULT_LEADS
    assert count(seeded, "Account") == 20
    assert count(seeded, "User") > 2
    for name in (
        "Opportunity",
        "OpportunityContactRole",
        "Campaign",
        "CampaignMemberStatus",
        "CampaignMember",
        "Task",
        "Event",
        "Product_Interest__c",
    ):
        assert count(seeded, name) > 0, name
    assert count(seeded, "Group", "WHERE \"Name\" = 'Inbound Leads'") == 1


def test_accounts_have_three_to_eight_contacts_and_one_is_large(seeded: Org) -> None:
    sizes = [
        row[0]
        for row in seeded.store.reader().execute(
            'SELECT COUNT(*) FROM "Contact" GROUP BY "AccountId" ORDER BY 1'
        )
    ]
    assert len(sizes) == 20
    assert max(sizes) >= 20
    assert all(3 <= size <= 8 for size in sizes[:-1])


def test_related_records_point_at_existing_parents(seeded: Org) -> None:
    checks = [
        (
            '"OpportunityContactRole" r JOIN "Opportunity" o ON o."Id" = r."OpportunityId" '
            'JOIN "Contact" c ON c."Id" = r."ContactId"',
            "OpportunityContactRole",
        ),
        ('"CampaignMember" m JOIN "Campaign" c ON c."Id" = m."CampaignId"', "CampaignMember"),
        ('"Product_Interest__c" p JOIN "Lead" l ON l."Id" = p."Lead__c"', "Product_Interest__c"),
    ]
    for joined, name in checks:
        assert count_from(seeded, joined) == count(seeded, name), name
    members = rows(seeded, "CampaignMember")
    assert any(m["LeadId"] for m in members) and any(m["ContactId"] for m in members)
    assert all((m["LeadId"] is None) != (m["ContactId"] is None) for m in members)
    roles = rows(seeded, "OpportunityContactRole")
    assert sum(r["IsPrimary"] for r in roles) == count(seeded, "Opportunity")
    statuses = {r["Label"] for r in rows(seeded, "CampaignMemberStatus")}
    assert {m["Status"] for m in members} <= statuses
    whos = {t["WhoId"][:3] for t in rows(seeded, "Task")}
    assert whos == {"00Q", "003"}


def test_lead_owners_rotate_over_reps_and_the_queue(seeded: Org) -> None:
    queue = rows(seeded, "Group")[0]["Id"]
    owners = [row["OwnerId"] for row in rows(seeded, "Lead")]
    reps = count(seeded, "User") - 2
    assert len(set(owners)) == reps + 1
    assert queue in owners
    assert owners[: reps + 1] == owners[reps + 1 : 2 * (reps + 1)]


def test_seeded_values_pass_the_orgs_checks(seeded: Org) -> None:
    schema = seeded.schema
    for name in ("Lead", "Contact", "Account", "Opportunity", "Campaign", "Task", "Event"):
        obj = schema.get(name)
        assert obj is not None
        rules = list(schema.rules_for(name))
        for row in rows(seeded, name):
            assert failing_rules(rules, row) == [], (name, row)
            for definition in obj.stored_fields():
                value = row[definition.name]
                assert check_value(definition, value) == value, (name, definition.name)
                if definition.type == "picklist" and value is not None and name != "Lead":
                    assert value in definition.picklist_values, (name, definition.name, value)
                if not definition.nillable and definition.type != "boolean":
                    assert value is not None, (name, definition.name)
    for lead in rows(seeded, "Lead"):
        assert lead["Name"] == f"{lead['FirstName']} {lead['LastName']}"
        assert lead["Status"] in schema.get("Lead").field("Status").picklist_values  # type: ignore[union-attr]
        assert lead["LeadSync_Id__c"] is None


def test_phone_rule_is_exercised_by_every_lead_phone(seeded: Org) -> None:
    rules = [r for r in seeded.schema.rules_for("Lead") if r.field == "Phone"]
    assert rules, "the demo org declares a Phone format rule"
    phones = [row["Phone"] for row in rows(seeded, "Lead")]
    assert all(phones)
    assert all(failing_rules(rules, {"Phone": phone}) == [] for phone in phones)


def test_timestamps_are_whole_seconds_in_the_past_with_ties(seeded: Org) -> None:
    leads = rows(seeded, "Lead")
    for lead in leads:
        assert isinstance(lead["CreatedDate"], int)
        assert lead["CreatedDate"] <= lead["LastModifiedDate"] == lead["SystemModstamp"]
        assert lead["SystemModstamp"] <= FROZEN_AT
    created = [lead["CreatedDate"] for lead in leads]
    assert len(set(created)) < len(created), "several leads share a second"
    assert max(created) - min(created) > 30 * 86_400, "spread over many days"


def test_a_few_leads_are_converted_into_seeded_contacts(seeded: Org) -> None:
    converted = rows(seeded, "Lead", 'WHERE "IsConverted" = 1')
    assert converted
    contacts = {row["Id"]: row for row in rows(seeded, "Contact")}
    for lead in converted:
        assert lead["Status"] == "Closed - Converted"
        assert contacts[lead["ConvertedContactId"]]["AccountId"] == lead["ConvertedAccountId"]


def test_seed_is_deterministic_and_chunking_does_not_change_it() -> None:
    first = frozen_seeded_org(250)
    second = frozen_seeded_org(250, chunk_size=37)
    try:
        for name in ("Lead", "Contact", "Opportunity", "CampaignMember", "Task"):
            assert rows(first, name) == rows(second, name), name
    finally:
        first.close()
        second.close()


def test_records_sets_the_number_of_leads() -> None:
    org = frozen_seeded_org(1234, chunk_size=500)
    try:
        assert count(org, "Lead") == 1234
        assert count(org, "Lead", 'WHERE "Email" IS NOT NULL') == 1234
        distinct = org.store.reader().execute('SELECT COUNT(DISTINCT "Email") FROM "Lead"')
        assert distinct.fetchone()[0] == 1234
    finally:
        org.close()


def test_zero_records_means_no_leads() -> None:
    org = frozen_seeded_org(0)
    try:
        assert count(org, "Lead") == 0
        assert count(org, "Contact") > 0
    finally:
        org.close()


def test_empty_seed_keeps_only_bootstrap_rows(org: Org) -> None:
    summary = seed_org(org, "empty")
    assert summary.kind == "empty"
    assert count(org, "Lead") == 0 and count(org, "Account") == 0
    assert count(org, "User") == 2


def test_bad_seed_requests_are_refused(org: Org) -> None:
    with pytest.raises(SeedError, match="unknown seed"):
        seed_org(org, "huge")
    with pytest.raises(SeedError, match="zero or more"):
        seed_org(org, "demo", records=-1)


def test_seeding_an_existing_database_again_adds_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "org.db")
    org, summary = build_org(OrgOptions(db=path, records=50))
    assert not summary.skipped and summary.created["Lead"] == 50
    org.close()
    again, summary = build_org(OrgOptions(db=path, records=500))
    try:
        assert summary.skipped
        assert "already seeded" in summary.describe()
        assert count(again, "Lead") == 50
        assert count(again, "User") == 2 + count(again, "User", "WHERE \"Department\" = 'Sales'")
    finally:
        again.close()


def test_seeded_org_answers_soql(seeded: Org, sf: ApiClient) -> None:
    body = sf.query("SELECT COUNT() FROM Lead")
    assert body["totalSize"] == DEFAULT_LEADS
    page = sf.query("SELECT Id, Name, Company, Owner.Name FROM Lead ORDER BY Id LIMIT 3")
    assert [r["Id"] for r in page["records"]] == [r["Id"] for r in rows(seeded, "Lead")[:3]]
    assert all(r["Owner"]["Name"] for r in page["records"])


def _reference_make_id(prefix: str, sequence: int) -> str:
    """The id algorithm spelled out digit by digit (what the fast version must equal)."""
    alphabet = string.digits + string.ascii_uppercase + string.ascii_lowercase
    digits = ""
    for _ in range(10):
        sequence, remainder = divmod(sequence, 62)
        digits = alphabet[remainder] + digits
    id15 = prefix + "5e" + digits
    suffix = ""
    for block in range(3):
        bits = sum(1 << i for i, c in enumerate(id15[block * 5 : block * 5 + 5]) if c.isupper())
        suffix += (string.ascii_uppercase + "012345")[bits]
    return id15 + suffix


def test_fast_id_maker_matches_the_reference_algorithm() -> None:
    generator = random.Random(7)
    sequences = [*range(0, 5000), *(generator.randrange(62**10) for _ in range(5000)), 62**10 - 1]
    for prefix in ("00Q", "003", "a0A", "701"):
        for sequence in sequences:
            assert ids.make_id(prefix, sequence) == _reference_make_id(prefix, sequence)
    with pytest.raises(OverflowError):
        ids.make_id("00Q", 62**10)


def test_demo_seed_fits_a_bare_org_file_without_the_demo_customisations() -> None:
    definition = orgfile.from_mapping(
        {"users": [{"username": "solo@example.com", "password": "pw", "last_name": "Solo"}]}
    )
    org = Org(definition)
    try:
        summary = seed_org(org, "demo", records=120)
        assert summary.created["Lead"] == 120
        assert "Product_Interest__c" not in summary.created
        assert count(org, "Group") == 0
        owners = {row["OwnerId"][:3] for row in rows(org, "Lead")}
        assert owners == {"005"}
    finally:
        org.close()


def test_seed_age_stamps_the_seed_that_long_ago_and_leaves_the_clock_in_real_time() -> None:
    def newest(org: Org) -> int:
        return max(
            max(row["SystemModstamp"] for row in rows(org, name))
            for name in ("User", "Group", "Lead", "Account", "Contact", "Task", "CampaignMember")
        )

    fresh, _ = build_org(OrgOptions(records=50))
    aged, summary = build_org(OrgOptions(records=50, seed_age=3600))
    try:
        assert summary.created["Lead"] == 50
        # The same seed, an hour earlier (give or take the seconds between the two seeds).
        assert 3600 - 5 <= newest(fresh) - newest(aged) <= 3600
        assert not aged.clock.frozen and abs(aged.clock.now_float() - time.time()) < 1
    finally:
        fresh.close()
        aged.close()


def test_a_negative_seed_age_is_refused() -> None:
    with pytest.raises(ValueError, match="--seed-age"):
        build_org(OrgOptions(records=5, seed_age=-1))
