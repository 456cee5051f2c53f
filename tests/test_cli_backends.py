"""The CLI on both lead-database backends: SQLite and this machine's PostgreSQL (where the
one-sync-at-a-time lock is what keeps two machines from syncing one database)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from leadsync.db import LeadDatabase
from leadsync.db.schema import metadata

from .cli_support import Served, invoke, served_org
from .db.conftest import BACKENDS, postgres_url

__all__ = ["postgres_url"]  # the session's PostgreSQL database (a fixture)


@pytest.fixture(params=BACKENDS)
def served(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Served]:
    for served in served_org(tmp_path, monkeypatch, records=40):
        if request.param == "postgresql":
            url: str = request.getfixturevalue("postgres_url")
            with LeadDatabase.open(url) as db, db.transaction() as conn:
                for table in reversed(metadata.sorted_tables):
                    conn.execute(table.delete())
            monkeypatch.setenv("LEADSYNC_DATABASE_URL", url)
        yield served


def test_sync_status_person_on_each_backend(served: Served) -> None:
    assert invoke("sync", "--once").code == 0
    assert invoke("sync", "--once").code == 0
    report = invoke("status", "--json").json()
    assert report["lastCycle"]["status"] in ("Succeeded", "Idle")
    assert all(o["initialCopyDone"] for o in report["objects"])
    created = invoke("person", "create", "--set", "lastName=Backend", "--json").json()
    updated = invoke("person", "update", str(created["id"]), "--set", "title=Both", "--json")
    assert updated.json()["title"] == "Both"
    assert invoke("status", "--json").json()["unlinkedBacklog"] == 1  # the title edit


def test_the_lock_refuses_a_second_sync_on_each_backend(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    with LeadDatabase.open(os.environ["LEADSYNC_DATABASE_URL"]) as db:
        assert db.acquire_sync_lock("elsewhere:7:feed", ttl=dt.timedelta(minutes=5))
        refused = invoke("sync", "--once")
        assert refused.code == 1 and "another leadsync sync is running" in refused.stderr
        db.release_sync_lock("elsewhere:7:feed")
    assert invoke("sync", "--once").code == 0
