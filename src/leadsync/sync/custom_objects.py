"""Pulled custom object records: any custom object the sync user can query whose fields look
up a lead, contact or account (Marketo's rule). Values are kept by API name in
`custom_object_records.fields`; the lookups give the record's person and company."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, insert, select, update

from ..db.schema import custom_object_records
from .objects import ReadPlan
from .records import SfRecord
from .related import ACCOUNT_PREFIX, PERSON_PREFIXES, person_of, unknown_reference
from .related import values_of as read_values
from .store import company_for_account


def store_custom_record(conn: Connection, plan: ReadPlan, record: SfRecord, at: dt.datetime) -> str:
    table = custom_object_records
    row = conn.execute(
        select(table).where(table.c.object_name == record.object, table.c.sfdc_id == record.id)
    ).first()
    if row is None and record.deleted:
        return "skipped"
    fields = dict(row.fields or {}) if row is not None else {}
    fields.update(read_values(record))
    person_id, company_id = _owners_of(conn, plan, record, fields, at)
    wanted = {
        "person_id": person_id,
        "company_id": company_id,
        "sfdc_is_deleted": record.deleted,
        "fields": fields,
    }
    if row is None:
        conn.execute(
            insert(table).values(
                object_name=record.object, sfdc_id=record.id, **wanted, created_at=at, updated_at=at
            )
        )
        return "new"
    if all(row._mapping[key] == value for key, value in wanted.items()):
        return "skipped"
    conn.execute(update(table).where(table.c.id == row.id).values(**wanted, updated_at=at))
    return "deleted" if record.deleted and not row.sfdc_is_deleted else "updated"


def _owners_of(
    conn: Connection, plan: ReadPlan, record: SfRecord, fields: dict[str, Any], at: dt.datetime
) -> tuple[int | None, int | None]:
    """The person and company the record's lookups name (the first non-empty of each). A
    lookup to a person leadsync does not hold is reported; the record is kept without it."""
    person_id: int | None = None
    company_id: int | None = None
    for api, value in fields.items():
        if plan.sf_types.get(api) != "reference" or not isinstance(value, str):
            continue
        if value.startswith(PERSON_PREFIXES) and person_id is None:
            person_id = person_of(conn, value)
            if person_id is None:
                unknown_reference(conn, record, api, value, "lead or contact", at)
        elif value.startswith(ACCOUNT_PREFIX) and company_id is None:
            company_id = company_for_account(conn, value, at)
    return person_id, company_id
