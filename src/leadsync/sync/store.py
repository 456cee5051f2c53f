"""Storing pulled records: owners, companies and persons, each merged against its link.

A link's baseline holds the last values both sides agreed on, by API name. A field whose
Salesforce value differs from the baseline changed on the Salesforce side; only those fields
are written (with source "salesforce", so they never enter the outbox and are not pushed back).
Re-reading an unchanged record, or our own write coming back, therefore writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from ..db import activities as activity
from ..db import sync_state
from ..db.changes import SALESFORCE
from ..db.fields import BY_NAME, Group
from ..db.schema import companies, owners, persons
from ..db.sync_state import Link
from ..db.types import new_id
from .objects import ReadPlan
from .records import SfRecord

ACTIVITY_FANOUT_LIMIT = 5_000  # Marketo: no per-contact activities above this many contacts


@dataclass
class Counts:
    new: int = 0
    updated: int = 0
    deleted: int = 0
    skipped: int = 0
    failed: int = 0
    read: int = 0
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (id, field, message)

    def add(self, other: Counts) -> None:
        for name in ("new", "updated", "deleted", "skipped", "failed", "read"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.problems.extend(other.problems)


def unchanged_since_link(link: Link | None, record: SfRecord) -> bool:
    """This exact version was stored already (a lookback re-read): nothing to do.

    Salesforce stamps whole seconds, so a second change within the second of the version
    stored carries the same stamp: the values decide then."""
    return (
        link is not None
        and link.sfdc_modstamp == record.modstamp
        and not changed_fields(record, link.baseline)
    )


def person_version_stored(link: Link | None, record: SfRecord) -> bool:
    """`unchanged_since_link` for a lead or contact. A deleted or converted one is never
    taken for a re-read on its stamp alone: a delete or a conversion within the second of
    the version stored changes no data field. Their paths see for themselves that they
    already ran, and write nothing new then."""
    converted = record.object == "Lead" and bool(record.sync.get("ConvertedContactId"))
    return not record.deleted and not converted and unchanged_since_link(link, record)


# Ids per `IN` list when reading the owners and accounts of a page's persons.
OWNER_CHUNK = 1_000


def owners_and_accounts(
    conn: Connection, person_ids: Sequence[int]
) -> dict[int, tuple[str | None, str | None]]:
    """(owner id, account id of the person's company) by person id: what a lead or contact
    carries outside its baseline."""
    found: dict[int, tuple[str | None, str | None]] = {}
    joined = persons.outerjoin(companies, persons.c.company_id == companies.c.id)
    for start in range(0, len(person_ids), OWNER_CHUNK):
        query = (
            select(persons.c.id, persons.c.sfdc_owner_id, companies.c.sfdc_account_id)
            .select_from(joined)
            .where(persons.c.id.in_(person_ids[start : start + OWNER_CHUNK]))
        )
        found.update((row[0], (row[1], row[2])) for row in conn.execute(query))
    return found


def owner_and_account_kept(record: SfRecord, stored: tuple[str | None, str | None] | None) -> bool:
    """The record's owner (and a contact's account) are the stored ones. A change of only
    those within the second of the stored version carries its stamp and no data change:
    without this it would pass for a re-read. (No person: the store's own paths decide.)"""
    if stored is None:
        return True
    owner, account = stored
    if record.sync.get("OwnerId") != owner:
        return False
    return record.object != "Contact" or (record.sync.get("AccountId") or None) == account


def changed_fields(record: SfRecord, baseline: Mapping[str, Any]) -> dict[str, Any]:
    """API name -> new value, for the fields Salesforce changed since the baseline."""
    return {
        api: value
        for api, value in record.values.items()
        if api not in baseline or baseline[api] != value
    }


def save_link(
    conn: Connection, record: SfRecord, entity: str, entity_id: int, at: dt.datetime
) -> None:
    link = Link(record.object, record.id, entity, entity_id, dict(record.values), record.modstamp)
    sync_state.save_link(conn, link, at=at)


# -- Owners ---------------------------------------------------------------------------------


def store_owner(conn: Connection, plan: ReadPlan, record: SfRecord, at: dt.datetime) -> str:
    """Users have no baseline (one-way, no local edits): compare with the stored row."""
    columns = {
        f.name: record.values.get(f.api_name) for f in plan.data if f.api_name in record.values
    }
    if "is_active" in columns:
        columns["is_active"] = bool(columns["is_active"])
    row = conn.execute(select(owners).where(owners.c.sfdc_id == record.id)).first()
    if row is None:
        conn.execute(insert(owners).values(sfdc_id=record.id, **columns, updated_at=at))
        return "new"
    if all(row._mapping[name] == value for name, value in columns.items()):
        return "skipped"  # a lookback re-read
    conn.execute(
        update(owners).where(owners.c.sfdc_id == record.id).values(**columns, updated_at=at)
    )
    return "updated"


# -- Companies ------------------------------------------------------------------------------


def company_for_account(conn: Connection, account_id: str, at: dt.datetime) -> int:
    """The company of an account; a placeholder row until the account itself is read."""
    found = conn.scalar(select(companies.c.id).where(companies.c.sfdc_account_id == account_id))
    if found is not None:
        return int(found)
    result = conn.execute(
        insert(companies).values(
            sfdc_account_id=account_id, custom={}, created_at=at, updated_at=at
        )
    )
    return new_id(result)


def store_company(conn: Connection, plan: ReadPlan, record: SfRecord, at: dt.datetime) -> str:
    link = sync_state.get_link(conn, record.object, record.id)
    if unchanged_since_link(link, record) or (link is None and record.deleted):
        return "skipped"  # already stored, or deleted before leadsync ever saw it
    company_id = company_for_account(conn, record.id, at)
    baseline = link.baseline if link else {}
    changes = changed_fields(record, baseline)
    row = conn.execute(select(companies).where(companies.c.id == company_id)).one()
    olds = _write_company(conn, plan, row, changes, record, at)
    if link is not None and olds:
        _log_account_changes(conn, company_id, olds, at)
    save_link(conn, record, "company", company_id, at)
    if link is None:
        return "new"
    return "deleted" if record.deleted and not row.sfdc_is_deleted else "updated"


def _write_company(
    conn: Connection,
    plan: ReadPlan,
    row: Any,
    changes: Mapping[str, Any],
    record: SfRecord,
    at: dt.datetime,
) -> dict[str, tuple[Any, Any]]:
    """Write changed fields; return {JSON name: (old, new)} of values that really moved."""
    by_api = {f.api_name: f for f in plan.data}
    columns: dict[str, Any] = {}
    custom = dict(row.custom or {})
    moved: dict[str, tuple[Any, Any]] = {}
    for api, new in changes.items():
        data = by_api[api]
        spec = BY_NAME.get(data.name)
        old = row._mapping[spec.column] if spec is not None else custom.get(data.name)
        if old == new:
            continue
        moved[data.name] = (old, new)
        if spec is not None:
            columns[spec.column] = new
        else:
            custom[data.name] = new
    columns.update(
        sfdc_owner_id=record.sync.get("OwnerId"), sfdc_is_deleted=record.deleted, custom=custom
    )
    conn.execute(update(companies).where(companies.c.id == row.id).values(**columns, updated_at=at))
    return moved


def _log_account_changes(
    conn: Connection, company_id: int, moved: Mapping[str, tuple[Any, Any]], at: dt.datetime
) -> None:
    contacts = list(
        conn.scalars(
            select(persons.c.id)
            .where(persons.c.company_id == company_id, persons.c.sfdc_type == "Contact")
            .order_by(persons.c.id)
        )
    )
    if len(contacts) > ACTIVITY_FANOUT_LIMIT:
        return  # values change, activities are not written (Marketo's documented threshold)
    for name, (old, new) in moved.items():
        attributes = {"field": name, "oldValue": old, "newValue": new, "source": SALESFORCE}
        activity.add_activities(conn, contacts, activity.CHANGE_DATA_VALUE, attributes, at)


# -- Persons: creation ------------------------------------------------------------------------


def split_person_values(
    plan: ReadPlan, record: SfRecord
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A lead's or contact's values by destination: person columns, custom fields (by API
    name) and company columns."""
    by_api = {f.api_name: f for f in plan.data}
    columns: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    company_values: dict[str, Any] = {}
    for api, value in record.values.items():
        data = by_api[api]
        spec = BY_NAME.get(data.name)
        if spec is None:
            custom[data.name] = value
        elif spec.group is Group.COMPANY:
            company_values[spec.column] = value
        elif spec.group is Group.PERSON:
            columns[spec.column] = value
    return columns, custom, company_values


def create_person(
    conn: Connection, plan: ReadPlan, record: SfRecord, at: dt.datetime, *, sfdc_type: str
) -> int:
    """A new person from a lead or contact, with "New Lead" (source salesforce)."""
    columns, custom, company_values = split_person_values(plan, record)
    company_id = _initial_company(conn, record, company_values, at)
    id_column = "sfdc_lead_id" if sfdc_type == "Lead" else "sfdc_contact_id"
    result = conn.execute(
        insert(persons).values(
            **columns,
            custom=custom,
            company_id=company_id,
            sfdc_type=sfdc_type,
            sfdc_owner_id=record.sync.get("OwnerId"),
            created_at=at,
            updated_at=at,
            **{id_column: record.id},
        )
    )
    person_id = new_id(result)
    activity.add_activity(
        conn, person_id, activity.NEW_LEAD, {"source": SALESFORCE, "sfdcType": sfdc_type}, at
    )
    return person_id


def _initial_company(
    conn: Connection, record: SfRecord, values: Mapping[str, Any], at: dt.datetime
) -> int | None:
    account_id = record.sync.get("AccountId")
    if account_id:
        return company_for_account(conn, str(account_id), at)
    if not any(v is not None for v in values.values()):
        return None
    result = conn.execute(
        insert(companies).values(**values, custom={}, created_at=at, updated_at=at)
    )
    return new_id(result)


def person_row(conn: Connection, person_id: int) -> Any:
    return conn.execute(select(persons).where(persons.c.id == person_id)).one()


def person_count(conn: Connection) -> int:
    return int(conn.scalar(select(func.count()).select_from(persons)) or 0)
