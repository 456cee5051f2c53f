"""What `leadsync status` and `leadsync errors` show, and the history kept for them.

Each cycle leaves one "Sync cycle" row in `sync_runs` (object "*"): its status (Succeeded,
Idle, Stopped, Paused, Failed), its API calls and the org's API usage as Salesforce last
reported it. A run of idle cycles shares one row (its message counts them), so an idle loop
does not grow the table. Runs and resolved errors older than `history_days` are pruned.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, func, or_, select, update

from .db import LeadDatabase, sync_state
from .db.schema import (
    companies,
    persons,
    sync_changes,
    sync_conflicts,
    sync_errors,
    sync_runs,
    sync_watermarks,
)
from .db.types import iso
from .salesforce.client import SalesforceClient
from .sync.cycle import CycleResult
from .sync.objects import OBJECTS

CYCLE_OBJECT, CYCLE_OPERATION = "*", "Sync cycle"
IDLE = "Idle"
_USAGE = re.compile(r"org API usage (\d+)/(\d+)")
_IDLE_COUNT = re.compile(r"^(\d+) idle cycles?")
PUSHED_OBJECTS = ("Lead", "Contact")


# -- Writing the cycle row --------------------------------------------------------------------


def record_cycle(
    db: LeadDatabase,
    result: CycleResult,
    *,
    org_used: int | None,
    org_max: int | None,
    failure: str | None = None,
) -> None:
    """The cycle's own row; an idle cycle extends the previous idle row instead."""
    status = "Failed" if failure else (IDLE if result.idle else result.status)
    usage = f"org API usage {org_used}/{org_max}" if org_used is not None and org_max else ""
    text = failure or result.message or ""
    end = result.ended_at or result.started_at
    with db.transaction() as conn:
        last = conn.execute(
            select(sync_runs)
            .where(sync_runs.c.sfdc_object == CYCLE_OBJECT)
            .order_by(sync_runs.c.id.desc())
            .limit(1)
        ).first()
        if status == IDLE and last is not None and last.status == IDLE:
            match = _IDLE_COUNT.match(last.message or "")
            count = (int(match[1]) if match else 1) + 1
            conn.execute(
                update(sync_runs)
                .where(sync_runs.c.id == last.id)
                .values(
                    ended_at=end,
                    api_calls=last.api_calls + result.api_calls,
                    message=_join(f"{count} idle cycles", usage),
                )
            )
            return
        if status == IDLE:
            text = "1 idle cycle"
        run_id = sync_state.start_run(conn, CYCLE_OBJECT, CYCLE_OPERATION, at=result.started_at)
        totals = {
            name: sum(getattr(r, name) for r in result.objects) for name in sync_state.RUN_COUNTS
        }
        sync_state.finish_run(
            conn,
            run_id,
            status,
            at=end,
            counts=totals,
            api_calls=result.api_calls,
            message=_join(text, usage)[:1000] or None,
        )
        if failure:
            sync_state.record_error(
                conn,
                at=end,
                level="job",
                code="SYNC_FAILED",
                message=failure[:1000],
                run_id=run_id,
            )


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


# -- Pruning ------------------------------------------------------------------------------------


def prune_history(db: LeadDatabase, *, days: int, now: dt.datetime) -> int:
    """Delete runs and resolved errors older than `days`; returns the rows removed.
    Unresolved errors stay until they are resolved, however old."""
    cutoff = now - dt.timedelta(days=days)
    with db.transaction() as conn:
        errors = conn.execute(
            delete(sync_errors).where(
                sync_errors.c.at < cutoff, sync_errors.c.resolved_at.is_not(None)
            )
        ).rowcount
        old_runs = select(sync_runs.c.id).where(sync_runs.c.started_at < cutoff)
        for table in (sync_changes, sync_conflicts, sync_errors):
            conn.execute(update(table).where(table.c.run_id.in_(old_runs)).values(run_id=None))
        runs = conn.execute(delete(sync_runs).where(sync_runs.c.started_at < cutoff)).rowcount
    return int(errors or 0) + int(runs or 0)


# -- leadsync status ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiBudget:
    used_today: int  # leadsync's own calls since midnight UTC
    org_used: int | None  # the org's counter as last reported
    org_max: int | None
    cap_share: float

    @property
    def cap(self) -> int | None:
        return int(self.org_max * self.cap_share) if self.org_max else None


def status_report(db: LeadDatabase, *, now: dt.datetime, budget_share: float) -> dict[str, Any]:
    """The `leadsync status --json` shape."""
    with db.transaction() as conn:
        last_cycle = _last_cycle(conn)
        objects = [_object_status(conn, name) for name in synced_objects(conn)]
        backlog = _outbox_backlog(conn)
        budget = _budget(conn, now, budget_share)
        errors = conn.scalar(
            select(func.count()).select_from(sync_errors).where(sync_errors.c.resolved_at.is_(None))
        )
    for entry in objects:
        entry["backlog"] = {"leadsync": backlog.get(entry["object"], 0), "salesforce": None}
    paused = last_cycle is not None and last_cycle["status"] == "Paused"
    return {
        "lastCycle": last_cycle,
        "paused": paused,
        "pausedReason": last_cycle["message"] if paused and last_cycle else None,
        "objects": objects,
        "unlinkedBacklog": backlog.get(None, 0),
        "openErrors": int(errors or 0),
        "api": {
            "usedToday": budget.used_today,
            "orgUsed": budget.org_used,
            "orgLimit": budget.org_max,
            "capShare": budget.cap_share,
            "cap": budget.cap,
        },
    }


def synced_objects(conn: Connection) -> list[str]:
    """The standard objects in sync order, then the custom objects the pull discovered
    (they have a watermark as soon as their copy started)."""
    names = [spec.name for spec in OBJECTS]
    found = conn.scalars(
        select(sync_watermarks.c.sfdc_object).order_by(sync_watermarks.c.sfdc_object)
    )
    # Names with a colon are leadsync's own cursors (no Salesforce object has one).
    return names + [name for name in found if name not in names and ":" not in name]


def _last_cycle(conn: Connection) -> dict[str, Any] | None:
    row = conn.execute(
        select(sync_runs)
        .where(sync_runs.c.sfdc_object == CYCLE_OBJECT)
        .order_by(sync_runs.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return {
        "startedAt": iso(row.started_at),
        "endedAt": iso(row.ended_at),
        "status": row.status,
        "apiCalls": row.api_calls,
        "message": row.message,
    }


def _object_status(conn: Connection, name: str) -> dict[str, Any]:
    row = conn.execute(
        select(sync_runs)
        .where(sync_runs.c.sfdc_object == name)
        .order_by(sync_runs.c.id.desc())
        .limit(1)
    ).first()
    mark = sync_state.get_watermark(conn, name)
    last = None
    if row is not None:
        last = {
            "operation": row.operation,
            "startedAt": iso(row.started_at),
            "endedAt": iso(row.ended_at),
            "status": row.status,
            **{key: getattr(row, f"{key}_count") for key in sync_state.RUN_COUNTS},
            "apiCalls": row.api_calls,
            "message": row.message,
        }
    failed = conn.scalar(
        select(func.count())
        .select_from(sync_errors)
        .where(sync_errors.c.sfdc_object == name, sync_errors.c.resolved_at.is_(None))
    )
    return {
        "object": name,
        "initialCopyDone": mark.copy_done,
        "watermark": iso(mark.watermark),
        "lastRun": last,
        "openErrors": int(failed or 0),
    }


def _outbox_backlog(conn: Connection) -> dict[str | None, int]:
    """Pending local changes, by the Salesforce object they will be pushed to (None: the
    person is not linked to Salesforce yet)."""
    pending = and_(sync_changes.c.processed_at.is_(None), sync_changes.c.local_only.is_(False))
    by_person = (
        select(persons.c.sfdc_type, func.count())
        .select_from(sync_changes.join(persons, sync_changes.c.entity_id == persons.c.id))
        .where(pending, sync_changes.c.entity == "person")
        .group_by(persons.c.sfdc_type)
    )
    counts: dict[str | None, int] = {}
    for sfdc_type, count in conn.execute(by_person):
        counts[sfdc_type] = counts.get(sfdc_type, 0) + int(count)
    by_company = (
        select(func.count())
        .select_from(sync_changes.join(companies, sync_changes.c.entity_id == companies.c.id))
        .where(pending, sync_changes.c.entity == "company")
    )
    company_changes = int(conn.scalar(by_company) or 0)
    if company_changes:
        counts["Lead"] = counts.get("Lead", 0) + company_changes  # a lead's company fields
    return counts


def _budget(conn: Connection, now: dt.datetime, share: float) -> ApiBudget:
    midnight = now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    used = conn.scalar(
        select(func.coalesce(func.sum(sync_runs.c.api_calls), 0)).where(
            sync_runs.c.sfdc_object == CYCLE_OBJECT,
            or_(sync_runs.c.started_at >= midnight, sync_runs.c.ended_at >= midnight),
        )
    )
    org_used = org_max = None
    for (message,) in conn.execute(
        select(sync_runs.c.message)
        .where(sync_runs.c.sfdc_object == CYCLE_OBJECT, sync_runs.c.message.is_not(None))
        .order_by(sync_runs.c.id.desc())
        .limit(20)
    ):
        match = _USAGE.search(message or "")
        if match:
            org_used, org_max = int(match[1]), int(match[2])
            break
    return ApiBudget(int(used or 0), org_used, org_max, share)


def watermarks(db: LeadDatabase) -> dict[str, Any]:
    with db.transaction() as conn:
        return {
            r.sfdc_object: {"watermark": iso(r.watermark), "copyDone": r.copy_done}
            for r in conn.execute(select(sync_watermarks))
        }


# -- leadsync errors ----------------------------------------------------------------------------


def errors_report(db: LeadDatabase) -> dict[str, Any]:
    """Open sync errors grouped by error code, most frequent first."""
    errors = db.list_sync_errors()
    groups: dict[str, list[dict[str, Any]]] = {}
    for error in errors:
        groups.setdefault(error["code"], []).append(error)
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    return {
        "total": len(errors),
        "groups": [
            {
                "code": code,
                "count": len(items),
                "errors": [
                    {
                        "id": e["id"],
                        "at": e["at"],
                        "level": e["level"],
                        "object": e["object"],
                        "personId": e["personId"],
                        "sfdcId": e["sfdcId"],
                        "fields": list(e["fields"] or []),
                        "message": e["message"],
                        "attempts": e["attempts"],
                        "nextRetryAt": e["nextRetryAt"],
                    }
                    for e in items
                ],
            }
            for code, items in ordered
        ],
    }


def retry_errors(db: LeadDatabase, *, now: dt.datetime) -> tuple[int, int]:
    """Re-queue open record errors: due now for the push's retry queue, and a person's
    failed fields marked for push again. Returns (re-queued, left as they are)."""
    with db.transaction() as conn:
        rows = conn.execute(
            select(sync_errors).where(
                sync_errors.c.resolved_at.is_(None), sync_errors.c.level == "record"
            )
        ).all()
        queued = [r for r in rows if r.person_id is not None]
        if queued:
            conn.execute(
                update(sync_errors)
                .where(sync_errors.c.id.in_([r.id for r in queued]))
                .values(next_retry_at=now)
            )
        for row in queued:
            names = [_json_name(db, row.sfdc_object, f) for f in row.fields or []]
            _mark_for_push(conn, row.person_id, names, now)
    return len(queued), len(rows) - len(queued)


def _json_name(db: LeadDatabase, sfdc_object: str | None, name: str) -> str:
    """Salesforce blames API names; the outbox speaks person JSON names."""
    mapped = db.mapping.json_name(sfdc_object or "Lead", name)
    return mapped or name


def _mark_for_push(
    conn: Connection, person_id: int, fields: Iterable[str], at: dt.datetime
) -> None:
    """Put the person's failed fields (JSON names where the error named them) back in the
    outbox with their current value, so the next push sends them again."""
    from .db.changes import LOCAL, record_change
    from .db.persons import get_person

    try:
        person = get_person(conn, person_id)
    except Exception:
        return  # the person is gone; the error stays visible
    for name in fields:
        if name in person:
            record_change(
                conn, "person", person_id, name, person[name], person[name], at=at, source=LOCAL
            )


def _whole_second(moment: dt.datetime | None) -> dt.datetime:
    """SystemModstamp has whole seconds: a record changed in the watermark's own second may be
    stamped before it and still be waiting (counted, at worst, once too often)."""
    assert moment is not None
    return moment.replace(microsecond=0)


def salesforce_backlog(db: LeadDatabase, client: SalesforceClient) -> dict[str, int | None]:
    """Salesforce-side changes not pulled yet, per object (None: initial copy not done), in
    `/composite` calls of COUNT() queries after each object's watermark (five a call)."""
    from urllib.parse import urlencode

    from .salesforce import soql
    from .salesforce.client import COMPOSITE_QUERIES

    with db.transaction() as conn:
        marks = [sync_state.get_watermark(conn, name) for name in synced_objects(conn)]
    counts: dict[str, int | None] = {m.sfdc_object: None for m in marks}
    ready = [m for m in marks if m.copy_done and m.watermark is not None]
    for start in range(0, len(ready), COMPOSITE_QUERIES):
        chunk = ready[start : start + COMPOSITE_QUERIES]
        subrequests = [
            {
                "method": "GET",
                "url": f"{client.base_path}/queryAll?"
                + urlencode(
                    {
                        "q": f"SELECT COUNT() FROM {soql.identifier(m.sfdc_object)} WHERE "
                        f"SystemModstamp >= {soql.datetime_literal(_whole_second(m.watermark))}"
                    }
                ),
                "referenceId": m.sfdc_object,
            }
            for m in chunk
        ]
        for answer in client.composite(subrequests):
            body = answer.get("body")
            if int(answer.get("httpStatusCode", 500)) < 300 and isinstance(body, dict):
                counts[str(answer["referenceId"])] = int(body.get("totalSize", 0))
    return counts
