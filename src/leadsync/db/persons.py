"""Persons: one record whether Salesforce holds a Lead or a Contact.

Reads join the person's company, sales owner and account owner, and return person JSON (Marketo
REST names; custom fields flattened by their JSON names). Local writes validate every field,
then write the values, a `sync_changes` row per changed field and a "Change Data Value"
activity in the caller's transaction.

Company fields live on `companies`. A person linked to an account shares its company with the
account's other persons: a local edit there changes every one of them, is recorded local-only
(never pushed) and is overwritten by the next Salesforce change to the account. A person without
an account gets a company row of its own when a company field is first set (a lead's Company,
Industry, ... fields), and edits to it are ordinary, pushable changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    RowMapping,
    Select,
    bindparam,
    case,
    func,
    insert,
    select,
    update,
)

from ..errors import PersonNotFound, ValidationError
from . import activities as activity
from .changes import SALESFORCE, record_change
from .custom_fields import CustomField, custom_fields
from .fields import BY_NAME, PERSON_FIELDS, BadValue, FieldType, Group, PersonField, coerce
from .schema import companies, owners, persons
from .types import iso, new_id

sales_owner = owners.alias("sales_owner")
account_owner = owners.alias("account_owner")

_FROM = (
    persons.outerjoin(companies, persons.c.company_id == companies.c.id)
    .outerjoin(sales_owner, persons.c.sfdc_owner_id == sales_owner.c.sfdc_id)
    .outerjoin(account_owner, companies.c.sfdc_owner_id == account_owner.c.sfdc_id)
)


def _column(spec: PersonField) -> ColumnElement[Any]:
    if spec.name == "sfdcId":
        return case(
            (persons.c.sfdc_type == "Contact", persons.c.sfdc_contact_id),
            else_=persons.c.sfdc_lead_id,
        )
    if spec.name == "sfdcAccountId":
        return companies.c.sfdc_account_id
    if spec.group is Group.COMPANY:
        return companies.c[spec.column]
    if spec.group is Group.OWNER:
        owner = account_owner if spec.name.startswith("accountOwner") else sales_owner
        return owner.c[spec.column]
    return persons.c[spec.column]


def _person_select() -> Select[Any]:
    return select(
        *(_column(spec).label(spec.name) for spec in PERSON_FIELDS),
        persons.c.custom.label("_custom"),
        companies.c.custom.label("_company_custom"),
        sales_owner.c.is_queue.label("_sales_queue"),
    ).select_from(_FROM)


# Built once: a statement object memoizes its cache key, so executing the same one again
# skips rebuilding (and re-keying) a fifty-column join on every call.
_BY_ID = _person_select().where(persons.c.id == bindparam("person_id"))
_LOCK_BY_ID = select(persons).where(persons.c.id == bindparam("person_id")).with_for_update()
_UPDATE_BY_ID = update(persons).where(persons.c.id == bindparam("_person_id"))


def _to_json(row: Row[Any]) -> dict[str, Any]:
    values = row._mapping
    person: dict[str, Any] = {}
    for spec in PERSON_FIELDS:
        value = values[spec.name]
        if spec.group is Group.OWNER and _owner_hidden(spec, values):
            value = None
        elif spec.type is FieldType.DATETIME and isinstance(value, dt.datetime):
            value = iso(value)
        person[spec.name] = value
    for custom in (values["_company_custom"] or {}, values["_custom"] or {}):
        person.update({k: v for k, v in custom.items() if k not in BY_NAME})
    return person


def _owner_hidden(spec: PersonField, values: RowMapping) -> bool:
    if spec.name.startswith("accountOwner"):
        return bool(values["sfdcType"] != "Contact")  # only contacts have an account owner
    return values["_sales_queue"] is True  # a queue-owned lead has blank sales owner fields


# -- Reads ----------------------------------------------------------------------------------


def get_person(conn: Connection, person_id: int) -> dict[str, Any]:
    row = conn.execute(_BY_ID, {"person_id": person_id}).first()
    if row is None:
        raise PersonNotFound(person_id)
    return _to_json(row)


def get_person_by_email(conn: Connection, email: str) -> dict[str, Any]:
    """The oldest person with this email (case-insensitive); duplicates are allowed, as
    Salesforce duplicates stay duplicates: use `find_persons(email=...)` to see them all."""
    query = _person_select().where(func.lower(persons.c.email) == email.strip().lower())
    row = conn.execute(query.order_by(persons.c.id).limit(1)).first()
    if row is None:
        raise PersonNotFound(email)
    return _to_json(row)


def find_persons(
    conn: Connection, filters: Mapping[str, Any], *, limit: int | None = None, offset: int = 0
) -> list[dict[str, Any]]:
    """Persons whose standard fields equal the given values (None matches empty), by id."""
    query = _person_select()
    for name, value in filters.items():
        spec = BY_NAME.get(name)
        if spec is None:
            raise ValidationError(name, "not a standard field; cannot filter on it")
        column = _column(spec)
        if value is None:
            query = query.where(column.is_(None))
        elif spec.type is FieldType.EMAIL:
            query = query.where(func.lower(column) == str(value).strip().lower())
        else:
            query = query.where(column == _filter_value(spec, value))
    query = query.order_by(persons.c.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [_to_json(row) for row in conn.execute(query)]


def _filter_value(spec: PersonField, value: Any) -> Any:
    if spec.type is FieldType.DATETIME:
        return value
    try:
        return coerce(spec.type, value)
    except BadValue as exc:
        raise ValidationError(spec.name, str(exc)) from None


# -- Resolving and validating input ---------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where one person field is written: a column, or a key of the `custom` JSON."""

    name: str
    type: FieldType
    table: Literal["person", "company"]
    column: str | None


_READ_ONLY = {
    Group.OWNER: "read-only: owner fields change only through Change Owner",
    Group.SYNC: "read-only: maintained by leadsync and the Salesforce sync",
}


def _target(name: str, custom: Mapping[str, CustomField], record_id: int | None) -> Target:
    spec = BY_NAME.get(name)
    if spec is not None:
        if not spec.editable:
            raise ValidationError(name, _READ_ONLY[spec.group], record_id=record_id)
        table: Literal["person", "company"] = "company" if spec.group is Group.COMPANY else "person"
        return Target(name, spec.type, table, spec.column)
    field = custom.get(name)
    if field is None:
        raise ValidationError(
            name,
            "unknown field (not a standard field nor a custom field Salesforce describe has shown)",
            record_id=record_id,
        )
    return Target(name, field.type, field.table, None)


def validate(
    conn: Connection, fields: Mapping[str, Any], record_id: int | None
) -> dict[Target, Any]:
    """Every input field resolved and its value coerced, or a ValidationError naming it."""
    custom = custom_fields(conn) if any(name not in BY_NAME for name in fields) else {}
    resolved: dict[Target, Any] = {}
    for name, value in fields.items():
        target = _target(name, custom, record_id)
        try:
            resolved[target] = coerce(target.type, value)
        except BadValue as exc:
            raise ValidationError(name, str(exc), record_id=record_id) from None
    return resolved


def _split(values: Mapping[Target, Any], table: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(column values, custom JSON values) of one table."""
    columns = {t.column: v for t, v in values.items() if t.table == table and t.column}
    custom = {t.name: v for t, v in values.items() if t.table == table and not t.column}
    return columns, custom


# -- Writes ---------------------------------------------------------------------------------


def create_person(
    conn: Connection, fields: Mapping[str, Any], *, source: str, at: dt.datetime
) -> int:
    values = validate(conn, fields, None)
    columns, custom = _split(values, "person")
    company_id = None
    company_columns, company_custom = _split(values, "company")
    if company_columns or company_custom:
        company_id = _insert_company(conn, company_columns, company_custom, at)
    result = conn.execute(
        insert(persons).values(
            **columns, custom=custom, company_id=company_id, created_at=at, updated_at=at
        )
    )
    person_id = new_id(result)
    activity.add_activity(conn, person_id, activity.NEW_LEAD, {"source": source}, at)
    return person_id


def _insert_company(
    conn: Connection, columns: Mapping[str, Any], custom: Mapping[str, Any], at: dt.datetime
) -> int:
    result = conn.execute(
        insert(companies).values(**columns, custom=dict(custom), created_at=at, updated_at=at)
    )
    return new_id(result)


def update_person(
    conn: Connection,
    person_id: int,
    fields: Mapping[str, Any],
    *,
    source: str,
    at: dt.datetime,
) -> None:
    """Validate, write, and log each changed field (outbox row + Change Data Value)."""
    person = conn.execute(_LOCK_BY_ID, {"person_id": person_id}).first()
    if person is None:
        raise PersonNotFound(person_id)
    values = validate(conn, fields, person_id)
    person_changes = _changed(
        person._mapping, {t: v for t, v in values.items() if t.table == "person"}
    )
    _write_person(conn, person, person_changes, source=source, at=at)
    company_values = {t: v for t, v in values.items() if t.table == "company"}
    if company_values:
        _write_company(conn, person, company_values, source=source, at=at)


def _changed(current: RowMapping, values: Mapping[Target, Any]) -> dict[Target, tuple[Any, Any]]:
    """(old, new) for each field whose value differs from the stored one."""
    custom = current["custom"] or {}
    changes: dict[Target, tuple[Any, Any]] = {}
    for target, new in values.items():
        old = current[target.column] if target.column else custom.get(target.name)
        if old != new:
            changes[target] = (old, new)
    return changes


def _write_person(
    conn: Connection,
    person: Row[Any],
    changes: Mapping[Target, tuple[Any, Any]],
    *,
    source: str,
    at: dt.datetime,
) -> None:
    if not changes:
        return
    new_values = {t: new for t, (_old, new) in changes.items()}
    columns, custom = _split(new_values, "person")
    if custom:
        columns["custom"] = {**(person.custom or {}), **custom}
    conn.execute(_UPDATE_BY_ID, {"_person_id": person.id, **columns, "updated_at": at})
    for target, (old, new) in changes.items():
        _log_change(
            conn,
            "person",
            person.id,
            [person.id],
            target.name,
            old,
            new,
            source=source,
            at=at,
            local_only=False,
        )


def _write_company(
    conn: Connection,
    person: Row[Any],
    values: Mapping[Target, Any],
    *,
    source: str,
    at: dt.datetime,
) -> None:
    company = None
    if person.company_id is not None:
        company = conn.execute(
            select(companies).where(companies.c.id == person.company_id).with_for_update()
        ).first()
    if company is None:  # first company field of a person without a company: its own row
        if all(value is None for value in values.values()):
            return
        company_id = _insert_company(conn, {}, {}, at)
        conn.execute(update(persons).where(persons.c.id == person.id).values(company_id=company_id))
        company = conn.execute(select(companies).where(companies.c.id == company_id)).one()
    changes = _changed(company._mapping, values)
    if not changes:
        return
    new_values = {t: new for t, (_old, new) in changes.items()}
    columns, custom = _split(new_values, "company")
    if custom:
        columns["custom"] = {**(company.custom or {}), **custom}
    conn.execute(
        update(companies).where(companies.c.id == company.id).values(**columns, updated_at=at)
    )
    # Every person of the company sees the new value. For an account's company that is a
    # local fan-out, never pushed; for a person's own company it is a pushable lead edit.
    members = list(
        conn.scalars(
            select(persons.c.id).where(persons.c.company_id == company.id).order_by(persons.c.id)
        )
    )
    conn.execute(update(persons).where(persons.c.company_id == company.id).values(updated_at=at))
    shared = company.sfdc_account_id is not None
    entity, entity_id = ("company", company.id) if shared else ("person", person.id)
    for target, (old, new) in changes.items():
        _log_change(
            conn,
            entity,
            entity_id,
            members,
            target.name,
            old,
            new,
            source=source,
            at=at,
            local_only=shared,
        )


def _log_change(
    conn: Connection,
    entity: str,
    entity_id: int,
    person_ids: list[int],
    field: str,
    old: Any,
    new: Any,
    *,
    source: str,
    at: dt.datetime,
    local_only: bool,
) -> None:
    if source != SALESFORCE:  # pulled values are already in Salesforce: no outbox row
        record_change(
            conn, entity, entity_id, field, old, new, at=at, source=source, local_only=local_only
        )
    attributes = {"field": field, "oldValue": old, "newValue": new, "source": source}
    if local_only:
        attributes["localOnly"] = True
    activity.add_activities(conn, person_ids, activity.CHANGE_DATA_VALUE, attributes, at)
