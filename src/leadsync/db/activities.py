"""The per-person activity log (Marketo's activity names where one exists)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, insert, select

from .schema import activities
from .types import iso, new_id

NEW_LEAD = "New Lead"
CHANGE_DATA_VALUE = "Change Data Value"
SYNC_LEAD_TO_SFDC = "Sync Lead to SFDC"
CONVERT_LEAD = "Convert Lead"
MERGE_LEADS = "Merge Leads"
DELETE_LEAD_FROM_SFDC = "Delete Lead from SFDC"
ADD_TO_SFDC_CAMPAIGN = "Add to SFDC Campaign"
CHANGE_STATUS_IN_SFDC_CAMPAIGN = "Change Status in SFDC Campaign"
REMOVE_FROM_SFDC_CAMPAIGN = "Remove from SFDC Campaign"
CHANGE_OWNER = "Change Owner"
SFDC_ACTIVITY = "SFDC Activity"
ADD_TO_OPPORTUNITY = "Add to Opportunity"
UPDATE_OPPORTUNITY = "Update Opportunity"


def add_activity(
    conn: Connection,
    person_id: int,
    type_: str,
    attributes: Mapping[str, Any],
    at: dt.datetime,
    *,
    sfdc_id: str | None = None,
) -> int:
    result = conn.execute(
        insert(activities).values(
            person_id=person_id, type=type_, at=at, attributes=dict(attributes), sfdc_id=sfdc_id
        )
    )
    return new_id(result)


def add_activities(
    conn: Connection,
    person_ids: list[int],
    type_: str,
    attributes: Mapping[str, Any],
    at: dt.datetime,
) -> None:
    """The same activity on many persons (one statement)."""
    if person_ids:
        rows = [
            {
                "person_id": pid,
                "type": type_,
                "at": at,
                "attributes": dict(attributes),
                "sfdc_id": None,
            }
            for pid in person_ids
        ]
        conn.execute(insert(activities), rows)


def list_activities(
    conn: Connection, person_id: int, *, types: tuple[str, ...] | None = None
) -> list[dict[str, Any]]:
    """A person's activities, oldest first (ties in `at` keep insertion order)."""
    query = select(activities).where(activities.c.person_id == person_id)
    if types:
        query = query.where(activities.c.type.in_(types))
    rows = conn.execute(query.order_by(activities.c.at, activities.c.id))
    return [
        {
            "id": row.id,
            "personId": row.person_id,
            "type": row.type,
            "at": iso(row.at),
            "attributes": row.attributes,
            **({"sfdcId": row.sfdc_id} if row.sfdc_id else {}),
        }
        for row in rows
    ]
