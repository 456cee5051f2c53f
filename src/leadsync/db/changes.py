"""The local change log (the outbox): one row per changed field, written in the same
transaction as the edit, so no local edit can be lost between sync cycles, crashes included."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from .schema import sync_changes

LOCAL = "leadsync"  # edits made in leadsync (CLI, HTTP API, flows)
SALESFORCE = "salesforce"  # values pulled by the sync: never written to the outbox


_INSERT = insert(sync_changes)  # built once: one per edited field, so kept off the hot path


@dataclass(frozen=True)
class Change:
    id: int
    entity: str
    entity_id: int
    field: str
    old: Any
    new: Any
    at: dt.datetime
    source: str
    local_only: bool


def record_change(
    conn: Connection,
    entity: str,
    entity_id: int,
    field: str,
    old: Any,
    new: Any,
    *,
    at: dt.datetime,
    source: str,
    local_only: bool = False,
) -> None:
    values = {
        "entity": entity,
        "entity_id": entity_id,
        "field": field,
        "old": old,
        "new": new,
        "at": at,
        "source": source,
        "local_only": local_only,
    }
    conn.execute(_INSERT, values)


def pending_changes(conn: Connection, *, limit: int = 10_000) -> list[Change]:
    """Unprocessed changes to push, oldest first (local-only changes are never pushed)."""
    query = (
        select(sync_changes)
        .where(sync_changes.c.processed_at.is_(None), sync_changes.c.local_only.is_(False))
        .order_by(sync_changes.c.id)
        .limit(limit)
    )
    return [
        Change(r.id, r.entity, r.entity_id, r.field, r.old, r.new, r.at, r.source, r.local_only)
        for r in conn.execute(query)
    ]


def mark_processed(
    conn: Connection, ids: Iterable[int], *, at: dt.datetime, run_id: int | None = None
) -> None:
    id_list = list(ids)
    if id_list:
        conn.execute(
            update(sync_changes)
            .where(sync_changes.c.id.in_(id_list))
            .values(processed_at=at, run_id=run_id)
        )
