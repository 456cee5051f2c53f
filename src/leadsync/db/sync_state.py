"""Sync state kept with the leads: the one-sync-at-a-time lock, runs with their counts,
per-object watermarks, record links with their baselines, and sync errors.

These work on a `Connection` so that the sync engine can store a batch of records and move its
watermark in one transaction (`with db.transaction() as conn: ...`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from .schema import sync_errors, sync_links, sync_lock, sync_runs, sync_watermarks
from .types import iso, new_id

SYNC_LOCK = "sync"
RUN_COUNTS = ("new", "updated", "deleted", "failed", "skipped")

# -- The lock -------------------------------------------------------------------------------


def acquire_lock(
    conn: Connection, holder: str, *, at: dt.datetime, ttl: dt.timedelta, name: str = SYNC_LOCK
) -> bool:
    """Take (or renew) the lock unless another live holder has it. Atomic on both databases:
    one conditional UPDATE; the lock expires after `ttl` so a crashed holder cannot keep it."""
    _ensure_lock_row(conn, name)
    free = or_(
        sync_lock.c.holder.is_(None), sync_lock.c.holder == holder, sync_lock.c.expires_at < at
    )
    result = conn.execute(
        update(sync_lock)
        .where(and_(sync_lock.c.name == name, free))
        .values(holder=holder, acquired_at=at, expires_at=at + ttl)
    )
    return result.rowcount == 1


def release_lock(conn: Connection, holder: str, *, name: str = SYNC_LOCK) -> None:
    conn.execute(
        update(sync_lock)
        .where(sync_lock.c.name == name, sync_lock.c.holder == holder)
        .values(holder=None, acquired_at=None, expires_at=None)
    )


def _ensure_lock_row(conn: Connection, name: str) -> None:
    if conn.scalar(select(sync_lock.c.name).where(sync_lock.c.name == name)) is None:
        try:
            with conn.begin_nested():
                conn.execute(insert(sync_lock).values(name=name))
        except IntegrityError:
            pass  # created meanwhile by another process


# -- Runs -----------------------------------------------------------------------------------


def start_run(conn: Connection, sfdc_object: str, operation: str, *, at: dt.datetime) -> int:
    result = conn.execute(
        insert(sync_runs).values(
            sfdc_object=sfdc_object, operation=operation, started_at=at, status="In Process"
        )
    )
    return new_id(result)


def finish_run(
    conn: Connection,
    run_id: int,
    status: str,
    *,
    at: dt.datetime,
    counts: Mapping[str, int] | None = None,
    api_calls: int = 0,
    message: str | None = None,
) -> None:
    """Close a run: `counts` by "new", "updated", "deleted", "failed", "skipped"."""
    unknown = set(counts or {}) - set(RUN_COUNTS)
    if unknown:
        raise ValueError(f"unknown run counts: {sorted(unknown)}")
    values = {f"{name}_count": n for name, n in (counts or {}).items()}
    conn.execute(
        update(sync_runs)
        .where(sync_runs.c.id == run_id)
        .values(status=status, ended_at=at, api_calls=api_calls, message=message, **values)
    )


def list_runs(conn: Connection, *, limit: int = 100) -> list[dict[str, Any]]:
    """The latest runs first, as the Sync Status view shows them."""
    rows = conn.execute(select(sync_runs).order_by(sync_runs.c.id.desc()).limit(limit))
    return [
        {
            "id": r.id,
            "object": r.sfdc_object,
            "operation": r.operation,
            "startedAt": iso(r.started_at),
            "endedAt": iso(r.ended_at),
            "status": r.status,
            **{name: getattr(r, f"{name}_count") for name in RUN_COUNTS},
            "apiCalls": r.api_calls,
            "message": r.message,
        }
        for r in rows
    ]


# -- Watermarks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Watermark:
    sfdc_object: str
    watermark: dt.datetime | None  # SystemModstamp reached by the last stored batch
    copy_cursor: str | None  # last Id stored by the initial copy, to resume it
    copy_done: bool


def get_watermark(conn: Connection, sfdc_object: str) -> Watermark:
    row = conn.execute(
        select(sync_watermarks).where(sync_watermarks.c.sfdc_object == sfdc_object)
    ).first()
    if row is None:
        return Watermark(sfdc_object, None, None, False)
    return Watermark(sfdc_object, row.watermark, row.copy_cursor, row.copy_done)


def set_watermark(conn: Connection, mark: Watermark, *, at: dt.datetime) -> None:
    values = {
        "watermark": mark.watermark,
        "copy_cursor": mark.copy_cursor,
        "copy_done": mark.copy_done,
        "updated_at": at,
    }
    table = sync_watermarks
    done = conn.execute(
        update(table).where(table.c.sfdc_object == mark.sfdc_object).values(**values)
    )
    if done.rowcount == 0:
        conn.execute(insert(table).values(sfdc_object=mark.sfdc_object, **values))


# -- Links and baselines --------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    sfdc_object: str
    sfdc_id: str
    entity: str
    entity_id: int
    baseline: dict[str, Any]  # {API name: the last value both sides agreed on}
    sfdc_modstamp: dt.datetime | None


def get_link(conn: Connection, sfdc_object: str, sfdc_id: str) -> Link | None:
    row = conn.execute(
        select(sync_links).where(
            sync_links.c.sfdc_object == sfdc_object, sync_links.c.sfdc_id == sfdc_id
        )
    ).first()
    if row is None:
        return None
    return Link(
        row.sfdc_object,
        row.sfdc_id,
        row.entity,
        row.entity_id,
        dict(row.baseline),
        row.sfdc_modstamp,
    )


def has_links(conn: Connection, sfdc_object: str) -> bool:
    """Whether any record of `sfdc_object` is linked yet (an initial copy starting afresh
    has none, and can skip looking its records up)."""
    query = select(sync_links.c.id).where(sync_links.c.sfdc_object == sfdc_object).limit(1)
    return conn.scalar(query) is not None


def links_of(conn: Connection, entity: str, entity_id: int) -> list[Link]:
    rows = conn.execute(
        select(sync_links)
        .where(sync_links.c.entity == entity, sync_links.c.entity_id == entity_id)
        .order_by(sync_links.c.id)
    )
    return [
        Link(r.sfdc_object, r.sfdc_id, r.entity, r.entity_id, dict(r.baseline), r.sfdc_modstamp)
        for r in rows
    ]


def save_link(conn: Connection, link: Link, *, at: dt.datetime) -> None:
    """Create or replace the link of (object, Salesforce id), baseline included."""
    values = {
        "entity": link.entity,
        "entity_id": link.entity_id,
        "baseline": dict(link.baseline),
        "sfdc_modstamp": link.sfdc_modstamp,
        "updated_at": at,
    }
    done = conn.execute(
        update(sync_links)
        .where(sync_links.c.sfdc_object == link.sfdc_object, sync_links.c.sfdc_id == link.sfdc_id)
        .values(**values)
    )
    if done.rowcount == 0:
        conn.execute(
            insert(sync_links).values(
                sfdc_object=link.sfdc_object, sfdc_id=link.sfdc_id, created_at=at, **values
            )
        )


# -- Errors ---------------------------------------------------------------------------------


def record_error(
    conn: Connection,
    *,
    at: dt.datetime,
    level: str,
    code: str,
    message: str,
    sfdc_object: str | None = None,
    person_id: int | None = None,
    sfdc_id: str | None = None,
    fields: Iterable[str] = (),
    run_id: int | None = None,
    next_retry_at: dt.datetime | None = None,
) -> int:
    """A record-level or job-level sync error; kept until resolved (not only 5 days)."""
    result = conn.execute(
        insert(sync_errors).values(
            at=at,
            level=level,
            code=code,
            message=message,
            sfdc_object=sfdc_object,
            person_id=person_id,
            sfdc_id=sfdc_id,
            fields=list(fields),
            run_id=run_id,
            next_retry_at=next_retry_at,
        )
    )
    return new_id(result)


def resolve_errors(conn: Connection, ids: Iterable[int], *, at: dt.datetime) -> None:
    id_list = list(ids)
    if id_list:
        conn.execute(
            update(sync_errors).where(sync_errors.c.id.in_(id_list)).values(resolved_at=at)
        )


def list_errors(
    conn: Connection, *, include_resolved: bool = False, limit: int = 1000
) -> list[dict[str, Any]]:
    """Sync errors, newest first."""
    query = select(sync_errors)
    if not include_resolved:
        query = query.where(sync_errors.c.resolved_at.is_(None))
    rows = conn.execute(query.order_by(sync_errors.c.id.desc()).limit(limit))
    return [
        {
            "id": r.id,
            "at": iso(r.at),
            "level": r.level,
            "object": r.sfdc_object,
            "personId": r.person_id,
            "sfdcId": r.sfdc_id,
            "code": r.code,
            "message": r.message,
            "fields": r.fields,
            "attempts": r.attempts,
            "nextRetryAt": iso(r.next_retry_at),
            "resolvedAt": iso(r.resolved_at),
        }
        for r in rows
    ]
