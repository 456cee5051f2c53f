"""Sync runs: one finished `sync_runs` row per object and operation (the Sync Status view)."""

from __future__ import annotations

import datetime as dt

from ..db import LeadDatabase, sync_state
from .store import Counts


def save_run(
    db: LeadDatabase,
    name: str,
    operation: str,
    *,
    started: dt.datetime,
    counts: Counts,
    api_calls: int,
    status: str,
    message: str | None,
) -> None:
    """Record a finished run of `operation` on the object `name` with its counts."""
    numbers = {key: getattr(counts, key) for key in sync_state.RUN_COUNTS}
    with db.transaction() as conn:
        run_id = sync_state.start_run(conn, name, operation, at=started)
        sync_state.finish_run(
            conn,
            run_id,
            status,
            at=db.clock(),
            counts=numbers,
            api_calls=api_calls,
            message=message,
        )
