"""Pulled campaigns, their member statuses and their members.

A member arriving logs "Add to SFDC Campaign" on its person, a status change "Change Status in
SFDC Campaign", a deleted member "Remove from SFDC Campaign". A membership leadsync created
itself (a flow action, pushed) is recognised by campaign and person when it is read back, so
its echo logs nothing new.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from ..db import activities as activity
from ..db.changes import SALESFORCE
from ..db.schema import campaign_members, campaign_statuses, campaigns
from .objects import ReadPlan
from .records import SfRecord
from .related import moved_values, person_of, row_values, stored_values, unknown_reference
from .related import values_of as read_values

COLUMNS: Mapping[str, str] = {
    "Name": "name",
    "Type": "type",
    "Status": "status",
    "IsActive": "is_active",
    "ParentId": "parent_sfdc_id",
    "OwnerId": "sfdc_owner_id",
}
STATUS_COLUMNS: Mapping[str, str] = {
    "Label": "label",
    "IsDefault": "is_default",
    "HasResponded": "has_responded",
    "SortOrder": "sort_order",
}


def store_campaign(conn: Connection, plan: ReadPlan, record: SfRecord, at: dt.datetime) -> str:
    row = conn.execute(select(campaigns).where(campaigns.c.sfdc_id == record.id)).first()
    if row is None and record.deleted:
        return "skipped"
    values = read_values(record)
    if row is None:
        columns = row_values(campaigns, COLUMNS, values, {})
        columns.setdefault("name", record.id)  # Name hidden from the sync user: still a name
        conn.execute(
            insert(campaigns).values(
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
        return "skipped"
    columns = row_values(campaigns, COLUMNS, values, row.fields or {})
    if columns.get("name", row.name) is None:
        columns["name"] = row.name
    conn.execute(
        update(campaigns)
        .where(campaigns.c.id == row.id)
        .values(**columns, sfdc_is_deleted=record.deleted, updated_at=at)
    )
    return "deleted" if record.deleted and not row.sfdc_is_deleted else "updated"


def _campaign(conn: Connection, sfdc_id: Any) -> Any:
    if not sfdc_id:
        return None
    return conn.execute(select(campaigns).where(campaigns.c.sfdc_id == str(sfdc_id))).first()


# -- Member statuses --------------------------------------------------------------------------


def store_campaign_status(
    conn: Connection, plan: ReadPlan, record: SfRecord, at: dt.datetime
) -> str:
    row = conn.execute(
        select(campaign_statuses).where(campaign_statuses.c.sfdc_id == record.id)
    ).first()
    if record.deleted:
        if row is None:
            return "skipped"
        conn.execute(delete(campaign_statuses).where(campaign_statuses.c.id == row.id))
        return "deleted"
    values = read_values(record)
    campaign = _campaign(conn, values.get("CampaignId"))
    if campaign is None:
        return unknown_reference(
            conn, record, "CampaignId", values.get("CampaignId"), "campaign", at
        )
    wanted = {STATUS_COLUMNS[k]: v for k, v in values.items() if k in STATUS_COLUMNS}
    for flag in ("is_default", "has_responded"):
        wanted[flag] = bool(wanted.get(flag, row._mapping[flag] if row else False))
    if row is None:  # a status leadsync holds without its id yet is the same status
        row = conn.execute(
            select(campaign_statuses).where(
                campaign_statuses.c.campaign_id == campaign.id,
                campaign_statuses.c.label == wanted.get("label"),
            )
        ).first()
    if row is None:
        if not wanted.get("label"):
            return unknown_reference(conn, record, "Label", None, "status label", at)
        conn.execute(
            insert(campaign_statuses).values(campaign_id=campaign.id, sfdc_id=record.id, **wanted)
        )
        return "new"
    wanted.update(campaign_id=campaign.id, sfdc_id=record.id)
    if all(row._mapping[key] == value for key, value in wanted.items()):
        return "skipped"
    conn.execute(update(campaign_statuses).where(campaign_statuses.c.id == row.id).values(**wanted))
    return "updated"


# -- Members ----------------------------------------------------------------------------------


def store_member(conn: Connection, plan: ReadPlan, record: SfRecord, at: dt.datetime) -> str:
    row = conn.execute(
        select(campaign_members).where(campaign_members.c.sfdc_id == record.id)
    ).first()
    if record.deleted:
        if row is None:
            return "skipped"  # never held, or already gone (a merge dropped a duplicate)
        conn.execute(delete(campaign_members).where(campaign_members.c.id == row.id))
        _log(conn, activity.REMOVE_FROM_SFDC_CAMPAIGN, row.person_id, row.campaign_id, {}, at)
        return "deleted"
    values = read_values(record)
    campaign = _campaign(conn, values.get("CampaignId"))
    if campaign is None:
        return unknown_reference(
            conn, record, "CampaignId", values.get("CampaignId"), "campaign", at
        )
    field, who = _member_person(values)
    person_id = person_of(conn, str(who)) if who else None
    if person_id is None:
        return unknown_reference(conn, record, field, who, "lead or contact", at)
    status = values.get("Status", row.status if row else None)
    if row is None:  # a membership leadsync made itself, read back: adopt it
        row = conn.execute(
            select(campaign_members).where(
                campaign_members.c.campaign_id == campaign.id,
                campaign_members.c.person_id == person_id,
            )
        ).first()
        if row is None:
            conn.execute(
                insert(campaign_members).values(
                    campaign_id=campaign.id,
                    person_id=person_id,
                    status=status,
                    sfdc_id=record.id,
                    created_at=at,
                    updated_at=at,
                )
            )
            _log(
                conn, activity.ADD_TO_SFDC_CAMPAIGN, person_id, campaign.id, {"status": status}, at
            )
            return "new"
    wanted = {
        "campaign_id": campaign.id,
        "person_id": person_id,
        "status": status,
        "sfdc_id": record.id,
    }
    if all(row._mapping[key] == value for key, value in wanted.items()):
        return "skipped"
    conn.execute(
        update(campaign_members)
        .where(campaign_members.c.id == row.id)
        .values(**wanted, updated_at=at)
    )
    if row.status != status:
        moved = {"oldStatus": row.status, "newStatus": status}
        _log(conn, activity.CHANGE_STATUS_IN_SFDC_CAMPAIGN, person_id, campaign.id, moved, at)
    return "updated"


def _member_person(values: Mapping[str, Any]) -> tuple[str, Any]:
    """The member's person: its contact if it has one (a converted lead's member gets one)."""
    if values.get("ContactId"):
        return "ContactId", values["ContactId"]
    return "LeadId", values.get("LeadId")


def _log(
    conn: Connection,
    type_: str,
    person_id: int,
    campaign_id: int,
    extra: Mapping[str, Any],
    at: dt.datetime,
) -> None:
    campaign = conn.execute(select(campaigns).where(campaigns.c.id == campaign_id)).one()
    attributes = {
        "campaignId": campaign.sfdc_id,
        "campaignName": campaign.name,
        **extra,
        "source": SALESFORCE,
    }
    activity.add_activity(conn, person_id, type_, attributes, at)
