"""Pulled opportunities and their contact roles.

An opportunity belongs to persons only through its contact roles (Marketo's rule: an
opportunity without roles is synced but attributed to nobody). A role appearing for a person
logs "Add to Opportunity" on that person; a change to an opportunity logs "Update Opportunity"
on every person with a role, one activity per field that really moved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from ..db import activities as activity
from ..db.changes import SALESFORCE
from ..db.schema import opportunities, opportunity_roles
from .objects import ReadPlan
from .records import SfRecord
from .related import moved_values, person_of, row_values, stored_values, unknown_reference
from .related import values_of as read_values

REMOVE_FROM_OPPORTUNITY = "Remove from Opportunity"

# Opportunity fields with a column of their own; every other field goes to `fields` JSON.
COLUMNS: Mapping[str, str] = {
    "Name": "name",
    "StageName": "stage_name",
    "Amount": "amount",
    "Probability": "probability",
    "CloseDate": "close_date",
    "IsClosed": "is_closed",
    "IsWon": "is_won",
    "AccountId": "sfdc_account_id",
    "OwnerId": "sfdc_owner_id",
}


def store_opportunity(conn: Connection, plan: ReadPlan, record: SfRecord, at: dt.datetime) -> str:
    row = conn.execute(select(opportunities).where(opportunities.c.sfdc_id == record.id)).first()
    if row is None and record.deleted:
        return "skipped"  # deleted before leadsync ever saw it
    values = read_values(record)
    if row is None:
        columns = row_values(opportunities, COLUMNS, values, {})
        conn.execute(
            insert(opportunities).values(
                sfdc_id=record.id,
                **columns,
                sfdc_is_deleted=record.deleted,
                created_at=at,
                updated_at=at,
            )
        )
        return "new"
    moved = moved_values(stored_values(row, COLUMNS), values)
    if not moved and record.deleted == row.sfdc_is_deleted:
        return "skipped"  # a re-read, or a save that changed nothing leadsync keeps
    columns = row_values(opportunities, COLUMNS, values, row.fields or {})
    conn.execute(
        update(opportunities)
        .where(opportunities.c.id == row.id)
        .values(**columns, sfdc_is_deleted=record.deleted, updated_at=at)
    )
    if moved:
        _log_update(conn, row.id, record.id, values.get("Name", row.name), moved, at)
    return "deleted" if record.deleted and not row.sfdc_is_deleted else "updated"


def _log_update(
    conn: Connection,
    opportunity_id: int,
    sfdc_id: str,
    name: Any,
    moved: Mapping[str, tuple[Any, Any]],
    at: dt.datetime,
) -> None:
    people = list(
        conn.scalars(
            select(opportunity_roles.c.person_id)
            .where(opportunity_roles.c.opportunity_id == opportunity_id)
            .distinct()
            .order_by(opportunity_roles.c.person_id)
        )
    )
    for field, (old, new) in moved.items():
        attributes = {
            "opportunityId": sfdc_id,
            "opportunityName": name,
            "field": field,
            "oldValue": old,
            "newValue": new,
            "source": SALESFORCE,
        }
        activity.add_activities(conn, people, activity.UPDATE_OPPORTUNITY, attributes, at)


# -- Contact roles ----------------------------------------------------------------------------


def store_role(conn: Connection, plan: ReadPlan, record: SfRecord, at: dt.datetime) -> str:
    row = conn.execute(
        select(opportunity_roles).where(opportunity_roles.c.sfdc_id == record.id)
    ).first()
    if record.deleted:
        if row is None:
            return "skipped"
        conn.execute(delete(opportunity_roles).where(opportunity_roles.c.id == row.id))
        _log_role(conn, REMOVE_FROM_OPPORTUNITY, row.person_id, row.opportunity_id, row, at)
        return "deleted"
    values = read_values(record)
    opportunity_sfdc_id = values.get("OpportunityId")
    opportunity = conn.execute(
        select(opportunities.c.id).where(opportunities.c.sfdc_id == opportunity_sfdc_id)
    ).first()
    if opportunity is None:
        return unknown_reference(
            conn, record, "OpportunityId", opportunity_sfdc_id, "opportunity", at
        )
    contact_id = values.get("ContactId")
    person_id = person_of(conn, str(contact_id)) if contact_id else None
    if person_id is None:
        return unknown_reference(conn, record, "ContactId", contact_id, "contact", at)
    wanted = {
        "opportunity_id": opportunity.id,
        "person_id": person_id,
        "role": values.get("Role", row.role if row else None),
        "is_primary": bool(values.get("IsPrimary", row.is_primary if row else False)),
    }
    if row is None:
        conn.execute(insert(opportunity_roles).values(sfdc_id=record.id, **wanted, updated_at=at))
        _log_role(conn, activity.ADD_TO_OPPORTUNITY, person_id, opportunity.id, wanted, at)
        return "new"
    if all(row._mapping[key] == value for key, value in wanted.items()):
        return "skipped"
    conn.execute(
        update(opportunity_roles)
        .where(opportunity_roles.c.id == row.id)
        .values(**wanted, updated_at=at)
    )
    if row.person_id != person_id:  # the role moved to another contact
        _log_role(conn, REMOVE_FROM_OPPORTUNITY, row.person_id, row.opportunity_id, row, at)
        _log_role(conn, activity.ADD_TO_OPPORTUNITY, person_id, opportunity.id, wanted, at)
    return "updated"


def _log_role(
    conn: Connection, type_: str, person_id: int, opportunity_id: int, role: Any, at: dt.datetime
) -> None:
    opportunity = conn.execute(
        select(opportunities).where(opportunities.c.id == opportunity_id)
    ).one()
    values = role if isinstance(role, Mapping) else role._mapping
    attributes = {
        "opportunityId": opportunity.sfdc_id,
        "opportunityName": opportunity.name,
        "role": values["role"],
        "isPrimary": bool(values["is_primary"]),
        "stage": opportunity.stage_name,
        "amount": opportunity.amount,
        "source": SALESFORCE,
    }
    activity.add_activity(conn, person_id, type_, attributes, at)
