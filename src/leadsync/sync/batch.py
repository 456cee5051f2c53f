"""Storing a batch of leads or contacts with a few multi-row statements instead of several
statements per record.

In an initial copy nearly every record is new: no link, not deleted, not a converted lead. Those
become persons (with their own company rows and "New Lead" activities) and links in one
`executemany` per table. Every other record (a link to merge against, a conversion, a contact
a converted lead already claimed) takes the record-by-record path, in batch order: the new
records collected before it are written first, so the result is the same as storing the batch
one record at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, func, insert, select

from ..db import activities as activity
from ..db.changes import SALESFORCE
from ..db.schema import activities, companies, persons, sync_links
from .objects import ReadPlan
from .records import SfRecord
from .store import company_for_account, split_person_values

StoreOne = Callable[[SfRecord], str]  # the record-by-record path; returns the run count


@dataclass
class _NewPerson:
    """One new person's rows, before its (and its own company's) id is known."""

    record: SfRecord
    person: dict[str, Any]
    company: dict[str, Any] | None  # a lead's own company row; None: an account's or none


@dataclass
class _Pending:
    """New persons collected since the last write, and the account companies known so far."""

    plan: ReadPlan
    at: dt.datetime
    rows: list[_NewPerson] = field(default_factory=list)
    account_companies: dict[str, int] = field(default_factory=dict)


def store_persons(
    conn: Connection,
    plan: ReadPlan,
    batch: list[SfRecord],
    at: dt.datetime,
    store_one: StoreOne,
) -> list[str]:
    """Store a batch of one person object; returns each record's run count, in batch order.
    Call it inside `LeadDatabase.transaction()`: on SQLite the new ids rely on its write lock."""
    linked = _linked_ids(conn, plan.name, [r.id for r in batch])
    pending = _Pending(plan, at, account_companies=_account_companies(conn, batch))
    outcomes: list[str] = []
    seen: set[str] = set()
    for record in batch:
        if record.id in linked or record.id in seen or _is_conversion(record):
            _flush(conn, pending)  # the slow path must see every earlier record stored
            outcomes.append(store_one(record))
        elif record.deleted:
            outcomes.append("skipped")  # deleted before leadsync ever saw it
        else:
            pending.rows.append(_new_person(conn, pending, record))
            outcomes.append("new")
        seen.add(record.id)
    _flush(conn, pending)
    return outcomes


def _is_conversion(record: SfRecord) -> bool:
    return record.object == "Lead" and bool(record.sync.get("ConvertedContactId"))


def _linked_ids(conn: Connection, sfdc_object: str, ids: list[str]) -> set[str]:
    """The ids of the batch that already have a link (one query)."""
    if not ids:
        return set()
    query = select(sync_links.c.sfdc_id).where(
        sync_links.c.sfdc_object == sfdc_object, sync_links.c.sfdc_id.in_(ids)
    )
    return set(conn.scalars(query))


def _account_companies(conn: Connection, batch: Iterable[SfRecord]) -> dict[str, int]:
    """Account id -> company id for the accounts the batch names that exist (one query)."""
    accounts = {str(r.sync["AccountId"]) for r in batch if r.sync.get("AccountId")}
    if not accounts:
        return {}
    query = select(companies.c.sfdc_account_id, companies.c.id).where(
        companies.c.sfdc_account_id.in_(accounts)
    )
    return {str(account): int(company) for account, company in conn.execute(query)}


def _new_person(conn: Connection, pending: _Pending, record: SfRecord) -> _NewPerson:
    """The rows `store.create_person` would insert for `record`, as dictionaries."""
    columns, custom, company_values = split_person_values(pending.plan, record)
    id_column = "sfdc_lead_id" if record.object == "Lead" else "sfdc_contact_id"
    person = {
        **columns,
        "custom": custom,
        "company_id": None,
        "sfdc_type": record.object,
        "sfdc_owner_id": record.sync.get("OwnerId"),
        "created_at": pending.at,
        "updated_at": pending.at,
        id_column: record.id,
    }
    company = None
    account_id = record.sync.get("AccountId")
    if account_id:
        person["company_id"] = _account_company(conn, pending, str(account_id))
    elif any(v is not None for v in company_values.values()):
        company = {**company_values, "custom": {}, "created_at": pending.at}
        company["updated_at"] = pending.at
    return _NewPerson(record, person, company)


def _account_company(conn: Connection, pending: _Pending, account_id: str) -> int:
    known = pending.account_companies.get(account_id)
    if known is None:  # an account not read (yet): its placeholder company, as one at a time
        known = company_for_account(conn, account_id, pending.at)
        pending.account_companies[account_id] = known
    return known


def _flush(conn: Connection, pending: _Pending) -> None:
    """Write the collected new persons: own companies, persons, links, "New Lead" activities."""
    rows, pending.rows = pending.rows, []
    if not rows:
        return
    own = [row for row in rows if row.company is not None]
    own_ids = _insert_ids(conn, companies, [r.company for r in own if r.company is not None])
    for row, company_id in zip(own, own_ids, strict=True):
        row.person["company_id"] = company_id
    person_ids = _insert_ids(conn, persons, [row.person for row in rows])
    stored = list(zip(rows, person_ids, strict=True))
    conn.execute(
        insert(sync_links), [_link_row(row.record, pid, pending.at) for row, pid in stored]
    )
    conn.execute(
        insert(activities), [_activity_row(row.record, pid, pending.at) for row, pid in stored]
    )


def _insert_ids(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert `rows` (one statement per key set: executemany needs one) and return their new
    ids in the order given."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for index, row in enumerate(rows):
        groups.setdefault(tuple(row), []).append(index)
    ids = [0] * len(rows)
    for indexes in groups.values():
        group = [rows[i] for i in indexes]
        for index, new in zip(indexes, _insert_group(conn, table, group), strict=True):
            ids[index] = new
    return ids


def _insert_group(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    if conn.dialect.name == "sqlite":
        # SQLAlchemy cannot order RETURNING rows of a multi-row INSERT on SQLite and falls back
        # to one statement per row. The ids SQLite would pick are max + 1, max + 2, ...: the
        # transaction holds the write lock (BEGIN IMMEDIATE), so they are ours to give.
        start = int(conn.scalar(select(func.max(table.c.id))) or 0)
        ids = list(range(start + 1, start + 1 + len(rows)))
        conn.execute(insert(table), [{**row, "id": i} for row, i in zip(rows, ids, strict=True)])
        return ids
    # PostgreSQL: one INSERT ... SELECT ... ORDER BY ... RETURNING per page of rows.
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return [int(new) for new in conn.execute(statement, rows).scalars()]


def _link_row(record: SfRecord, person_id: int, at: dt.datetime) -> dict[str, Any]:
    return {
        "sfdc_object": record.object,
        "sfdc_id": record.id,
        "entity": "person",
        "entity_id": person_id,
        "baseline": dict(record.values),
        "sfdc_modstamp": record.modstamp,
        "created_at": at,
        "updated_at": at,
    }


def _activity_row(record: SfRecord, person_id: int, at: dt.datetime) -> Mapping[str, Any]:
    return {
        "person_id": person_id,
        "type": activity.NEW_LEAD,
        "at": at,
        "attributes": {"source": SALESFORCE, "sfdcType": record.object},
        "sfdc_id": None,
    }
