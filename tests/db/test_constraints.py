"""The unique keys the sync relies on hold on both databases."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Table, insert, update
from sqlalchemy.exc import IntegrityError

from leadsync.db import LeadDatabase
from leadsync.db.schema import (
    campaign_members,
    campaigns,
    companies,
    persons,
    sync_fields,
    sync_links,
)

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def insert_twice(db: LeadDatabase, table: Table, values: dict[str, Any]) -> None:
    with db.transaction() as conn:
        conn.execute(insert(table).values(**values))
    with pytest.raises(IntegrityError), db.transaction() as conn:
        conn.execute(insert(table).values(**values))


def test_salesforce_ids_are_unique_per_person(database: LeadDatabase) -> None:
    a = database.create_person({"lastName": "A"})
    b = database.create_person({"lastName": "B"})
    for column in ("sfdc_lead_id", "sfdc_contact_id"):
        with database.transaction() as conn:
            conn.execute(
                update(persons)
                .where(persons.c.id == a["id"])
                .values({column: "00Q000000000001AAA"})
            )
        with pytest.raises(IntegrityError), database.transaction() as conn:
            conn.execute(
                update(persons)
                .where(persons.c.id == b["id"])
                .values({column: "00Q000000000001AAA"})
            )


def test_unique_keys(database: LeadDatabase) -> None:
    insert_twice(
        database,
        companies,
        {
            "sfdc_account_id": "001000000000001AAA",
            "custom": {},
            "created_at": NOW,
            "updated_at": NOW,
        },
    )
    insert_twice(
        database,
        sync_links,
        {
            "sfdc_object": "Lead",
            "sfdc_id": "00Q000000000001AAA",
            "entity": "person",
            "entity_id": 1,
            "baseline": {},
            "created_at": NOW,
            "updated_at": NOW,
        },
    )
    insert_twice(
        database,
        sync_fields,
        {
            "sfdc_object": "Lead",
            "api_name": "X__c",
            "json_name": "X__c",
            "type": "string",
            "visible": True,
            "first_seen": NOW,
            "last_seen": NOW,
        },
    )


def test_a_person_is_a_campaign_member_once(database: LeadDatabase) -> None:
    person = database.create_person({"lastName": "A"})
    with database.transaction() as conn:
        campaign_id = conn.execute(
            insert(campaigns).values(name="Webinar", fields={}, created_at=NOW, updated_at=NOW)
        ).inserted_primary_key[0]  # type: ignore[index]
    insert_twice(
        database,
        campaign_members,
        {
            "campaign_id": campaign_id,
            "person_id": person["id"],
            "status": "Sent",
            "created_at": NOW,
            "updated_at": NOW,
        },
    )


def test_foreign_keys_and_checks_are_enforced(database: LeadDatabase) -> None:
    with pytest.raises(IntegrityError), database.transaction() as conn:
        conn.execute(
            insert(persons).values(company_id=424242, custom={}, created_at=NOW, updated_at=NOW)
        )
    with pytest.raises(IntegrityError), database.transaction() as conn:
        conn.execute(
            insert(persons).values(sfdc_type="Account", custom={}, created_at=NOW, updated_at=NOW)
        )
