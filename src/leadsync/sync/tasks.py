"""Pulled Tasks and Events: each one is an "SFDC Activity" on the person its WhoId names,
keyed by its Salesforce id, so an edit to the task updates that activity instead of adding
another one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..db import activities as activity
from ..db.changes import SALESFORCE
from ..db.schema import activities
from .records import SfRecord
from .related import PageStore, by_page, index, one_by_one, persons_of, rows_where
from .related import values_of as read_values


class ActivityStore(PageStore):
    def load(self, records: Sequence[SfRecord]) -> None:
        logged = activities.c.type == activity.SFDC_ACTIVITY
        found = rows_where(
            self.conn,
            activities,
            lambda ids: activities.c.sfdc_id.in_(ids) & logged,
            [r.id for r in records],
        )
        self.rows = index(found, lambda row: row.sfdc_id)
        self.values = {r.id: read_values(r) for r in records if not r.deleted}
        self.persons = persons_of(self.conn, (v.get("WhoId") for v in self.values.values()))

    def store_one(self, record: SfRecord) -> str | None:
        row = self.rows.get(record.id)
        if record.deleted:
            if row is None or row.attributes.get("isDeleted"):
                return "skipped"
            if not self.claim(record.id):
                return None
            attributes = {**row.attributes, "isDeleted": True}
            self.writes.update(activities, row.id, attributes=attributes)
            return "deleted"
        values = self.values[record.id]
        who = values.get("WhoId")
        if not who:
            return "skipped"  # about an account or an opportunity only: no person to log it on
        person_id = self.persons.get(str(who))
        if person_id is None:
            return self.unknown_reference(record, "WhoId", who, "lead or contact")
        if not self.claim(record.id):
            return None
        attributes = _attributes(record, values, row.attributes if row is not None else {})
        if row is None:
            self.writes.activity(person_id, activity.SFDC_ACTIVITY, attributes, sfdc_id=record.id)
            return "new"
        if row.attributes == attributes and row.person_id == person_id:
            return "skipped"
        self.writes.update(activities, row.id, attributes=attributes, person_id=person_id)
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


store_sfdc_activities = by_page(ActivityStore)
store_sfdc_activity = one_by_one(ActivityStore)
