"""Pulled Tasks and Events: each one is an "SFDC Activity" on the person its WhoId names,
keyed by its Salesforce id, so an edit to the task updates that activity instead of adding
another one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, select, update

from ..db import activities as activity
from ..db.changes import SALESFORCE
from ..db.schema import activities
from .objects import ReadPlan
from .records import SfRecord
from .related import person_of, unknown_reference
from .related import values_of as read_values


def store_sfdc_activity(conn: Connection, plan: ReadPlan, record: SfRecord, at: dt.datetime) -> str:
    row = conn.execute(
        select(activities).where(
            activities.c.sfdc_id == record.id, activities.c.type == activity.SFDC_ACTIVITY
        )
    ).first()
    if record.deleted:
        if row is None or row.attributes.get("isDeleted"):
            return "skipped"
        attributes = {**row.attributes, "isDeleted": True}
        conn.execute(
            update(activities).where(activities.c.id == row.id).values(attributes=attributes)
        )
        return "deleted"
    values = read_values(record)
    who = values.get("WhoId")
    if not who:
        return "skipped"  # about an account or an opportunity only: no person to log it on
    person_id = person_of(conn, str(who))
    if person_id is None:
        return unknown_reference(conn, record, "WhoId", who, "lead or contact", at)
    attributes = _attributes(record, values, row.attributes if row is not None else {})
    if row is None:
        activity.add_activity(
            conn, person_id, activity.SFDC_ACTIVITY, attributes, at, sfdc_id=record.id
        )
        return "new"
    if row.attributes == attributes and row.person_id == person_id:
        return "skipped"
    conn.execute(
        update(activities)
        .where(activities.c.id == row.id)
        .values(attributes=attributes, person_id=person_id)
    )
    return "updated"


def _attributes(record: SfRecord, values: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """A field not read (hidden, or a bad value) keeps its stored value."""
    read = {
        "subject": "Subject",
        "status": "Status",
        "activityDate": "ActivityDate",
        "description": "Description",
    }
    attributes = {key: values.get(api, stored.get(key)) for key, api in read.items()}
    attributes.update(type=record.object, source=SALESFORCE)
    return attributes
