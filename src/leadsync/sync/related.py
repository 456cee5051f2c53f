"""Shared pieces of the stores for records that hang off persons (opportunities, roles,
campaigns, members, custom object records, tasks and events).

These records are one-way (Salesforce -> leadsync), so there is no baseline: a pulled record is
compared with the stored row, and only values that really moved are written or logged. A
lookback re-read, or a record saved without a change, therefore writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Boolean, Column, Connection, Date, Table, select

from ..db import sync_state
from ..db.schema import sync_errors, sync_links
from .records import SfRecord

PERSON_OBJECTS = ("Lead", "Contact")
# Key prefixes are fixed for standard objects: a polymorphic or custom lookup's value says
# which object it points at.
PERSON_PREFIXES = ("00Q", "003")  # Lead, Contact
ACCOUNT_PREFIX = "001"

UNKNOWN_REFERENCE = "UNKNOWN_REFERENCE"


def values_of(record: SfRecord) -> dict[str, Any]:
    """Every value read, by API name: data fields and bookkeeping ones (OwnerId, AccountId)."""
    values = {
        k: v for k, v in record.sync.items() if k not in ("Id", "IsDeleted", "SystemModstamp")
    }
    values.update(record.values)
    return values


def person_of(conn: Connection, sfdc_id: str) -> int | None:
    """The person of a Lead or Contact id (a converted lead's id finds its contact's person)."""
    found = conn.scalar(
        select(sync_links.c.entity_id).where(
            sync_links.c.sfdc_object.in_(PERSON_OBJECTS),
            sync_links.c.sfdc_id == sfdc_id,
            sync_links.c.entity == "person",
        )
    )
    return None if found is None else int(found)


def unknown_reference(
    conn: Connection, record: SfRecord, field: str, value: Any, what: str, at: dt.datetime
) -> str:
    """A record pointing at something leadsync does not hold: a record-level sync error naming
    the object, the record and the field (once per record version), and the record is not
    stored. Returns the run count ("failed")."""
    message = f"{record.object} {record.id}: {field} {value} is not a known {what}"
    if not reported(conn, record, UNKNOWN_REFERENCE, message):
        sync_state.record_error(
            conn,
            at=at,
            level="record",
            code=UNKNOWN_REFERENCE,
            message=message,
            sfdc_object=record.object,
            sfdc_id=record.id,
            fields=[field],
        )
    return "failed"


def reported(conn: Connection, record: SfRecord, code: str, message: str) -> bool:
    """Whether this error is already open for this record: a lookback re-read, or a record
    saved again with the same problem, reports nothing new."""
    found = conn.scalar(
        select(sync_errors.c.id).where(
            sync_errors.c.sfdc_object == record.object,
            sync_errors.c.sfdc_id == record.id,
            sync_errors.c.code == code,
            sync_errors.c.message == message,
            sync_errors.c.resolved_at.is_(None),
        )
    )
    return found is not None


# -- Rows whose columns are some of the API fields, the rest kept in a `fields` JSON ---------


def to_column(column: Column[Any], value: Any) -> Any:
    if isinstance(column.type, Date) and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if isinstance(column.type, Boolean) and value is None and not column.nullable:
        return False
    return value


def from_column(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def stored_values(row: Any, columns: Mapping[str, str]) -> dict[str, Any]:
    """A stored row as {API name: value}, as the pull decodes values (dates as ISO text)."""
    values = dict(row.fields or {})
    values.update({api: from_column(row._mapping[col]) for api, col in columns.items()})
    return values


def moved_values(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{API name: (old, new)} of the values read that differ from the stored ones. A field
    not read (hidden, or a bad value left out) is not a change."""
    return {api: (old.get(api), value) for api, value in new.items() if old.get(api) != value}


def row_values(
    table: Table, columns: Mapping[str, str], values: Mapping[str, Any], fields: Mapping[str, Any]
) -> dict[str, Any]:
    """Column values and the `fields` JSON for `values` read (on top of stored `fields`)."""
    row: dict[str, Any] = {}
    extra = dict(fields)
    for api, value in values.items():
        column = columns.get(api)
        if column is None:
            extra[api] = value
        else:
            row[column] = to_column(table.c[column], value)
    row["fields"] = extra
    return row
