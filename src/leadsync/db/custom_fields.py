"""The Salesforce fields describe showed the sync user (`sync_fields`), and the custom ones
among them that persons carry.

A new visible field is registered when describe first shows it; a field that disappears (deleted,
or hidden by field-level security) is marked not visible: it stops syncing and its values stay.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

from sqlalchemy import Connection, select, update

from .fields import BY_NAME, FieldType, type_of_salesforce
from .mapping import FieldMapping
from .schema import sync_fields

PERSON_OBJECTS = ("Lead", "Contact")
COMPANY_OBJECTS = ("Account",)


class DescribedField(Protocol):
    """What `record_describe` needs of a describe entry (salesforce.describe.FieldInfo fits)."""

    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def custom(self) -> bool: ...


@dataclass(frozen=True)
class CustomField:
    """A custom field as persons carry it: stored in the `custom` JSON of `table`."""

    name: str
    type: FieldType
    table: Literal["person", "company"]
    visible: bool


def record_describe(
    conn: Connection,
    sfdc_object: str,
    described: Iterable[DescribedField],
    mapping: FieldMapping,
    at: dt.datetime,
) -> list[str]:
    """Store what describe showed for `sfdc_object`; return the API names seen first now."""
    known = {
        row.api_name: row
        for row in conn.execute(select(sync_fields).where(sync_fields.c.sfdc_object == sfdc_object))
    }
    seen: set[str] = set()
    new: list[str] = []
    for info in described:
        seen.add(info.name)
        json_name = mapping.json_name(sfdc_object, info.name) or info.name
        values = {
            "json_name": json_name,
            "type": info.type,
            "custom": info.custom,
            "visible": True,
            "last_seen": at,
        }
        if info.name in known:
            conn.execute(
                update(sync_fields).where(sync_fields.c.id == known[info.name].id).values(**values)
            )
        else:
            conn.execute(
                sync_fields.insert().values(
                    sfdc_object=sfdc_object, api_name=info.name, first_seen=at, **values
                )
            )
            new.append(info.name)
    gone = [row.id for name, row in known.items() if name not in seen and row.visible]
    if gone:
        conn.execute(update(sync_fields).where(sync_fields.c.id.in_(gone)).values(visible=False))
    return new


def custom_fields(conn: Connection) -> dict[str, CustomField]:
    """Custom person fields by JSON name (a Lead/Contact field wins over an Account one)."""
    rows = conn.execute(
        select(sync_fields)
        .where(
            sync_fields.c.custom.is_(True),
            sync_fields.c.sfdc_object.in_(PERSON_OBJECTS + COMPANY_OBJECTS),
        )
        .order_by(sync_fields.c.id)
    )
    found: dict[str, CustomField] = {}
    for row in rows:
        if row.json_name in BY_NAME:
            continue  # mapped onto a standard field: stored in its column
        table: Literal["person", "company"] = (
            "person" if row.sfdc_object in PERSON_OBJECTS else "company"
        )
        current = found.get(row.json_name)
        if current is None or (current.table == "company" and table == "person"):
            found[row.json_name] = CustomField(
                row.json_name, type_of_salesforce(row.type), table, row.visible
            )
        elif row.visible and not current.visible and current.table == table:
            found[row.json_name] = CustomField(current.name, current.type, table, True)
    return found
