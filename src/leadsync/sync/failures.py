"""Push failures: a record Salesforce rejected is never lost.

The person gets a "Sync Lead to SFDC" activity (success false, with Salesforce's error code,
message and fields) and an open sync error with its person id and Salesforce id. A person has
at most one open error per code: a repeat bumps `attempts`. Retriable codes (row locks,
timeouts) get `next_retry_at` from a bounded schedule; other errors wait for the next local
change (the push then sends every field that still differs from the baseline). A later success
resolves the person's open errors.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, select, update

from ..db import activities as activity
from ..db import sync_state
from ..db.schema import sync_errors
from ..salesforce.client import RETRIABLE_CODES

# Record-level codes worth retrying without a local change, besides the client's own.
RETRIABLE = RETRIABLE_CODES | {"CONNECTION_ERROR", "TRUNCATED_RESPONSE", "HTTP_503", "HTTP_500"}


@dataclass(frozen=True)
class Failure:
    person_id: int
    sfdc_object: str
    sfdc_id: str | None
    code: str
    message: str
    fields: tuple[str, ...] = ()

    @property
    def retriable(self) -> bool:
        return self.code in RETRIABLE


def record_failure(
    conn: Connection, failure: Failure, *, at: dt.datetime, delays: Sequence[float]
) -> None:
    attributes = {
        "success": False,
        "sfdcType": failure.sfdc_object,
        "sfdcId": failure.sfdc_id,
        "errorCode": failure.code,
        "message": failure.message,
        "fields": list(failure.fields),
        "source": "leadsync",
    }
    activity.add_activity(conn, failure.person_id, activity.SYNC_LEAD_TO_SFDC, attributes, at)
    open_error = conn.execute(
        select(sync_errors.c.id, sync_errors.c.attempts).where(
            sync_errors.c.person_id == failure.person_id,
            sync_errors.c.code == failure.code,
            sync_errors.c.resolved_at.is_(None),
        )
    ).first()
    attempts = 1 if open_error is None else int(open_error.attempts) + 1
    retry_at = _next_retry(failure, attempts, at, delays)
    if open_error is not None:
        conn.execute(
            update(sync_errors)
            .where(sync_errors.c.id == open_error.id)
            .values(
                at=at,
                attempts=attempts,
                message=failure.message,
                fields=list(failure.fields),
                sfdc_id=failure.sfdc_id,
                next_retry_at=retry_at,
            )
        )
        return
    sync_state.record_error(
        conn,
        at=at,
        level="record",
        code=failure.code,
        message=failure.message,
        sfdc_object=failure.sfdc_object,
        person_id=failure.person_id,
        sfdc_id=failure.sfdc_id,
        fields=failure.fields,
        next_retry_at=retry_at,
    )


def _next_retry(
    failure: Failure, attempts: int, at: dt.datetime, delays: Sequence[float]
) -> dt.datetime | None:
    """The bounded schedule: attempt n waits delays[n-1]; past the last delay, no more."""
    if not failure.retriable or attempts > len(delays):
        return None
    return at + dt.timedelta(seconds=delays[attempts - 1])


def resolve_person_errors(conn: Connection, person_ids: Sequence[int], at: dt.datetime) -> None:
    if person_ids:
        conn.execute(
            update(sync_errors)
            .where(
                sync_errors.c.person_id.in_(list(person_ids)), sync_errors.c.resolved_at.is_(None)
            )
            .values(resolved_at=at, next_retry_at=None)
        )


def due_retries(conn: Connection, now: dt.datetime) -> list[int]:
    """Persons whose retriable push error is due again."""
    query = (
        select(sync_errors.c.person_id)
        .where(
            sync_errors.c.resolved_at.is_(None),
            sync_errors.c.next_retry_at.is_not(None),
            sync_errors.c.next_retry_at <= now,
            sync_errors.c.person_id.is_not(None),
        )
        .distinct()
    )
    return [int(pid) for pid in conn.scalars(query)]
