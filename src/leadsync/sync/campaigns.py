"""Pulled campaigns, their member statuses and their members.

A member arriving logs "Add to SFDC Campaign" on its person, a status change "Change Status in
SFDC Campaign", a deleted member "Remove from SFDC Campaign". A membership leadsync created
itself (a flow action, pushed) is recognised by campaign and person when it is read back, so
its echo logs nothing new.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, tuple_

from ..db import activities as activity
from ..db.changes import SALESFORCE
from ..db.schema import campaign_members, campaign_statuses, campaigns
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


class CampaignStore(ColumnsStore):
    table = campaigns
    columns = COLUMNS

    def new_row(self, record: SfRecord, columns: dict[str, Any]) -> dict[str, Any]:
        columns.setdefault("name", record.id)  # Name hidden from the sync user: still a name
        return columns

    def kept_row(self, row: Any, columns: dict[str, Any]) -> dict[str, Any]:
        if columns.get("name", row.name) is None:
            columns["name"] = row.name
        return columns


class _CampaignChildStore(PageStore):
    """Statuses and members: rows of `table` keyed by `sfdc_id`, each under a campaign."""

    table: Table

    def load(self, records: Sequence[SfRecord]) -> None:
        sfdc_id = self.table.c.sfdc_id
        self.rows = index(
            rows_where(self.conn, self.table, sfdc_id.in_, [r.id for r in records]),
            lambda row: row.sfdc_id,
        )
        self.values = {r.id: read_values(r) for r in records if not r.deleted}
        wanted = {str(v["CampaignId"]) for v in self.values.values() if v.get("CampaignId")}
        found = rows_where(self.conn, campaigns, campaigns.c.sfdc_id.in_, wanted)
        held = {row.campaign_id for row in self.rows.values()} - {row.id for row in found}
        found += rows_where(self.conn, campaigns, campaigns.c.id.in_, held)
        self.campaigns = index(found, lambda row: row.sfdc_id)
        self.campaign_rows = index(found, lambda row: row.id)

    def campaign_of(self, values: Mapping[str, Any]) -> Any:
        sfdc_id = values.get("CampaignId")
        return self.campaigns.get(str(sfdc_id)) if sfdc_id else None


# -- Member statuses --------------------------------------------------------------------------


class StatusStore(_CampaignChildStore):
    table = campaign_statuses

    def load(self, records: Sequence[SfRecord]) -> None:
        super().load(records)
        ids = [row.id for row in self.campaigns.values()]
        found = rows_where(self.conn, campaign_statuses, campaign_statuses.c.campaign_id.in_, ids)
        self.labels = index(found, _label)

    def store_one(self, record: SfRecord) -> str | None:
        row = self.rows.get(record.id)
        if record.deleted:
            return self.delete_row(campaign_statuses, record, row, row and _label(row))
        values = self.values[record.id]
        campaign = self.campaign_of(values)
        if campaign is None:
            return self.unknown_reference(
                record, "CampaignId", values.get("CampaignId"), "campaign"
            )
        wanted = {STATUS_COLUMNS[k]: v for k, v in values.items() if k in STATUS_COLUMNS}
        for flag in ("is_default", "has_responded"):
            wanted[flag] = bool(wanted.get(flag, row._mapping[flag] if row else False))
        label = ("label", campaign.id, wanted.get("label"))
        held = row if row is not None else self.labels.get(label)
        # a status leadsync holds without its id yet is the same status
        held_keys = (("sfdc", held.sfdc_id), _label(held)) if held is not None else ()
        if not self.claim(("sfdc", record.id), label, *held_keys):
            return None
        if held is None:
            if not wanted.get("label"):
                return self.unknown_reference(record, "Label", None, "status label")
            self.writes.insert(
                campaign_statuses, campaign_id=campaign.id, sfdc_id=record.id, **wanted
            )
            return "new"
        wanted.update(campaign_id=campaign.id, sfdc_id=record.id)
        if not changed(held, wanted):
            return "skipped"
        self.writes.update(campaign_statuses, held.id, **wanted)
        return "updated"


def _label(row: Any) -> tuple[Any, ...]:
    return ("label", row.campaign_id, row.label)


# -- Members ----------------------------------------------------------------------------------


class MemberStore(_CampaignChildStore):
    table = campaign_members

    def load(self, records: Sequence[SfRecord]) -> None:
        super().load(records)
        self.persons = persons_of(self.conn, (_member_person(v)[1] for v in self.values.values()))
        pairs = set()
        for values in self.values.values():
            campaign, who = self.campaign_of(values), _member_person(values)[1]
            if campaign is not None and str(who) in self.persons:
                pairs.add((campaign.id, self.persons[str(who)]))
        pair = tuple_(campaign_members.c.campaign_id, campaign_members.c.person_id)
        found = rows_where(self.conn, campaign_members, pair.in_, pairs)
        self.pairs = index(found, _pair)

    def store_one(self, record: SfRecord) -> str | None:
        row = self.rows.get(record.id)
        if record.deleted:  # skipped if never held, or gone (a merge dropped a duplicate)
            outcome = self.delete_row(campaign_members, record, row, row and _pair(row))
            if row is not None and outcome == "deleted":
                self._log(activity.REMOVE_FROM_SFDC_CAMPAIGN, row.person_id, row.campaign_id, {})
            return outcome
        values = self.values[record.id]
        campaign = self.campaign_of(values)
        if campaign is None:
            return self.unknown_reference(
                record, "CampaignId", values.get("CampaignId"), "campaign"
            )
        field, who = _member_person(values)
        person_id = self.persons.get(str(who)) if who else None
        if person_id is None:
            return self.unknown_reference(record, field, who, "lead or contact")
        status = values.get("Status", row.status if row else None)
        pair = ("pair", campaign.id, person_id)
        # A membership leadsync made itself, read back (no id yet): adopt it.
        held = row if row is not None else self.pairs.get(pair)
        held_keys = (("sfdc", held.sfdc_id), _pair(held)) if held is not None else ()
        if not self.claim(("sfdc", record.id), pair, *held_keys):
            return None
        if held is None:
            self.writes.insert(
                campaign_members,
                campaign_id=campaign.id,
                person_id=person_id,
                status=status,
                sfdc_id=record.id,
                created_at=self.at,
                updated_at=self.at,
            )
            self._log(activity.ADD_TO_SFDC_CAMPAIGN, person_id, campaign.id, {"status": status})
            return "new"
        wanted = {
            "campaign_id": campaign.id,
            "person_id": person_id,
            "status": status,
            "sfdc_id": record.id,
        }
        if not changed(held, wanted):
            return "skipped"
        self.writes.update(campaign_members, held.id, **wanted, updated_at=self.at)
        if held.status != status:
            moved = {"oldStatus": held.status, "newStatus": status}
            self._log(activity.CHANGE_STATUS_IN_SFDC_CAMPAIGN, person_id, campaign.id, moved)
        return "updated"

    def _log(self, type_: str, person_id: int, campaign_id: int, extra: Mapping[str, Any]) -> None:
        campaign = self.campaign_rows[campaign_id]
        attributes = {
            "campaignId": campaign.sfdc_id,
            "campaignName": campaign.name,
            **extra,
            "source": SALESFORCE,
        }
        self.writes.activity(person_id, type_, attributes)


def _pair(row: Any) -> tuple[Any, ...]:
    return ("pair", row.campaign_id, row.person_id)


def _member_person(values: Mapping[str, Any]) -> tuple[str, Any]:
    """The member's person: its contact if it has one (a converted lead's member gets one)."""
    if values.get("ContactId"):
        return "ContactId", values["ContactId"]
    return "LeadId", values.get("LeadId")


store_campaigns = by_page(CampaignStore)
store_campaign = one_by_one(CampaignStore)
store_campaign_statuses = by_page(StatusStore)
store_campaign_status = one_by_one(StatusStore)
store_members = by_page(MemberStore)
store_member = one_by_one(MemberStore)
