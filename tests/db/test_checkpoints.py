"""A bulk load on SQLite checkpoints the write-ahead log on a thread of its own."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

from leadsync.db import LeadDatabase
from leadsync.db import checkpoints as checkpoints_module

AUTO = checkpoints_module.SQLITE_AUTOCHECKPOINT


def autocheckpoint(conn: Connection) -> int:
    return int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


def test_writers_stop_checkpointing_during_a_load_and_resume_after(tmp_path: Path) -> None:
    with LeadDatabase.open(f"sqlite:///{tmp_path / 'a.db'}") as db:
        with db.transaction() as conn:
            assert autocheckpoint(conn) == AUTO
        with db.bulk_load():
            with db.transaction() as conn:
                assert autocheckpoint(conn) == 0
            with pytest.raises(OperationalError), db.transaction() as conn:
                conn.execute(text("SELECT nonsense FROM nowhere"))  # a failed statement
        for _ in range(3):  # whichever pooled connection comes next
            with db.transaction() as conn:
                assert autocheckpoint(conn) == AUTO


def test_commits_in_a_load_are_checkpointed_by_the_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkpoints: list[int] = []
    real = checkpoints_module.Checkpointer._checkpoint

    def counted(self: checkpoints_module.Checkpointer) -> None:
        real(self)
        checkpoints.append(1)

    monkeypatch.setattr(checkpoints_module.Checkpointer, "_checkpoint", counted)
    path = tmp_path / "b.db"
    with LeadDatabase.open(f"sqlite:///{path}") as db:
        with db.bulk_load():
            for n in range(20):
                db.create_person({"email": f"p{n}@example.com", "lastName": f"P{n}"})
        assert checkpoints  # the thread's, and the last one when the load ended
        outside = sqlite3.connect(path, isolation_level=None)  # not inside a transaction
        try:
            busy, frames, done = outside.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            outside.close()
        assert busy == 0 and frames == done  # nothing left behind in the log
        assert len(db.find_persons(limit=100)) == 20


def test_a_load_keeps_every_write_on_either_backend(database: LeadDatabase) -> None:
    with database.bulk_load():
        person = database.create_person({"email": "x@example.com", "lastName": "X"})
    assert database.get_person(person["id"])["email"] == "x@example.com"


def test_a_commit_in_a_load_leaves_the_log_to_the_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With the thread's checkpoints held back, a large commit stays in the log: the writer
    # itself did not checkpoint at COMMIT (where SQLite's auto-checkpoint would run).
    monkeypatch.setattr(checkpoints_module.Checkpointer, "nudge", lambda self: None)
    path = tmp_path / "c.db"
    with LeadDatabase.open(f"sqlite:///{path}") as db:
        rows = [{"n": n, "text": "x" * 500} for n in range(20_000)]  # ~10 MB, > 1,000 pages
        with db.transaction() as conn:
            conn.execute(text("CREATE TABLE filler (n INTEGER, text TEXT)"))
        size_before = path.stat().st_size
        with db.bulk_load():
            with db.transaction() as conn:
                conn.execute(text("INSERT INTO filler VALUES (:n, :text)"), rows)
            assert path.stat().st_size == size_before  # all of it still in the log
        assert path.stat().st_size > size_before + 5_000_000  # checkpointed when it ended
