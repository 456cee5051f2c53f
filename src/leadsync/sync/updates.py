"""Pulled changes to leads and contacts leadsync already holds, a page at a time.

An incremental cycle mostly reads records that are linked already and changed a few fields. For
a page of them this reads the links and the persons in one query each, merges every record
against its baseline with the same rules as `persons.store_person` (conflicts settled by rule),
and writes with one `executemany` per table: person columns and custom JSON, conflicts,
"Change Data Value" activities, link baselines. Pulled values never enter the outbox.

Only plain updates take this way: the record owns its person (the person's Salesforce id is
this record's), is neither deleted, nor converted, nor undeleted, keeps its account, and changes
only person (not company) fields that validate. Everything else is left to the one-at-a-time
path, which stores it after these; no other record of the page can touch a person stored here
(each person holds one lead id and one contact id), so the result is the one the one-at-a-time
path gives, record by record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from ..db import activities as activity
from ..db import persons as person_api
from ..db.changes import SALESFORCE
from ..db.custom_fields import CustomField, custom_fields
from ..db.fields import BY_NAME, BadValue, coerce
from ..db.schema import activities, companies, persons, sync_conflicts, sync_links
from ..db.sync_state import Link
from ..errors import ValidationError
from .objects import ReadPlan
from .persons import last_local_edit
from .records import SfRecord
from .rules import LEADSYNC, Rule, settle
from .store import (
    changed_fields,
    owner_and_account_kept,
    owners_and_accounts,
    person_version_stored,
)

CHUNK = 1_000  # ids per IN list


@dataclass
class _Writes:
    """Everything a page of updates writes, one list per statement."""

    persons: dict[tuple[str, ...], list[dict[str, Any]]] = field(default_factory=dict)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Page:
    """What the merge of one page needs, read up front."""

    plan: ReadPlan
    at: dt.datetime
    rows: Mapping[int, Any]  # person id -> persons row (+ "_account": its account id)
    local: Mapping[int, dict[str, Any]]  # person id -> person JSON, for records with changes
    targets: dict[str, person_api.Target | None] = field(default_factory=dict)
    rules: dict[str, Rule] = field(default_factory=dict)
    custom: Mapping[str, CustomField] | None = None


def store_updates(
    conn: Connection,
    plan: ReadPlan,
    batch: Sequence[SfRecord],
    at: dt.datetime,
    links: Mapping[str, Link],
) -> dict[int, str]:
    """Store the page's plain updates (and re-reads of stored versions); returns {position
    in the batch: run count} of the records stored. The others are the caller's to store.
    `links` are the batch's links by Salesforce id (`load_links`)."""
    outcomes: dict[int, str] = {}
    todo: list[tuple[int, SfRecord, Link]] = []
    stored_versions: list[tuple[int, SfRecord, Link]] = []
    for position, record in enumerate(batch):
        link = links.get(record.id)
        if link is None or link.entity != "person":
            continue
        if person_version_stored(link, record):
            stored_versions.append((position, record, link))
        elif not record.deleted and not _converted(record):
            todo.append((position, record, link))
    kept = owners_and_accounts(conn, [link.entity_id for _, _, link in stored_versions])
    for position, record, link in stored_versions:
        if owner_and_account_kept(record, kept.get(link.entity_id)):
            outcomes[position] = "skipped"  # a lookback re-read of a stored version
        else:
            todo.append((position, record, link))
    todo.sort(key=lambda item: item[0])
    if not todo:
        return outcomes
    rows = _person_rows(conn, [link.entity_id for _, _, link in todo])
    changing = [link.entity_id for _, r, link in todo if changed_fields(r, link.baseline)]
    page = _Page(plan, at, rows, _person_json(conn, changing))
    writes = _Writes()
    for position, record, link in todo:
        outcome = _merge(conn, page, record, link, writes)
        if outcome is not None:
            outcomes[position] = outcome
    _write(conn, writes)
    return outcomes


def _converted(record: SfRecord) -> bool:
    return record.object == "Lead" and bool(record.sync.get("ConvertedContactId"))


def _chunks(ids: Sequence[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


def load_links(conn: Connection, sfdc_object: str, ids: list[str]) -> dict[str, Link]:
    """The links of these records, by Salesforce id (one query per `CHUNK` ids)."""
    found: dict[str, Link] = {}
    for chunk in _chunks(ids):
        query = select(sync_links).where(
            sync_links.c.sfdc_object == sfdc_object, sync_links.c.sfdc_id.in_(chunk)
        )
        for r in conn.execute(query):
            found[r.sfdc_id] = Link(
                r.sfdc_object, r.sfdc_id, r.entity, r.entity_id, dict(r.baseline), r.sfdc_modstamp
            )
    return found


def _person_rows(conn: Connection, ids: list[int]) -> dict[int, Any]:
    """Persons rows with their company's account id, locked as `update_person` locks them."""
    rows: dict[int, Any] = {}
    joined = persons.outerjoin(companies, persons.c.company_id == companies.c.id)
    for chunk in _chunks(ids):
        query = (
            select(persons, companies.c.sfdc_account_id.label("_account"))
            .select_from(joined)
            .where(persons.c.id.in_(chunk))
            .with_for_update(of=persons)
        )
        rows.update((row.id, row) for row in conn.execute(query))
    return rows


def _person_json(conn: Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(ids):
        query = person_api._person_select().where(persons.c.id.in_(chunk))
        for row in conn.execute(query):
            person = person_api._to_json(row)
            found[int(person["id"])] = person
    return found


# -- one record ------------------------------------------------------------------------------


def _merge(
    conn: Connection, page: _Page, record: SfRecord, link: Link, writes: _Writes
) -> str | None:
    """The record's writes added to `writes` and its run count; None: not a plain update."""
    row = page.rows.get(link.entity_id)
    if row is None or not _plain(row, record):
        return None
    columns: dict[str, Any] = {}
    owner = record.sync.get("OwnerId")
    if owner != row.sfdc_owner_id:
        columns["sfdc_owner_id"] = owner
    moved = bool(columns)
    conflicts: list[dict[str, Any]] = []
    fields = _fields_to_write(conn, page, record, link, conflicts)
    if fields is None:
        return None
    values = _resolve(conn, page, fields)
    if values is None:
        return None
    logged = _apply(row, values, columns)
    if columns:
        columns["updated_at"] = page.at
        writes.persons.setdefault(tuple(sorted(columns)), []).append({"_pid": row.id, **columns})
    writes.conflicts += conflicts
    for name, (old, new) in logged:
        attributes = {"field": name, "oldValue": old, "newValue": new, "source": SALESFORCE}
        writes.activities.append(
            {
                "person_id": row.id,
                "type": activity.CHANGE_DATA_VALUE,
                "at": page.at,
                "attributes": attributes,
                "sfdc_id": None,
            }
        )
    read = {f.api_name for f in page.plan.data}
    kept = {api: value for api, value in link.baseline.items() if api not in read}
    writes.links.append(
        {
            "_object": record.object,
            "_sfdc_id": record.id,
            "baseline": {**kept, **record.values},
            "sfdc_modstamp": record.modstamp,
            "updated_at": page.at,
        }
    )
    return "updated" if fields or moved else "skipped"


def _plain(row: Any, record: SfRecord) -> bool:
    """The record is its person's own Salesforce record, not undeleted, and keeps its account."""
    own_id = row.sfdc_lead_id if record.object == "Lead" else row.sfdc_contact_id
    if row.sfdc_type != record.object or own_id != record.id or row.sfdc_is_deleted:
        return False
    if record.object != "Contact":
        return True
    account = record.sync.get("AccountId")
    if account:
        return bool(row._account == str(account))
    return row.company_id is None


def _fields_to_write(
    conn: Connection,
    page: _Page,
    record: SfRecord,
    link: Link,
    conflicts: list[dict[str, Any]],
) -> dict[str, Any] | None:
    """As `persons._fields_to_write`, with the conflicts collected instead of written."""
    changes = changed_fields(record, link.baseline)
    if not changes:
        return {}
    local = page.local.get(link.entity_id)
    if local is None:
        return None
    by_api = {f.api_name: f for f in page.plan.data}
    fields: dict[str, Any] = {}
    for api, new in changes.items():
        name = by_api[api].name
        rule = page.rules.get(name)
        if rule is None:
            rule = page.rules[name] = page.plan.rules.rule(record.object, name)
        current = local.get(name)
        if current == new or not rule.pulls:
            continue
        if api in link.baseline and current != link.baseline[api]:
            baseline = link.baseline[api]
            local_at = last_local_edit(conn, link.entity_id, name)
            winner = settle(rule, baseline, current, new, local_at, record.modstamp)
            conflicts.append(
                {
                    "at": page.at,
                    "person_id": link.entity_id,
                    "sfdc_object": record.object,
                    "sfdc_id": record.id,
                    "field": name,
                    "baseline_value": baseline,
                    "local_value": current,
                    "salesforce_value": new,
                    "winner": winner,
                    "rule": rule.value,
                }
            )
            if winner == LEADSYNC:
                continue
        fields[name] = new
    return fields


def _resolve(
    conn: Connection, page: _Page, fields: Mapping[str, Any]
) -> list[tuple[person_api.Target, Any]] | None:
    """Each field's target and coerced value, as `update_person` validates them; None if one
    does not validate or lands on the company (the one-at-a-time path stores those)."""
    resolved: list[tuple[person_api.Target, Any]] = []
    for name, value in fields.items():
        if name not in page.targets:
            if name not in BY_NAME and page.custom is None:
                page.custom = custom_fields(conn)
            try:
                page.targets[name] = person_api._target(name, page.custom or {}, None)
            except ValidationError:
                page.targets[name] = None
        target = page.targets[name]
        if target is None or target.table != "person":
            return None
        try:
            resolved.append((target, coerce(target.type, value)))
        except BadValue:
            return None
    return resolved


def _apply(
    row: Any, values: list[tuple[person_api.Target, Any]], columns: dict[str, Any]
) -> list[tuple[str, tuple[Any, Any]]]:
    """Put the values that differ from the stored ones in `columns`; returns them as
    (JSON name, (old, new)) in field order, for the activities."""
    stored_custom = row.custom or {}
    custom: dict[str, Any] = {}
    logged: list[tuple[str, tuple[Any, Any]]] = []
    for target, new in values:
        old = row._mapping[target.column] if target.column else stored_custom.get(target.name)
        if old == new:
            continue
        logged.append((target.name, (old, new)))
        if target.column:
            columns[target.column] = new
        else:
            custom[target.name] = new
    if custom:
        columns["custom"] = {**stored_custom, **custom}
    return logged


# -- writing ---------------------------------------------------------------------------------


def _write(conn: Connection, writes: _Writes) -> None:
    for rows in writes.persons.values():
        conn.execute(update(persons).where(persons.c.id == bindparam("_pid")), rows)
    if writes.conflicts:
        conn.execute(insert(sync_conflicts), writes.conflicts)
    if writes.activities:
        conn.execute(insert(activities), writes.activities)
    if writes.links:
        conn.execute(
            update(sync_links).where(
                sync_links.c.sfdc_object == bindparam("_object"),
                sync_links.c.sfdc_id == bindparam("_sfdc_id"),
            ),
            writes.links,
        )
