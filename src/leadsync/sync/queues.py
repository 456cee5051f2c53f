"""Pulled lead queues: Group rows of Type 'Queue' are owners too (`owners.is_queue`), so a
person owned by a queue shows that queue as its owner and blank sales-owner fields."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, insert, select, update

from ..db.schema import owners
from .objects import ReadPlan
from .records import SfRecord
from .related import values_of as read_values


def store_queue(conn: Connection, plan: ReadPlan, record: SfRecord, at: dt.datetime) -> str:
    values = read_values(record)
    row = conn.execute(select(owners).where(owners.c.sfdc_id == record.id)).first()
    if values.get("Type") != "Queue":
        return "skipped"  # a public group: owns nothing
    columns = {
        "is_queue": True,
        "is_active": not record.deleted,
        "last_name": values.get("Name", row.last_name if row else None),
        "email": values.get("Email", row.email if row else None),
    }
    if row is None:
        conn.execute(insert(owners).values(sfdc_id=record.id, **columns, updated_at=at))
        return "new"
    if all(row._mapping[name] == value for name, value in columns.items()):
        return "skipped"
    conn.execute(
        update(owners).where(owners.c.sfdc_id == record.id).values(**columns, updated_at=at)
    )
    return "deleted" if record.deleted and row.is_active else "updated"
