"""`leadsync sync` as a process: SIGTERM mid-copy leaves a consistent database that the next run
completes, and a second instance on the same database is refused while the first runs."""

from __future__ import annotations

import datetime as dt
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from leadsync.config import load_config
from leadsync.db import LeadDatabase
from leadsync.runner import LoopOptions, Runner, StopFlag
from leadsync.status import status_report

from .cli_support import LEADSYNC, Served, run, served_org, sf_query

LEADS = 20_000


@pytest.fixture
def big(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    yield from served_org(tmp_path, monkeypatch, records=LEADS)


def scalar(db: Path, sql: str) -> int:
    with sqlite3.connect(db, timeout=30) as conn:
        return int(conn.execute(sql).fetchone()[0])


def wait_for_a_stored_copy_batch(db: Path, process: subprocess.Popen[str]) -> None:
    """Until a person object's initial copy has stored a batch but not finished."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        if db.exists():
            try:
                if scalar(
                    db,
                    "SELECT COUNT(*) FROM sync_watermarks WHERE sfdc_object = 'Lead' "
                    "AND copy_cursor IS NOT NULL AND NOT copy_done",
                ):
                    return
            except sqlite3.OperationalError:
                pass  # tables not created yet
        time.sleep(0.02)
    raise AssertionError("the copy never stored a first batch")


def test_sigterm_mid_copy_is_clean_and_the_next_run_finishes(big: Served) -> None:
    env = big.env(LEADSYNC_SYNC_BATCH_SIZE="500", LEADSYNC_SYNC_BULK_THRESHOLD="1000")
    # Bulk result pages answered slowly, so that the copy is still running when the signal
    # comes, however fast the rest of it is on this machine.
    big.org.faults.add(
        {"kind": "slow", "rate": 1.0, "path": "/jobs/query/[^/]+/results", "delay": 3}
    )
    process = subprocess.Popen(
        [LEADSYNC, "sync", "--interval", "3600"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_a_stored_copy_batch(big.db_path, process)

        second = run("sync", "--once", env=env, timeout=60)
        assert second.code == 1
        [line] = second.stderr.strip().splitlines()
        assert line.startswith("leadsync sync: error: another leadsync sync is running")

        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "SIGTERM received: finishing the current batch" in stderr
    assert "Traceback" not in stderr

    db = big.db_path
    linked_leads = scalar(db, "SELECT COUNT(*) FROM sync_links WHERE sfdc_object = 'Lead'")
    assert 0 < linked_leads < LEADS  # stopped part-way through the lead copy
    assert scalar(db, "SELECT COUNT(*) FROM sync_watermarks WHERE NOT copy_done") >= 1
    assert scalar(db, "SELECT COUNT(*) FROM sync_runs WHERE status = 'In Process'") == 0
    assert scalar(db, "SELECT COUNT(*) FROM sync_runs WHERE status = 'Stopped'") >= 1
    assert scalar(db, "SELECT COUNT(*) FROM sync_lock WHERE holder IS NOT NULL") == 0
    # every stored lead link points at a person that holds it: no half-stored record
    assert (
        scalar(
            db,
            "SELECT COUNT(*) FROM sync_links l LEFT JOIN persons p ON p.id = l.entity_id "
            "WHERE l.sfdc_object = 'Lead' AND p.id IS NULL",
        )
        == 0
    )

    finished = run("sync", "--once", env=env, timeout=300)
    assert finished.code == 0, finished.stderr
    assert scalar(db, "SELECT COUNT(*) FROM sync_watermarks WHERE NOT copy_done") == 0
    [count] = sf_query(big, "SELECT COUNT(Id) n FROM Lead")
    org_leads = int(count["n"])
    assert scalar(db, "SELECT COUNT(*) FROM sync_links WHERE sfdc_object = 'Lead'") == org_leads
    assert (
        scalar(
            db,
            "SELECT COUNT(*) - COUNT(DISTINCT sfdc_lead_id) FROM persons "
            "WHERE sfdc_lead_id IS NOT NULL",
        )
        == 0
    )
    status = run("status", "--json", env=env)
    assert status.json()["lastCycle"]["status"] == "Succeeded"


def cycle_statuses(db: LeadDatabase) -> list[str]:
    return [r["status"] for r in reversed(db.list_sync_runs(limit=1000)) if r["object"] == "*"]


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture
def small(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    yield from served_org(tmp_path, monkeypatch, records=40)


def test_the_loop_pauses_on_the_budget_and_resumes_by_itself(small: Served) -> None:
    limits = small.org.limits
    over = limits.maximum // 2 + 1
    limits.set_used(over)  # already past the 50% cap
    settings = load_config()
    db, client = settings.open_database(), settings.salesforce_client()
    stop = StopFlag()
    runner = Runner(db, client, settings, LoopOptions(interval=0.05), stop=stop)
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(runner.run()))
    thread.start()
    try:
        wait_until(lambda: "Paused" in cycle_statuses(db), "a paused cycle")
        paused_calls = limits.used - over
        pauses = cycle_statuses(db).count("Paused")
        limits.set_used(0)  # the org's daily counter rolled over
        wait_until(lambda: cycle_statuses(db)[-1:] == ["Succeeded"], "a resumed cycle")
    finally:
        stop.set()
        thread.join(timeout=60)
        client.http.close()
    assert codes == [0]
    report = status_report(db, now=dt.datetime.now(dt.UTC), budget_share=0.5)
    db.close()
    assert not report["paused"]
    assert all(o["initialCopyDone"] for o in report["objects"])
    assert paused_calls <= pauses + 1  # a paused cycle spends at most one call
