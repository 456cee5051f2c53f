"""Identity: merging two persons that turn out to be one Salesforce record.

This happens when a lead is converted into a contact that leadsync already holds as a person
of its own (Salesforce's "existing contact" conversion case, or a contact read before the lead
that was converted into it), and when leads or contacts are merged in Salesforce (the merged
records are deleted with `MasterRecordId` naming the surviving one). The winner keeps its
values; its empty fields take the loser's; the loser's activity log, links and memberships move
to the winner; the loser row is removed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Table, delete, select, update

from ..db import activities as activity
from ..db import sync_state
from ..db.schema import (
    activities,
    campaign_members,
    custom_object_records,
    opportunity_roles,
    persons,
    sync_changes,
    sync_conflicts,
    sync_errors,
    sync_links,
)
from ..db.sync_state import Link
from .records import SfRecord

# Columns the merge never fills from the loser: identity and bookkeeping.
_NOT_FILLED = {"id", "sfdc_type", "sfdc_lead_id", "sfdc_contact_id", "custom", "created_at"}
_PERSON_ID_TABLES: tuple[Table, ...] = (
    activities,
    sync_errors,
    sync_conflicts,
    custom_object_records,
)


def merge_persons(
    conn: Connection,
    *,
    winner: int,
    loser: int,
    at: dt.datetime,
    attributes: Mapping[str, Any] | None = None,
) -> None:
    win = conn.execute(select(persons).where(persons.c.id == winner)).one()
    lose = conn.execute(select(persons).where(persons.c.id == loser)).one()
    fill = _fill_values(win._mapping, lose._mapping)
    _move_children(conn, winner, loser)
    conn.execute(delete(persons).where(persons.c.id == loser))  # frees its unique sfdc ids
    conn.execute(update(persons).where(persons.c.id == winner).values(**fill, updated_at=at))
    logged = {
        "mergedPersonId": loser,
        "sfdcLeadId": lose.sfdc_lead_id,
        "sfdcContactId": lose.sfdc_contact_id,
        **(attributes or {}),
        "source": "salesforce",
    }
    activity.add_activity(conn, winner, activity.MERGE_LEADS, logged, at)


def merged_in_salesforce(
    conn: Connection, record: SfRecord, link: Link, master_id: str, at: dt.datetime
) -> str:
    """A lead or contact deleted by a Salesforce merge into `master_id`: its person and the
    master's become one (the master's person wins). Returns the run count."""
    person_id = link.entity_id
    master = sync_state.get_link(conn, record.object, master_id)
    merged = {"mergedSfdcId": record.id, "masterSfdcId": master_id}
    if master is None:
        winner = _adopt_master(conn, record, link, master_id, at)
        activity.add_activity(
            conn, winner, activity.MERGE_LEADS, {**merged, "source": "salesforce"}, at
        )
    elif master.entity_id == person_id:
        winner = person_id  # merged already (this is a re-read)
    else:
        winner = master.entity_id
        merge_persons(conn, winner=winner, loser=person_id, at=at, attributes=merged)
    loser = Link(record.object, record.id, "person", winner, dict(record.values), record.modstamp)
    sync_state.save_link(conn, loser, at=at)
    return "skipped" if master is not None and master.entity_id == person_id else "deleted"


def _adopt_master(
    conn: Connection, record: SfRecord, link: Link, master_id: str, at: dt.datetime
) -> int:
    """The master is not held yet (created since the last cycle): this person becomes the
    master's. It starts from the merged record's baseline, so when the master is read its
    values land as any Salesforce change does (a local edit since is settled by the rules);
    there is no second person whose empty fields could be filled."""
    person_id = link.entity_id
    column = "sfdc_lead_id" if record.object == "Lead" else "sfdc_contact_id"
    conn.execute(
        update(persons)
        .where(persons.c.id == person_id)
        .values({column: master_id, "updated_at": at})
    )
    adopted = Link(record.object, master_id, "person", person_id, dict(link.baseline), None)
    sync_state.save_link(conn, adopted, at=at)
    return person_id


def _fill_values(win: Any, lose: Any) -> dict[str, Any]:
    fill = {
        name: lose[name]
        for name in (column.name for column in persons.c)
        if name not in _NOT_FILLED and win[name] is None and lose[name] is not None
    }
    custom = dict(lose["custom"] or {})
    custom.update({k: v for k, v in (win["custom"] or {}).items() if v is not None})
    fill["custom"] = custom
    return fill


def _move_children(conn: Connection, winner: int, loser: int) -> None:
    for table in _PERSON_ID_TABLES:
        conn.execute(update(table).where(table.c.person_id == loser).values(person_id=winner))
    _move_unique(conn, campaign_members, ("campaign_id",), winner, loser)
    _move_unique(conn, opportunity_roles, ("opportunity_id", "role"), winner, loser)
    for table in (sync_links, sync_changes):
        conn.execute(
            update(table)
            .where(table.c.entity == "person", table.c.entity_id == loser)
            .values(entity_id=winner)
        )


def _move_unique(
    conn: Connection, table: Table, key: tuple[str, ...], winner: int, loser: int
) -> None:
    """Move rows to the winner, dropping the loser's rows the winner already has."""
    held = {
        tuple(row)
        for row in conn.execute(
            select(*(table.c[k] for k in key)).where(table.c.person_id == winner)
        )
    }
    for row in conn.execute(select(table).where(table.c.person_id == loser)).all():
        values = tuple(row._mapping[k] for k in key)
        if values in held:
            conn.execute(delete(table).where(table.c.id == row.id))
        else:
            conn.execute(update(table).where(table.c.id == row.id).values(person_id=winner))
