"""Campaigns and campaign memberships in the lead database.

Local membership edits (a person added to, moved within or removed from a campaign) write the
`campaign_members` row and an outbox row (`sync_changes`, entity "campaign_member", field
"membership") in the caller's transaction, so a crash can never keep one without the other.
The outbox row carries the whole membership before and after the edit (campaign, person,
status, Salesforce id), so it still says what to push after the row itself is gone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from .changes import SALESFORCE
from .schema import campaign_members, campaign_statuses, campaigns, sync_changes
from .types import iso, new_id

MEMBER_ENTITY = "campaign_member"
MEMBERSHIP_FIELD = "membership"


@dataclass(frozen=True)
class Membership:
    id: int
    campaign_id: int
    person_id: int
    status: str | None
    sfdc_id: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "campaignId": self.campaign_id,
            "personId": self.person_id,
            "status": self.status,
            "sfdcId": self.sfdc_id,
        }


def _membership(row: Any) -> Membership:
    return Membership(row.id, row.campaign_id, row.person_id, row.status, row.sfdc_id)


def get_membership(conn: Connection, campaign_id: int, person_id: int) -> Membership | None:
    row = conn.execute(
        select(campaign_members).where(
            campaign_members.c.campaign_id == campaign_id,
            campaign_members.c.person_id == person_id,
        )
    ).first()
    return None if row is None else _membership(row)


def memberships_of(conn: Connection, person_id: int) -> list[Membership]:
    rows = conn.execute(
        select(campaign_members)
        .where(campaign_members.c.person_id == person_id)
        .order_by(campaign_members.c.id)
    )
    return [_membership(row) for row in rows]


def ensure_campaign(conn: Connection, sfdc_id: str, name: str, at: dt.datetime) -> int:
    """The local campaign of a Salesforce campaign, created (id and name only) if the pull has
    not brought it yet; the pull fills in the rest, matching on `sfdc_id`."""
    found = conn.scalar(select(campaigns.c.id).where(campaigns.c.sfdc_id == sfdc_id))
    if found is not None:
        return int(found)
    result = conn.execute(
        insert(campaigns).values(
            sfdc_id=sfdc_id, name=name, fields={}, created_at=at, updated_at=at
        )
    )
    return new_id(result)


def set_membership(
    conn: Connection,
    campaign_id: int,
    person_id: int,
    status: str | None,
    *,
    at: dt.datetime,
    source: str,
    sfdc_id: str | None = None,
    pushed: bool = False,
) -> Membership:
    """Make the person a member with `status` (added if not a member), capturing the edit.

    `sfdc_id` records the CampaignMember id once known (kept if not given). `pushed` says the
    edit is already in Salesforce (a flow action wrote it first): its outbox row is written
    as processed, and the membership's earlier pending edits with it (superseded). Values
    from Salesforce (`source` "salesforce") write no outbox row.
    """
    current = get_membership(conn, campaign_id, person_id)
    if current is None:
        result = conn.execute(
            insert(campaign_members).values(
                campaign_id=campaign_id,
                person_id=person_id,
                status=status,
                sfdc_id=sfdc_id,
                created_at=at,
                updated_at=at,
            )
        )
        after = Membership(new_id(result), campaign_id, person_id, status, sfdc_id)
    else:
        after = Membership(current.id, campaign_id, person_id, status, sfdc_id or current.sfdc_id)
        if after == current:
            return current
        conn.execute(
            update(campaign_members)
            .where(campaign_members.c.id == current.id)
            .values(status=after.status, sfdc_id=after.sfdc_id, updated_at=at)
        )
    if current is None or current.status != status:
        _capture(conn, current, after, at=at, source=source, pushed=pushed)
    elif pushed and source != SALESFORCE:
        _supersede(conn, after.id, at)  # a pending local edit the action has just sent
    return after


def remove_membership(
    conn: Connection,
    campaign_id: int,
    person_id: int,
    *,
    at: dt.datetime,
    source: str,
    pushed: bool = False,
) -> Membership | None:
    """Remove the person from the campaign, capturing the edit; None if not a member."""
    current = get_membership(conn, campaign_id, person_id)
    if current is None:
        return None
    conn.execute(delete(campaign_members).where(campaign_members.c.id == current.id))
    _capture(conn, current, None, at=at, source=source, pushed=pushed)
    return current


def _capture(
    conn: Connection,
    before: Membership | None,
    after: Membership | None,
    *,
    at: dt.datetime,
    source: str,
    pushed: bool,
) -> None:
    if source == SALESFORCE:
        return  # already in Salesforce: nothing to push
    kept = after or before
    assert kept is not None
    if pushed:  # Salesforce now holds the latest state: earlier pending edits are superseded
        _supersede(conn, kept.id, at)
    conn.execute(
        insert(sync_changes).values(
            entity=MEMBER_ENTITY,
            entity_id=kept.id,
            field=MEMBERSHIP_FIELD,
            old=before.as_json() if before else None,
            new=after.as_json() if after else None,
            at=at,
            source=source,
            local_only=False,
            processed_at=at if pushed else None,
        )
    )


# -- Reads (campaigns and members as the pull stores them) ------------------------------------


def _campaign_json(row: Any, statuses: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": row.id,
        "sfdcId": row.sfdc_id,
        "name": row.name,
        "type": row.type,
        "status": row.status,
        "isActive": bool(row.is_active),
        "parentSfdcId": row.parent_sfdc_id,
        "sfdcOwnerId": row.sfdc_owner_id,
        "sfdcIsDeleted": bool(row.sfdc_is_deleted),
        "fields": dict(row.fields or {}),
        "memberStatuses": statuses,
        "updatedAt": iso(row.updated_at),
    }


def _statuses(conn: Connection, campaign_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {cid: [] for cid in campaign_ids}
    if not campaign_ids:
        return found
    rows = conn.execute(
        select(campaign_statuses)
        .where(campaign_statuses.c.campaign_id.in_(campaign_ids))
        .order_by(campaign_statuses.c.sort_order, campaign_statuses.c.id)
    )
    for row in rows:
        found[row.campaign_id].append(
            {
                "label": row.label,
                "isDefault": bool(row.is_default),
                "hasResponded": bool(row.has_responded),
                "sortOrder": row.sort_order,
            }
        )
    return found


def list_campaigns(conn: Connection, *, include_deleted: bool = False) -> list[dict[str, Any]]:
    """Campaigns by name, each with its member statuses."""
    query = select(campaigns)
    if not include_deleted:
        query = query.where(campaigns.c.sfdc_is_deleted.is_(False))
    rows = conn.execute(query.order_by(campaigns.c.name, campaigns.c.id)).all()
    statuses = _statuses(conn, [row.id for row in rows])
    return [_campaign_json(row, statuses[row.id]) for row in rows]


def campaign_by_sfdc_id_or_name(conn: Connection, key: str) -> dict[str, Any] | None:
    """A campaign by its Salesforce id, else by its exact name (the oldest live one of that
    name); None if there is none."""
    row = conn.execute(select(campaigns).where(campaigns.c.sfdc_id == key)).first()
    if row is None:
        row = conn.execute(
            select(campaigns)
            .where(campaigns.c.name == key, campaigns.c.sfdc_is_deleted.is_(False))
            .order_by(campaigns.c.id)
            .limit(1)
        ).first()
    if row is None:
        return None
    return _campaign_json(row, _statuses(conn, [row.id])[row.id])


def members_of(conn: Connection, person_id: int) -> list[dict[str, Any]]:
    """The person's campaign memberships, by campaign name."""
    rows = conn.execute(
        select(campaign_members, campaigns.c.sfdc_id.label("campaign_sfdc_id"), campaigns.c.name)
        .join(campaigns, campaigns.c.id == campaign_members.c.campaign_id)
        .where(campaign_members.c.person_id == person_id)
        .order_by(campaigns.c.name, campaign_members.c.id)
    )
    return [
        {
            "campaignId": row.campaign_id,
            "campaignSfdcId": row.campaign_sfdc_id,
            "campaignName": row.name,
            "status": row.status,
            "sfdcId": row.sfdc_id,
            "updatedAt": iso(row.updated_at),
        }
        for row in rows
    ]


def _supersede(conn: Connection, member_row: int, at: dt.datetime) -> None:
    conn.execute(
        update(sync_changes)
        .where(
            sync_changes.c.entity == MEMBER_ENTITY,
            sync_changes.c.entity_id == member_row,
            sync_changes.c.processed_at.is_(None),
        )
        .values(processed_at=at)
    )
