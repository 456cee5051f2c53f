"""Crashes: `leadsync sync` (the venv's console script, configured through LEADSYNC_* variables,
a SQLite file database, the org served on a socket) killed with SIGKILL at seeded random points
during the initial copy of 20,000 leads and during pushes of local edits. Every restart picks up
where the killed process left: the copy resumes after its stored cursor (records read again are
bounded by one batch per crash), and at the end Salesforce holds exactly one record per person
and every local edit."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from leadsync.db import LeadDatabase
from leadsync.emulator import bulk as emulator_bulk
from leadsync.emulator.api import query as query_api
from leadsync.emulator.bulk_query import QueryJob
from leadsync.salesforce import soql

from ..cli_support import LEADSYNC, Served, run, served_org, sf_client

LEADS = 5_000  # the slow variant copies 20,000
BATCH = 500
PUSH_EDITS = 2_000
PUSH_CREATES = 100
ENV = {
    "LEADSYNC_SYNC_BATCH_SIZE": str(BATCH),
    "LEADSYNC_SYNC_BULK_THRESHOLD": "1000",
    "LEADSYNC_PUSH": '{"auto_create": [{"field": "email", "op": "is not empty"}]}',
}


@pytest.fixture
def big(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Served]:
    yield from served_org(tmp_path, monkeypatch, records=getattr(request, "param", LEADS))


def scalar(db: Path, sql: str, *args: Any) -> int:
    with sqlite3.connect(db, timeout=30) as conn:
        return int(conn.execute(sql, args).fetchone()[0] or 0)


def rows(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db, timeout=30) as conn:
        return list(conn.execute(sql, args).fetchall())


def safe(read: Callable[[], int]) -> int:
    try:
        return read()
    except sqlite3.OperationalError:
        return -1  # the tables do not exist yet, or the writer holds the file


@dataclass
class Crashes:
    served: Served
    rng: random.Random
    kills: Counter[str] = field(default_factory=Counter)
    started: int = 0

    @property
    def env(self) -> dict[str, str]:
        return self.served.env(**ENV)

    def start(self) -> subprocess.Popen[str]:
        self.started += 1
        return subprocess.Popen(
            [LEADSYNC, "sync", "--once"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def kill_when(self, process: subprocess.Popen[str], ready: Callable[[], bool]) -> bool:
        """SIGKILL once `ready()`; False if the process ended first (it finished the work)."""
        deadline = time.monotonic() + 300
        while not ready():
            if process.poll() is not None:
                _, stderr = process.communicate()
                assert process.returncode == 0, stderr
                return False
            assert time.monotonic() < deadline, "the sync made no progress"
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
        assert process.returncode == -signal.SIGKILL
        # The killed holder's lock lasts its TTL (30 s at least): let it lapse now.
        with sqlite3.connect(self.served.db_path, timeout=30) as conn:
            conn.execute("UPDATE sync_lock SET holder = NULL, expires_at = NULL")
        return True

    def finish(self) -> None:
        self.started += 1
        done = run("sync", "--once", env=self.env, timeout=600)
        assert done.code == 0, done.stderr
        assert "Traceback" not in done.stderr


# -- the initial copy ---------------------------------------------------------------------------


def lead_cursor(db: Path) -> tuple[str, str]:
    """(watermark, Id) of the last lead batch the copy stored; ('', '') before the first."""
    found = rows(
        db, "SELECT watermark, copy_cursor FROM sync_watermarks WHERE sfdc_object = 'Lead'"
    )
    return (str(found[0][0] or ""), str(found[0][1] or "")) if found else ("", "")


def stored_leads(db: Path) -> int:
    return scalar(db, "SELECT COUNT(*) FROM sync_links WHERE sfdc_object = 'Lead'")


def copy_done(db: Path) -> bool:
    return safe(lambda: scalar(db, "SELECT COUNT(*) FROM sync_watermarks WHERE NOT copy_done")) == 0


def lead_jobs(served: Served) -> list[QueryJob]:
    registry = emulator_bulk.registry(served.org)
    return [
        job
        for job in list(registry._jobs.values())
        if isinstance(job, QueryJob) and " FROM Lead " in job.soql
    ]


@dataclass
class LeadReads:
    """Leads the org served to REST queries (a copy's first page) and Bulk jobs."""

    served: Served
    pages: list[int] = field(default_factory=list)  # records of each REST Lead query page
    jobs: int = 0  # Lead Bulk jobs seen so far

    def mark(self) -> tuple[int, int]:
        return len(self.pages), len(lead_jobs(self.served))

    def since(self, mark: tuple[int, int]) -> int | None:
        """Leads read since `mark`; None if none was read."""
        pages, jobs = self.pages[mark[0] :], lead_jobs(self.served)[mark[1] :]
        if not pages and not jobs:
            return None
        return sum(pages) + sum(job.processed for job in jobs)


@pytest.fixture
def lead_reads(big: Served, monkeypatch: pytest.MonkeyPatch) -> LeadReads:
    reads = LeadReads(big)
    real = query_api.first_page

    def spy(ctx: Any, text: str, include_deleted: bool, size: int) -> dict[str, Any]:
        body = real(ctx, text, include_deleted, size)
        if " FROM Lead " in text:
            reads.pages.append(len(body["records"]))
        return body

    monkeypatch.setattr(query_api, "first_page", spy)
    return reads


def crash_the_copy(crashes: Crashes, kills: int, reads: LeadReads) -> list[tuple[int, int]]:
    """Kill the copy `kills` times, each at a random moment after this run stored a batch.
    Returns (leads stored before the run, leads the run read) for each run: its first page
    (REST) and, when it got that far, its Bulk job."""
    db = crashes.served.db_path
    runs: list[tuple[int, int]] = []
    cursor = ("", "")
    while crashes.kills["copy"] < kills:
        before = max(0, safe(lambda: stored_leads(db)))
        mark = reads.mark()
        target = before + crashes.rng.randrange(1, 6) * BATCH // 2
        process = crashes.start()
        killed = crashes.kill_when(process, lambda at=target: safe(lambda: stored_leads(db)) >= at)
        read = reads.since(mark)
        if read is not None:
            runs.append((before, read))
        if not killed:
            break
        crashes.kills["copy"] += 1
        assert not copy_done(db)
        moved = lead_cursor(db)
        assert moved > cursor, (moved, cursor)  # the cursor only moves forward
        cursor = moved
    return runs


# -- pushes -------------------------------------------------------------------------------------


PUSHED = "FROM sync_changes WHERE NOT local_only AND entity = 'person'"  # what the push takes


def processed(db: Path) -> int:
    return scalar(db, f"SELECT COUNT(*) {PUSHED} AND processed_at IS NOT NULL")


def local_edits(
    crashes: Crashes, round_no: int, edits: int, creates: int
) -> tuple[dict[int, str], list[int]]:
    """Title edits on random lead persons, and new persons matching the auto-create rule
    (each edited once: creating a person writes no outbox row, see test_faults.py)."""
    db = LeadDatabase.open(crashes.served.db_url)
    try:
        leads = [
            int(r[0])
            for r in rows(
                crashes.served.db_path,
                "SELECT id FROM persons WHERE sfdc_type = 'Lead' AND NOT sfdc_is_deleted "
                "ORDER BY id",
            )
        ]
        titles = {
            pid: f"crash-title-{round_no}-{i}"
            for i, pid in enumerate(crashes.rng.sample(leads, edits))
        }
        for pid, title in titles.items():
            db.update_person(pid, {"title": title})
        created = []
        for i in range(creates):
            person = db.create_person(
                {"email": f"crash{round_no}-{i}@reliability.example", "lastName": f"Crash{i}"}
            )
            titles[int(person["id"])] = f"crash-new-{round_no}-{i}"
            db.update_person(person["id"], {"title": titles[int(person["id"])]})
            created.append(int(person["id"]))
    finally:
        db.close()
    return titles, created


def crash_the_pushes(crashes: Crashes, kills: int) -> tuple[dict[int, str], list[int]]:
    """Rounds of local edits, each pushed by a process killed part-way through its batches."""
    db = crashes.served.db_path
    titles: dict[int, str] = {}
    created: list[int] = []
    for round_no in range(3 * kills):
        if crashes.kills["push"] >= kills:
            break
        done = processed(db)
        edited, made = local_edits(crashes, round_no, PUSH_EDITS // kills, PUSH_CREATES // kills)
        titles.update(edited)
        created += made
        total = scalar(db, f"SELECT COUNT(*) {PUSHED}")
        target = crashes.rng.randrange(done + 1, done + (total - done) // 2)
        process = crashes.start()
        if crashes.kill_when(process, lambda at=target: safe(lambda: processed(db)) >= at):
            crashes.kills["push"] += 1
    return titles, created


# -- the test -----------------------------------------------------------------------------------


def run_crashes(
    big: Served, reads: LeadReads, *, leads: int, copy_kills: int, push_kills: int, seed: int
) -> dict[str, Any]:
    crashes = Crashes(big, random.Random(seed))
    db = big.db_path
    runs = crash_the_copy(crashes, copy_kills, reads)
    crashes.finish()
    assert copy_done(db)
    total_leads = stored_leads(db)
    assert total_leads >= leads
    # Each run read only what lay after the stored cursor: what it re-read (already stored
    # before it started) is at most one batch, never the whole copy again.
    reread = [max(0, read - (total_leads - before)) for before, read in runs]
    assert crashes.kills["copy"] == copy_kills and len(runs) >= copy_kills
    assert all(n <= BATCH for n in reread), (
        f"re-read {reread} of runs (stored before, read) {runs}, {total_leads} leads"
    )

    titles, created = crash_the_pushes(crashes, push_kills)
    assert crashes.kills["push"] == push_kills
    crashes.finish()
    crashes.finish()  # and once more: nothing left, nothing pushed twice
    assert scalar(db, f"SELECT COUNT(*) {PUSHED} AND processed_at IS NULL") == 0

    client = sf_client(big)
    try:
        org_leads = client.query(soql.select("Lead", ["Id", "Email", "Title", "LeadSync_Id__c"]))
    finally:
        client.http.close()
    ext = Counter(r["LeadSync_Id__c"] for r in org_leads if r["LeadSync_Id__c"])
    assert [k for k, n in ext.items() if n > 1] == []
    assert sorted(ext) == sorted(str(pid) for pid in created)
    emails = Counter(str(r["Email"]).lower() for r in org_leads if r["Email"])
    assert [e for e, n in emails.items() if n > 1] == []
    linked = dict(rows(db, "SELECT id, sfdc_lead_id FROM persons WHERE sfdc_lead_id IS NOT NULL"))
    remote_title = {r["Id"]: r["Title"] for r in org_leads}
    missing = [
        (pid, title, remote_title.get(str(linked.get(pid))))
        for pid, title in titles.items()
        if remote_title.get(str(linked.get(pid))) != title
    ]
    assert missing == [], missing[:10]
    counts = {
        "leads": leads,
        "processesStarted": crashes.started,
        "killsDuringCopy": crashes.kills["copy"],
        "killsDuringPush": crashes.kills["push"],
        "recordsReReadPerCopyRestart": reread,
        "localEdits": len(titles),
        "localCreates": len(created),
        "orgLeads": len(org_leads),
    }
    return counts


def report(counts: dict[str, Any], record: Callable[[str, object], None]) -> None:
    print(f"\ncrash scenario: {counts}")
    for key, value in counts.items():
        record(key, value)


def test_sigkill_during_copy_and_push_loses_nothing(
    big: Served, lead_reads: LeadReads, record_property: Callable[[str, object], None]
) -> None:
    counts = run_crashes(big, lead_reads, leads=LEADS, copy_kills=3, push_kills=3, seed=11)
    report(counts, record_property)


@pytest.mark.slow
@pytest.mark.parametrize("big", [20_000], indirect=True)
def test_many_sigkills_during_copy_and_push_lose_nothing(
    big: Served, lead_reads: LeadReads, record_property: Callable[[str, object], None]
) -> None:
    counts = run_crashes(big, lead_reads, leads=20_000, copy_kills=12, push_kills=10, seed=12)
    report(counts, record_property)
