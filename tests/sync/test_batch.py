"""The batched store of new leads and contacts: the same rows as storing one at a time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from leadsync.db import FieldMapping, LeadDatabase
from leadsync.db.schema import activities, persons, sync_links
from leadsync.sync.batch import store_persons
from leadsync.sync.objects import LEAD, plan
from leadsync.sync.persons import store_person
from leadsync.sync.records import SfRecord

from .test_records import VISIBLE

AT = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
READ = plan(LEAD, VISIBLE, FieldMapping())


def lead(number: int, values: dict[str, Any], *, deleted: bool = False) -> SfRecord:
    return SfRecord("Lead", f"00Q00000000000{number}AAA", AT, deleted, {}, values)


def test_new_records_are_stored_in_order_and_others_one_at_a_time(
    any_db: LeadDatabase,
) -> None:
    full = lead(1, {"Email": "a@example.com", "HasOptedOutOfEmail": True})
    batch = [
        full,
        lead(2, {"NumberOfEmployees": 40}),  # a bad Email left out: another key set
        lead(3, {"Email": "gone@example.com"}, deleted=True),
        full,  # read twice: the second one sees the first stored
    ]
    calls: list[str] = []
    with any_db.transaction() as conn:

        def one_at_a_time(record: SfRecord) -> str:
            calls.append(record.id)
            return store_person(conn, READ, record, AT)

        outcomes = store_persons(conn, READ, batch, AT, one_at_a_time)
    assert outcomes == ["new", "new", "skipped", "skipped"]
    assert calls == [full.id]
    with any_db.transaction() as conn:
        rows = conn.execute(select(persons).order_by(persons.c.id)).all()
        links = conn.execute(select(sync_links).order_by(sync_links.c.id)).all()
        kinds = list(conn.scalars(select(activities.c.type).order_by(activities.c.id)))
    assert [r.sfdc_lead_id for r in rows] == [batch[0].id, batch[1].id]
    assert [r.unsubscribed for r in rows] == [True, False]  # the column default, as before
    assert rows[0].company_id is None and rows[1].company_id is not None
    assert [(r.entity_id, r.baseline) for r in links] == [
        (rows[0].id, dict(batch[0].values)),
        (rows[1].id, dict(batch[1].values)),
    ]
    assert kinds == ["New Lead", "New Lead"]
