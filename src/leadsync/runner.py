"""`leadsync sync`: the loop. Cycle, wait the interval, cycle again, until stopped.

- One sync per database: a lock row in the database (so it holds across machines on
  PostgreSQL) with a TTL, renewed after every stored batch and every cycle, released on exit.
  A crashed holder cannot keep it past the TTL.
- SIGINT/SIGTERM set a stop flag: the running cycle leaves after the batch it is storing is
  committed, the lock is released and the process exits 0. A second signal stops at once
  (every batch is one transaction, so that too leaves the database consistent).
- The API budget: when the cycle hits the configured share of the org's daily limit, it stops
  between records, the status says "Paused" and why, and the loop tries again after the
  interval (one call tells whether the budget allows).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

from sqlalchemy import select

from .config import Settings
from .db import LeadDatabase
from .db.schema import sync_lock
from .db.sync_state import SYNC_LOCK
from .db.types import iso, utcnow
from .errors import LeadsyncError
from .salesforce.client import SalesforceClient
from .status import prune_history, record_cycle
from .sync.cycle import PAUSED, STOPPED, CycleResult, Syncer

log = logging.getLogger("leadsync.sync")


class AlreadyRunning(LeadsyncError):
    """Another `leadsync sync` holds the database's sync lock."""


@dataclass(frozen=True)
class LoopOptions:
    interval: float
    once: bool = False
    history_days: int = 30
    lock_ttl: dt.timedelta = dt.timedelta(minutes=10)


class StopFlag:
    """Set by a signal; waits wake up as soon as it is set."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signals = 0

    def set(self) -> None:
        self._event.set()

    def __bool__(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        return self._event.wait(max(0.0, seconds))


class Runner:
    """Runs the loop for one configuration. `run()` returns the process exit code."""

    def __init__(
        self,
        db: LeadDatabase,
        client: SalesforceClient,
        settings: Settings,
        options: LoopOptions,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        stop: StopFlag | None = None,
    ) -> None:
        self.db = db
        self.client = client
        self.options = options
        self.clock = clock
        self.stop = stop if stop is not None else StopFlag()
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.syncer = Syncer(
            db,
            client,
            pull=settings.pull_settings(),
            push=settings.push_settings(),
            rules=settings.field_rules(),
            clock=clock,
            progress=self._on_batch,
            should_stop=lambda: bool(self.stop),
        )

    def run(self) -> int:
        with self._locked():
            log.info(
                "sync started (%s; lock %s)",
                "one cycle" if self.options.once else f"every {self.options.interval:g} s",
                self.holder,
            )
            while True:
                code = self._one_cycle()
                if self.options.once or self.stop:
                    break
                if self.stop.wait(self.options.interval):
                    break
                self._renew()
        log.info("sync stopped")
        return code

    # -- a cycle ------------------------------------------------------------------------------

    def _one_cycle(self) -> int:
        # The usage last reported may be stale (the org's counter rolls); the first call of the
        # cycle refreshes it, so a paused loop spends at most one call per interval.
        self.client.usage.used = None
        self._renew()
        try:
            result = self.syncer.run_cycle()
        except LeadsyncError as exc:
            return self._failed(exc.message)
        except Exception as exc:  # a job-level failure of any kind: logged, the loop goes on
            return self._failed(f"{type(exc).__name__}: {exc}")
        self._record(result, None)
        self._log(result)
        prune_history(self.db, days=self.options.history_days, now=self.clock())
        return 0

    def _failed(self, message: str) -> int:
        line = " ".join(message.split())
        log.error("cycle failed: %s", line)
        failed = CycleResult(started_at=self.clock(), ended_at=self.clock(), status="Failed")
        self._record(failed, line)
        return 1

    def _record(self, result: CycleResult, failure: str | None) -> None:
        usage = self.client.usage
        try:
            record_cycle(
                self.db, result, org_used=usage.used, org_max=usage.maximum, failure=failure
            )
        except LeadsyncError as exc:  # never hide the cycle's own outcome behind this
            log.error("cannot record the cycle: %s", exc.message)

    def _log(self, result: CycleResult) -> None:
        for report in result.objects:
            log.info(
                "%s %s: %s; new %d, updated %d, deleted %d, failed %d, skipped %d; "
                "%d API calls; %.1f s",
                report.object,
                report.operation.lower(),
                report.status.lower(),
                report.new,
                report.updated,
                report.deleted,
                report.failed,
                report.skipped,
                report.api_calls,
                report.seconds,
            )
        usage = self.client.usage
        org = f"; org usage {usage.used}/{usage.maximum}" if usage.maximum else ""
        if result.status == PAUSED:
            log.warning("paused: %s; trying again in %g s", result.message, self.options.interval)
        elif result.status == STOPPED:
            log.info("stopped between batches; the next run resumes where this one stopped")
        log.info("cycle %s: %d API calls%s", result.status.lower(), result.api_calls, org)

    # -- the lock -----------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        if not self.db.acquire_sync_lock(self.holder, ttl=self.options.lock_ttl):
            raise AlreadyRunning(_held_by(self.db))
        try:
            yield
        finally:
            try:
                self.db.release_sync_lock(self.holder)
            except LeadsyncError as exc:
                log.error("cannot release the sync lock: %s", exc.message)

    def _renew(self) -> None:
        if not self.db.acquire_sync_lock(self.holder, ttl=self.options.lock_ttl):
            raise AlreadyRunning(
                "lost the sync lock (it expired while this process was stalled); "
                + _held_by(self.db)
            )

    def _on_batch(self, name: str, batches: int) -> None:
        log.debug("%s: batch %d stored", name, batches)
        self._renew()


def _held_by(db: LeadDatabase) -> str:
    with db.transaction() as conn:
        row = conn.execute(select(sync_lock).where(sync_lock.c.name == SYNC_LOCK)).first()
    holder = row.holder if row is not None else "?"
    until = iso(row.expires_at) if row is not None else "?"
    return (
        f"another leadsync sync is running on this database ({holder}, lock held until "
        f"{until}); stop it first (one sync per database)"
    )


@contextmanager
def stop_on_signals(stop: StopFlag) -> Iterator[None]:
    """SIGINT and SIGTERM set `stop`; a second one interrupts at once."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        stop.signals += 1
        if stop.signals > 1:
            raise KeyboardInterrupt
        log.info("%s received: finishing the current batch", signal.Signals(signum).name)
        stop.set()

    previous: dict[signal.Signals, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
