"""Opportunities in the lead database, as the pull stores them: a person's opportunities are
the ones it has a contact role on (Marketo's rule)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from .schema import opportunities, opportunity_roles
from .types import iso


def opportunities_of(conn: Connection, person_id: int) -> list[dict[str, Any]]:
    """One entry per contact role of the person (an opportunity with two roles for the same
    person appears twice), newest close date first."""
    rows = conn.execute(
        select(
            opportunities,
            opportunity_roles.c.role,
            opportunity_roles.c.is_primary,
            opportunity_roles.c.sfdc_id.label("role_sfdc_id"),
        )
        .join(opportunity_roles, opportunity_roles.c.opportunity_id == opportunities.c.id)
        .where(opportunity_roles.c.person_id == person_id)
        .order_by(
            opportunities.c.close_date.desc().nulls_last(),
            opportunities.c.id,
            opportunity_roles.c.id,
        )
    )
    return [
        {
            "id": row.id,
            "sfdcId": row.sfdc_id,
            "name": row.name,
            "stage": row.stage_name,
            "amount": row.amount,
            "probability": row.probability,
            "closeDate": row.close_date.isoformat() if row.close_date else None,
            "isClosed": bool(row.is_closed),
            "isWon": bool(row.is_won),
            "sfdcAccountId": row.sfdc_account_id,
            "sfdcOwnerId": row.sfdc_owner_id,
            "sfdcIsDeleted": bool(row.sfdc_is_deleted),
            "role": row.role,
            "isPrimary": bool(row.is_primary),
            "roleSfdcId": row.role_sfdc_id,
            "fields": dict(row.fields or {}),
            "updatedAt": iso(row.updated_at),
        }
        for row in rows
    ]
