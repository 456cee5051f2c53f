"""The batched store of new leads and contacts: the same rows as storing one at a time."""

from __future__ import annotations

import datetime as dt
import gc
import itertools
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import sqlite

from leadsync.db import FieldMapping, LeadDatabase
from leadsync.db.schema import activities, companies, persons, sync_links
from leadsync.emulator.org import Org
from leadsync.emulator.seed import seed_demo
from leadsync.sync.batch import (
    COPY_GC_THRESHOLDS,
    _sqlite_stamp,
    fewer_collections,
    store_persons,
)
from leadsync.sync.objects import LEAD, plan
from leadsync.sync.persons import store_person
from leadsync.sync.records import SfRecord

from .conftest import PullerFactory
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

        outcomes = store_persons(conn, READ, batch, AT, one_at_a_time, linked=set())
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


def test_batched_rows_equal_the_rows_of_one_at_a_time(any_db: LeadDatabase) -> None:
    values = {
        "Email": "ada@example.com",
        "HasOptedOutOfEmail": True,
        "NumberOfEmployees": 40,  # a company field: the lead's own company row
        "Renewal__c": "2026-05-01",  # a custom field: persons.custom
    }
    batched, single = lead(1, values), lead(2, values)
    with any_db.transaction() as conn:
        assert store_persons(conn, READ, [batched], AT, lambda r: "unexpected", set()) == ["new"]
        store_person(conn, READ, single, AT)
    with any_db.transaction() as conn:
        people = conn.execute(select(persons).order_by(persons.c.id)).all()
        firms = conn.execute(select(companies).order_by(companies.c.id)).all()
        links = conn.execute(select(sync_links).order_by(sync_links.c.id)).all()
        news = conn.execute(select(activities).order_by(activities.c.id)).all()

    def without(row: Any, *keys: str) -> dict[str, Any]:
        return {k: v for k, v in row._mapping.items() if k not in keys}

    assert len(people) == len(firms) == len(links) == len(news) == 2
    ids = ("id", "sfdc_lead_id", "company_id")
    assert without(people[0], *ids) == without(people[1], *ids)
    assert people[0].custom == {"Renewal__c": "2026-05-01"} and people[0].email == values["Email"]
    assert [p.company_id for p in people] == [f.id for f in firms]
    assert without(firms[0], "id") == without(firms[1], "id")
    assert firms[0].number_of_employees == 40
    assert without(links[0], "id", "sfdc_id", "entity_id") == without(
        links[1], "id", "sfdc_id", "entity_id"
    )
    assert links[0].sfdc_modstamp == AT and links[0].baseline == values
    assert without(news[0], "id", "person_id") == without(news[1], "id", "person_id")
    assert news[0].at == AT and news[0].attributes == {"source": "salesforce", "sfdcType": "Lead"}


def test_the_copy_reports_records_stored_and_expected(
    org: Org, sqlite_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    seed_demo(org, records=120)
    puller = make_puller(sqlite_db, bulk_threshold=50, batch_size=25)
    calls: list[tuple[str, int, int | None]] = []
    puller.progress = lambda name, stored, total: calls.append((name, stored, total))
    result = puller.run()
    leads = [(stored, total) for name, stored, total in calls if name == "Lead"]
    read = result.of("Lead").read
    assert read > 50  # the Bulk path, in several batches
    assert leads[0] == (0, read) and leads[-1] == (read, read)
    steps = [b - a for (a, _), (b, _) in itertools.pairwise(leads)]
    assert all(0 < step <= 25 for step in steps)
    finals = {name: stored for name, stored, _ in calls}
    assert finals == {name: counts.read for name, counts in result.counts.items()}


@pytest.mark.parametrize(
    "moment",
    [
        AT,
        dt.datetime(2026, 1, 2, 3, 4, 5, 123, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        dt.datetime(999, 1, 1, tzinfo=dt.UTC),
    ],
)
def test_sqlite_timestamps_are_written_as_sqlalchemy_writes_them(moment: dt.datetime) -> None:
    dialect = sqlite.dialect()
    column_type = sync_links.c.sfdc_modstamp.type
    processor = column_type.dialect_impl(dialect).bind_processor(dialect)
    assert processor is not None
    assert _sqlite_stamp(moment) == processor(moment)


def test_fewer_collections_restores_the_thresholds_even_on_failure() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), fewer_collections():
        assert gc.get_threshold() == COPY_GC_THRESHOLDS
        raise RuntimeError("a copy failed")
    assert gc.get_threshold() == before
