"""Pulled updates stored a page at a time (sync/updates.py) leave the lead database exactly as
storing them one record at a time does: same persons, links, activities, conflicts, errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Connection, Table, select

from leadsync.db import LeadDatabase
from leadsync.db.schema import (
    activities,
    companies,
    persons,
    sync_changes,
    sync_conflicts,
    sync_errors,
    sync_links,
)
from leadsync.db.sync_state import Watermark
from leadsync.emulator import writes
from leadsync.emulator.org import Org
from leadsync.emulator.sessions import Session
from leadsync.salesforce import soql
from leadsync.salesforce.client import SalesforceClient
from leadsync.sync import Puller, ReadPlan
from leadsync.sync import pull as pull_module
from leadsync.sync.records import SfRecord, decode
from leadsync.sync.store import Counts

from ..conftest import ApiClient
from .conftest import PullerFactory
from .helpers import person_by_sfdc
from .test_pull_cycle import copied, edit, lead_ids

AT = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


class _Rollback(Exception):
    """Ends a store pass: its writes are rolled back once the state is read."""


def _page(puller: Puller, client: SalesforceClient, obj: str) -> tuple[ReadPlan, list[SfRecord]]:
    """Every record of `obj`, deleted ones included, as one page of a cycle reads them."""
    [read_plan] = [p for p in puller.plans() if p.name == obj]
    statement = soql.select(obj, read_plan.select, order_by=pull_module.ORDER)
    raw = client.query(statement, include_deleted=True)
    return read_plan, [decode(read_plan, r) for r in raw]


def _rows(conn: Connection, table: Table, order: tuple[str, ...] = ("id",)) -> list[Any]:
    """The table's rows without surrogate ids (PostgreSQL sequences differ between passes),
    in the given order."""
    columns = [c for c in table.c if c.name != "id" or table is persons or table is companies]
    query = select(*columns).order_by(*(table.c[name] for name in order))
    return [tuple(row) for row in conn.execute(query)]


def _state(conn: Connection) -> dict[str, Any]:
    return {
        "persons": _rows(conn, persons),
        "companies": _rows(conn, companies),
        "links": _rows(conn, sync_links, ("sfdc_object", "sfdc_id")),
        # Per person in the order written; the page path may interleave persons differently.
        "activities": _rows(conn, activities, ("person_id", "id")),
        "conflicts": _rows(conn, sync_conflicts, ("person_id", "field")),
        "changes": _rows(conn, sync_changes),
        "errors": _rows(conn, sync_errors, ("sfdc_id", "code")),
    }


@contextmanager
def _one_at_a_time(monkeypatch: pytest.MonkeyPatch, batched: bool) -> Iterator[None]:
    with monkeypatch.context() as patch:
        if not batched:
            patch.setattr(pull_module, "store_updates", lambda *args: {})
        yield


def _store(
    db: LeadDatabase,
    puller: Puller,
    read_plan: ReadPlan,
    batch: list[SfRecord],
    monkeypatch: pytest.MonkeyPatch,
    *,
    batched: bool,
) -> tuple[dict[str, Any], Counts]:
    """Store one page as a cycle does (fallback included), read the state, roll it back."""
    counts = Counts()
    state: dict[str, Any] = {}
    monkeypatch.setattr(db, "clock", lambda: AT)
    with _one_at_a_time(monkeypatch, batched):
        try:
            with db.transaction() as conn:
                mark = Watermark(read_plan.name, AT, None, True)
                puller._store_batch(read_plan, batch, mark, counts)
                state = _state(conn)
                raise _Rollback
        except _Rollback:
            pass
    return state, counts


def _same_either_way(
    db: LeadDatabase,
    puller: Puller,
    read_plan: ReadPlan,
    batch: list[SfRecord],
    monkeypatch: pytest.MonkeyPatch,
) -> Counts:
    one_state, one_counts = _store(db, puller, read_plan, batch, monkeypatch, batched=False)
    page_state, page_counts = _store(db, puller, read_plan, batch, monkeypatch, batched=True)
    for table, rows in one_state.items():
        assert page_state[table] == rows, table
    assert page_counts == one_counts
    return page_counts


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The Salesforce ids the page path stored (re-reads of stored versions left out)."""
    stored: list[str] = []
    real = pull_module.store_updates

    def spy(conn: Any, plan: Any, batch: list[SfRecord], at: Any, links: Any) -> dict[int, str]:
        outcomes = real(conn, plan, batch, at, links)
        stored.extend(batch[n].id for n, outcome in outcomes.items() if outcome != "skipped")
        return outcomes

    monkeypatch.setattr(pull_module, "store_updates", spy)
    return stored


def test_a_page_of_lead_updates_stores_as_one_at_a_time(
    org: Org,
    admin: Session,
    sf_admin: ApiClient,
    client: SalesforceClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    puller = copied(org, any_db, make_puller)
    plain, conflict, owner, deleted, bad = lead_ids(sf_admin, 5)
    edit(org, admin, "Lead", plain, Title="Pulled title", City="Lyon")
    local = person_by_sfdc(any_db, conflict)
    any_db.update_person(local["id"], {"title": "Local title", "phone": "555-0100"})
    edit(org, admin, "Lead", conflict, Title="Salesforce title", City="Nice")
    admin_user = org.find_user("admin@example.com")
    assert admin_user is not None
    edit(org, admin, "Lead", owner, OwnerId=admin_user.id)
    [result] = writes.delete(org, admin, [deleted])
    assert result.as_json()["success"]
    edit(org, admin, "Lead", bad, Title="Next to a bad value")
    org.clock.advance(1)
    read_plan, batch = _page(puller, client, "Lead")
    # A value the decoder could not read is left out of the record and listed as a problem.
    batch = [
        dataclasses.replace(
            r,
            values={k: v for k, v in r.values.items() if k != "Phone"},
            problems={"Phone": "expected text, got dict"},
        )
        if r.id == bad
        else r
        for r in batch
    ]
    counts = _same_either_way(any_db, puller, read_plan, batch, monkeypatch)
    assert (counts.updated, counts.deleted, counts.failed) == (4, 1, 0)
    assert [p[:2] for p in counts.problems] == [(bad, "Phone")]
    stored = _spy(monkeypatch)
    _store(any_db, puller, read_plan, batch, monkeypatch, batched=True)
    assert sorted(stored) == sorted([plain, conflict, owner, bad])  # the deletion went one by one


def test_a_value_that_does_not_validate_fails_its_record_either_way(
    org: Org,
    admin: Session,
    sf_admin: ApiClient,
    client: SalesforceClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    puller = copied(org, any_db, make_puller)
    good, bad = lead_ids(sf_admin, 2)
    edit(org, admin, "Lead", good, Title="Good title")
    edit(org, admin, "Lead", bad, Title="Bad email")
    org.clock.advance(1)
    read_plan, batch = _page(puller, client, "Lead")
    batch = [
        dataclasses.replace(r, values={**r.values, "Email": "not an email"}) if r.id == bad else r
        for r in batch
    ]
    counts = _same_either_way(any_db, puller, read_plan, batch, monkeypatch)
    assert (counts.updated, counts.failed) == (1, 1)


def test_a_page_of_contact_updates_stores_as_one_at_a_time(
    org: Org,
    admin: Session,
    sf_admin: ApiClient,
    client: SalesforceClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    puller = copied(org, any_db, make_puller)
    query = "SELECT Id, AccountId FROM Contact WHERE AccountId != null ORDER BY Id LIMIT 3"
    plain, conflict, moved = sf_admin.query(query)["records"]
    edit(org, admin, "Contact", plain["Id"], Title="Pulled title")
    local = person_by_sfdc(any_db, conflict["Id"])
    any_db.update_person(local["id"], {"title": "Local title"})
    edit(org, admin, "Contact", conflict["Id"], Title="Salesforce title")
    others = sf_admin.query("SELECT Id FROM Account ORDER BY Id")["records"]
    other = next(a["Id"] for a in others if a["Id"] != moved["AccountId"])
    edit(org, admin, "Contact", moved["Id"], AccountId=other)
    org.clock.advance(1)
    read_plan, batch = _page(puller, client, "Contact")
    counts = _same_either_way(any_db, puller, read_plan, batch, monkeypatch)
    assert counts.updated == 3
    stored = _spy(monkeypatch)
    _store(any_db, puller, read_plan, batch, monkeypatch, batched=True)
    assert sorted(stored) == sorted([plain["Id"], conflict["Id"]])  # the account move: one by one
