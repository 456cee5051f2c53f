"""Pulled opportunities and their contact roles.

An opportunity belongs to persons only through its contact roles (Marketo's rule: an
opportunity without roles is synced but attributed to nobody). A role appearing for a person
logs "Add to Opportunity" on that person; a change to an opportunity logs "Update Opportunity"
on every person with a role, one activity per field that really moved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..db import activities as activity
from ..db.changes import SALESFORCE
from ..db.schema import opportunities, opportunity_roles
from .records import SfRecord
from .related import (
    ColumnsStore,
    PageStore,
    by_page,
    changed,
    index,
    one_by_one,
    persons_of,
    rows_where,
)
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


class OpportunityStore(ColumnsStore):
    table = opportunities
    columns = COLUMNS

    def load(self, records: Sequence[SfRecord]) -> None:
        super().load(records)
        held = [row.id for row in self.rows.values()]
        roles = rows_where(
            self.conn, opportunity_roles, opportunity_roles.c.opportunity_id.in_, held
        )
        self.people: dict[int, list[int]] = {}
        for role in roles:
            self.people.setdefault(role.opportunity_id, []).append(role.person_id)

    def moved(self, row: Any, values: Mapping[str, Any], moved: Mapping[str, Any]) -> None:
        people = sorted(set(self.people.get(row.id, [])))
        for field, (old, new) in moved.items():
            attributes = {
                "opportunityId": row.sfdc_id,
                "opportunityName": values.get("Name", row.name),
                "field": field,
                "oldValue": old,
                "newValue": new,
                "source": SALESFORCE,
            }
            for person_id in people:
                self.writes.activity(person_id, activity.UPDATE_OPPORTUNITY, attributes)


# -- Contact roles ----------------------------------------------------------------------------


class RoleStore(PageStore):
    def load(self, records: Sequence[SfRecord]) -> None:
        table = opportunity_roles
        found = rows_where(self.conn, table, table.c.sfdc_id.in_, [r.id for r in records])
        self.rows = index(found, lambda row: row.sfdc_id)
        values = [read_values(r) for r in records if not r.deleted]
        named = rows_where(
            self.conn,
            opportunities,
            opportunities.c.sfdc_id.in_,
            [v["OpportunityId"] for v in values if v.get("OpportunityId")],
        )
        held = {row.opportunity_id for row in self.rows.values()} - {row.id for row in named}
        named += rows_where(self.conn, opportunities, opportunities.c.id.in_, held)
        self.opportunities = index(named, lambda row: row.sfdc_id)
        self.opportunity_rows = index(named, lambda row: row.id)
        self.persons = persons_of(self.conn, (v.get("ContactId") for v in values))

    def store_one(self, record: SfRecord) -> str | None:
        row = self.rows.get(record.id)
        if record.deleted:
            outcome = self.delete_row(opportunity_roles, record, row, row and _key(row._mapping))
            if row is not None and outcome == "deleted":
                self._log(REMOVE_FROM_OPPORTUNITY, row.person_id, row.opportunity_id, row._mapping)
            return outcome
        values = read_values(record)
        opportunity_sfdc_id = values.get("OpportunityId")
        opportunity = self.opportunities.get(opportunity_sfdc_id)
        if opportunity is None:
            return self.unknown_reference(
                record, "OpportunityId", opportunity_sfdc_id, "opportunity"
            )
        contact_id = values.get("ContactId")
        person_id = self.persons.get(str(contact_id)) if contact_id else None
        if person_id is None:
            return self.unknown_reference(record, "ContactId", contact_id, "contact")
        wanted = {
            "opportunity_id": opportunity.id,
            "person_id": person_id,
            "role": values.get("Role", row.role if row else None),
            "is_primary": bool(values.get("IsPrimary", row.is_primary if row else False)),
        }
        # The (opportunity, person, role) is unique too: a role moving onto the triple of
        # another role of the page waits for that one.
        held = _key(row._mapping) if row is not None else None
        if not self.claim(("sfdc", record.id), _key(wanted), held):
            return None
        if row is None:
            self.writes.insert(opportunity_roles, sfdc_id=record.id, **wanted, updated_at=self.at)
            self._log(activity.ADD_TO_OPPORTUNITY, person_id, opportunity.id, wanted)
            return "new"
        if not changed(row, wanted):
            return "skipped"
        self.writes.update(opportunity_roles, row.id, **wanted, updated_at=self.at)
        if row.person_id != person_id:  # the role moved to another contact
            self._log(REMOVE_FROM_OPPORTUNITY, row.person_id, row.opportunity_id, row._mapping)
            self._log(activity.ADD_TO_OPPORTUNITY, person_id, opportunity.id, wanted)
        return "updated"

    def _log(
        self, type_: str, person_id: int, opportunity_id: int, role: Mapping[str, Any]
    ) -> None:
        opportunity = self.opportunity_rows[opportunity_id]
        attributes = {
            "opportunityId": opportunity.sfdc_id,
            "opportunityName": opportunity.name,
            "role": role["role"],
            "isPrimary": bool(role["is_primary"]),
            "stage": opportunity.stage_name,
            "amount": opportunity.amount,
            "source": SALESFORCE,
        }
        self.writes.activity(person_id, type_, attributes)


def _key(role: Mapping[str, Any]) -> tuple[Any, ...]:
    return ("role", role["opportunity_id"], role["person_id"], role["role"])


store_opportunities = by_page(OpportunityStore)
store_opportunity = one_by_one(OpportunityStore)
store_roles = by_page(RoleStore)
store_role = one_by_one(RoleStore)
