"""One sync cycle: the pull (initial copy or incremental), then the push of local changes.

    syncer = Syncer(db, client)
    result = syncer.run_cycle()          # CycleResult: status, per-object reports, API calls

A cycle ends in one of four states:
- "Succeeded": everything pulled and pushed;
- "Stopped": `should_stop()` said so between two batches; every stored batch is committed with
  its watermark, so the next cycle resumes after it;
- "Paused": the API budget is spent (`BudgetExhausted`); the client checks the budget before
  each call, and a batch is stored in one transaction, so no record is left half-written;
- anything else raises (a job-level failure) after the per-object runs are recorded.

Per-object outcomes are read back from the `sync_runs` rows the pull and the push write, so a
stopped or paused cycle reports what it did get done.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update

from ..db import LeadDatabase
from ..db.schema import sync_runs
from ..db.types import utcnow
from ..errors import BudgetExhausted
from ..salesforce.client import SalesforceClient
from .actions import Actions
from .objects import OBJECTS
from .pull import Puller, PullSettings
from .push import Pusher, PushSettings
from .rules import FieldRules

ProgressHook = Callable[[str, int], None]  # (object, batches stored so far), after each commit
STOPPED_MESSAGE = "stopped on request after a stored batch; the next run resumes from there"
SUCCEEDED, STOPPED, PAUSED = "Succeeded", "Stopped", "Paused"


class _StopRequested(Exception):
    """Raised from the pull's batch hook to leave between two committed batches."""

    def __init__(self) -> None:
        super().__init__(STOPPED_MESSAGE)


@dataclass
class ObjectReport:
    """What one operation did on one object in a cycle (one `sync_runs` row, or idle)."""

    object: str
    operation: str
    status: str
    new: int = 0
    updated: int = 0
    deleted: int = 0
    failed: int = 0
    skipped: int = 0
    api_calls: int = 0
    seconds: float = 0.0
    message: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "object": self.object,
            "operation": self.operation,
            "status": self.status,
            "new": self.new,
            "updated": self.updated,
            "deleted": self.deleted,
            "failed": self.failed,
            "skipped": self.skipped,
            "apiCalls": self.api_calls,
            "seconds": round(self.seconds, 3),
            "message": self.message,
        }


@dataclass
class CycleResult:
    started_at: dt.datetime
    ended_at: dt.datetime | None = None
    status: str = SUCCEEDED
    message: str | None = None
    copied: bool = False  # the cycle ran (part of) the initial copy
    pushed: bool = False  # the push step ran
    api_calls: int = 0
    objects: list[ObjectReport] = field(default_factory=list)

    @property
    def idle(self) -> bool:
        return self.status == SUCCEEDED and not any(
            r.new or r.updated or r.deleted or r.failed or r.skipped for r in self.objects
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "startedAt": self.started_at.isoformat(),
            "endedAt": self.ended_at.isoformat() if self.ended_at else None,
            "status": self.status,
            "message": self.message,
            "copied": self.copied,
            "pushed": self.pushed,
            "apiCalls": self.api_calls,
            "objects": [r.as_json() for r in self.objects],
        }


class Syncer:
    """Runs cycles for one org and one database. Keep one instance across cycles: the pull
    caches describes, so an idle cycle costs one API call for up to fifteen objects (plus the
    push's, if any)."""

    def __init__(
        self,
        db: LeadDatabase,
        client: SalesforceClient,
        *,
        pull: PullSettings | None = None,
        push: PushSettings | None = None,
        rules: FieldRules | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        progress: ProgressHook | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        self.db = db
        self.client = client
        self.clock = clock
        self.progress = progress
        self.should_stop = should_stop or (lambda: False)
        self.puller = Puller(
            db, client, settings=pull, clock=clock, on_batch=self._on_batch, rules=rules
        )
        self.pusher = Pusher(db, client, settings=push, rules=rules, clock=clock)
        # Flow actions share the pusher (its describe cache) and push local campaign
        # membership edits after the persons they need are in Salesforce.
        self.actions = Actions(db, client, self.pusher, clock=clock)

    def run_cycle(self) -> CycleResult:
        """Pull, then push. Returns the outcome; raises on a job-level failure."""
        result = CycleResult(started_at=self.clock())
        first_run = self._last_run_id()
        calls, began = self.client.usage.calls, time.monotonic()
        try:
            self._check_stop()
            pulled = self.puller.run()
            result.copied = pulled.copied
            self._check_stop()
            self.pusher.run()
            self.actions.push_memberships()
            result.pushed = True
        except _StopRequested:
            result.status, result.message = STOPPED, STOPPED_MESSAGE
        except BudgetExhausted as exc:
            result.status, result.message = PAUSED, exc.message
        finally:
            result.api_calls = self.client.usage.calls - calls
            result.ended_at = self.clock()
            if result.status != SUCCEEDED and result.message:
                self._relabel_runs(first_run, result.status, result.message)
            result.objects = self._reports(first_run, time.monotonic() - began, result)
        return result

    # -- stopping between batches -------------------------------------------------------------

    def _on_batch(self, name: str, batches: int) -> None:
        if self.progress is not None:
            self.progress(name, batches)
        self._check_stop()

    def _check_stop(self) -> None:
        if self.should_stop():
            raise _StopRequested()

    # -- reading back what the cycle did ------------------------------------------------------

    def _last_run_id(self) -> int:
        with self.db.transaction() as conn:
            return int(conn.scalar(select(func.coalesce(func.max(sync_runs.c.id), 0))) or 0)

    def _relabel_runs(self, after: int, status: str, message: str) -> None:
        """The pull records the run a stop or a budget pause interrupted as "Failed" (with that
        exception's message); neither is a failure, and the status view should say which."""
        with self.db.transaction() as conn:
            conn.execute(
                update(sync_runs)
                .where(
                    sync_runs.c.id > after,
                    sync_runs.c.status == "Failed",
                    sync_runs.c.message.contains(message[:200], autoescape=True),
                )
                .values(status=status)
            )

    def _reports(self, after: int, seconds: float, result: CycleResult) -> list[ObjectReport]:
        with self.db.transaction() as conn:
            rows = conn.execute(
                select(sync_runs).where(sync_runs.c.id > after).order_by(sync_runs.c.id)
            ).all()
        reports = [
            ObjectReport(
                object=r.sfdc_object,
                operation=r.operation,
                status=r.status,
                new=r.new_count,
                updated=r.updated_count,
                deleted=r.deleted_count,
                failed=r.failed_count,
                skipped=r.skipped_count,
                api_calls=r.api_calls,
                seconds=_seconds(r.started_at, r.ended_at),
                message=r.message,
            )
            for r in rows
        ]
        seen = {r.object for r in reports}
        operation = "Initial copy" if result.copied else "Pull updates"
        untouched = "Idle" if result.status == SUCCEEDED else "Not reached"
        idle = [ObjectReport(spec.name, operation, untouched) for spec in OBJECTS]
        reports.extend(r for r in idle if r.object not in seen)
        if not rows and reports:
            reports[0].seconds = seconds  # an idle cycle: its time is the one change check
        return reports


def _seconds(start: dt.datetime | None, end: dt.datetime | None) -> float:
    if start is None or end is None:
        return 0.0
    return max(0.0, (end - start).total_seconds())
