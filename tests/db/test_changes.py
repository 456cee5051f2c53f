"""Local edits are captured per field, in the transaction of the edit (the outbox)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from leadsync.db import SALESFORCE, LeadDatabase
from leadsync.db.schema import companies, persons, sync_changes

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def change_rows(db: LeadDatabase) -> list[dict[str, Any]]:
    with db.engine.connect() as conn:
        rows = conn.execute(select(sync_changes).order_by(sync_changes.c.id))
        return [dict(row._mapping) for row in rows]


def test_each_changed_field_is_logged_with_old_and_new(database: LeadDatabase) -> None:
    person = database.create_person({"email": "a@example.com", "title": "Engineer"})
    assert change_rows(database) == []  # a new person is not an edit of a synced one
    database.update_person(person["id"], {"title": "CTO", "email": "a@example.com", "leadScore": 7})
    rows = change_rows(database)
    assert [(r["entity"], r["entity_id"], r["field"], r["old"], r["new"]) for r in rows] == [
        ("person", person["id"], "title", "Engineer", "CTO"),
        ("person", person["id"], "leadScore", None, 7),
    ]  # the unchanged email is not logged
    assert all(r["source"] == "leadsync" and not r["local_only"] for r in rows)
    pending = database.pending_changes()
    assert [c.field for c in pending] == ["title", "leadScore"]
    database.mark_changes_processed([c.id for c in pending])
    assert database.pending_changes() == []


def test_a_failed_transaction_keeps_neither_the_value_nor_the_change(
    database: LeadDatabase,
) -> None:
    person = database.create_person({"email": "a@example.com", "title": "Engineer"})

    class Crash(Exception):
        pass

    with pytest.raises(Crash), database.transaction():
        database.update_person(person["id"], {"title": "CTO"})
        assert database.get_person(person["id"])["title"] == "CTO"  # visible inside
        raise Crash
    assert database.get_person(person["id"])["title"] == "Engineer"
    assert change_rows(database) == []
    kinds = [a["type"] for a in database.list_activities(person["id"])]
    assert kinds == ["New Lead"]


def test_a_failed_inner_transaction_undoes_only_itself(database: LeadDatabase) -> None:
    person = database.create_person({"title": "Engineer"})
    with database.transaction():
        database.update_person(person["id"], {"title": "CTO"})
        with pytest.raises(IntegrityError), database.transaction() as conn:
            database.update_person(person["id"], {"email": "x@example.com"})
            conn.execute(
                insert(persons).values(id=person["id"], custom={}, created_at=NOW, updated_at=NOW)
            )  # duplicate key
    after = database.get_person(person["id"])
    assert (after["title"], after["email"]) == ("CTO", None)
    assert [r["field"] for r in change_rows(database)] == ["title"]


def test_values_pulled_from_salesforce_are_not_written_to_the_outbox(
    database: LeadDatabase,
) -> None:
    person = database.create_person({"title": "Engineer"})
    database.update_person(person["id"], {"title": "CTO"}, source=SALESFORCE)
    assert change_rows(database) == []
    [_, change] = database.list_activities(person["id"])
    assert change["attributes"] == {
        "field": "title",
        "oldValue": "Engineer",
        "newValue": "CTO",
        "source": "salesforce",
    }


def _account_with_persons(db: LeadDatabase, count: int) -> tuple[int, list[int]]:
    ids = [db.create_person({"lastName": f"P{i}"})["id"] for i in range(count)]
    with db.transaction() as conn:
        company_id = conn.execute(
            insert(companies).values(
                sfdc_account_id="001000000000001AAA",
                name="Acme",
                industry="Energy",
                custom={},
                created_at=NOW,
                updated_at=NOW,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        conn.execute(
            update(persons)
            .where(persons.c.id.in_(ids))
            .values(company_id=company_id, sfdc_type="Contact")
        )
    return int(company_id), ids


def test_company_field_edit_fans_out_locally_only(database: LeadDatabase) -> None:
    company_id, ids = _account_with_persons(database, 3)
    loner = database.create_person({"lastName": "Elsewhere", "industry": "Energy"})
    assert database.get_person(ids[0])["sfdcAccountId"] == "001000000000001AAA"
    database.update_person(ids[1], {"industry": "Retail", "title": "Buyer"})
    for pid in ids:
        person = database.get_person(pid)
        assert person["industry"] == "Retail" and person["company"] == "Acme"
        changes = [a for a in database.list_activities(pid) if a["type"] == "Change Data Value"]
        assert changes[-1]["attributes"] == {
            "field": "industry",
            "oldValue": "Energy",
            "newValue": "Retail",
            "source": "leadsync",
            "localOnly": True,
        }
    assert database.get_person(loner["id"])["industry"] == "Energy"
    rows = {r["field"]: r for r in change_rows(database)}
    assert (rows["industry"]["entity"], rows["industry"]["entity_id"]) == ("company", company_id)
    assert rows["industry"]["local_only"] is True and rows["title"]["local_only"] is False
    assert [c.field for c in database.pending_changes()] == ["title"]  # never pushed


def test_company_fields_of_a_person_without_account_are_its_own(database: LeadDatabase) -> None:
    a = database.create_person({"lastName": "A"})
    b = database.create_person({"lastName": "B", "company": "Beta"})
    database.update_person(a["id"], {"industry": None})  # nothing to change: no company row
    assert change_rows(database) == []
    updated = database.update_person(a["id"], {"company": "Alpha", "numberOfEmployees": 12})
    assert updated["company"] == "Alpha" and updated["numberOfEmployees"] == 12
    assert database.get_person(b["id"])["company"] == "Beta"
    database.update_person(b["id"], {"company": "Beta 2"})
    rows = change_rows(database)
    assert [(r["entity"], r["field"], r["local_only"]) for r in rows] == [
        ("person", "company", False),
        ("person", "numberOfEmployees", False),
        ("person", "company", False),
    ]
