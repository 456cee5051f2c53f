"""The initial copy of persons runs without the email index and builds it at its end."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import text

from leadsync.db import LeadDatabase
from leadsync.emulator.org import Org
from leadsync.emulator.seed import seed_demo

from .conftest import PullerFactory

EMAIL_INDEX = "ix_persons_email_lower"


def index_exists(db: LeadDatabase, name: str) -> bool:
    with db.transaction() as conn:
        if conn.dialect.name == "sqlite":
            query = "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = :name"
        else:
            query = "SELECT 1 FROM pg_indexes WHERE indexname = :name"
        return conn.execute(text(query), {"name": name}).first() is not None


class Crash(Exception):
    pass


def test_the_email_index_is_built_after_the_copy_not_during_it(
    org: Org, any_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    seed_demo(org, records=60)
    during: list[bool] = []

    def look(name: str, batches: int) -> None:
        if name == "Lead":
            during.append(index_exists(any_db, EMAIL_INDEX))

    assert index_exists(any_db, EMAIL_INDEX)  # the migrated schema has it
    make_puller(any_db, bulk_threshold=0, batch_size=10, on_batch=look).run()
    assert during and not any(during)
    assert index_exists(any_db, EMAIL_INDEX)
    with any_db.transaction() as conn:  # the rebuilt index is the one lookups use
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table otherwise
        explain = "EXPLAIN QUERY PLAN" if conn.dialect.name == "sqlite" else "EXPLAIN"
        query = f"{explain} SELECT id FROM persons WHERE lower(email) = 'someone@example.com'"
        plan = " ".join(str(row) for row in conn.execute(text(query)))
    assert EMAIL_INDEX in plan
    a_lead = any_db.find_persons(sfdcType="Lead", limit=1)[0]
    assert any_db.get_person_by_email(a_lead["email"].upper())["id"] == a_lead["id"]


def test_a_copy_that_fails_still_builds_the_index(
    org: Org, any_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    seed_demo(org, records=60)

    def fail(name: str, batches: int) -> None:
        if name == "Lead" and batches == 2:
            raise Crash

    with pytest.raises(Crash):
        make_puller(any_db, bulk_threshold=0, batch_size=10, on_batch=fail).run()
    assert index_exists(any_db, EMAIL_INDEX)


def killed_copy(
    db: LeadDatabase,
    make_puller: PullerFactory,
    monkeypatch: pytest.MonkeyPatch,
    where: Callable[[str, int], bool],
) -> None:
    """A copy killed after the batch `where` picks: a SIGKILL runs no `finally`, so the
    index stays dropped."""

    def kill(name: str, batches: int) -> None:
        if where(name, batches):
            raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(db, "restore_copy_indexes", lambda: None)
        with pytest.raises(Crash):
            make_puller(db, bulk_threshold=0, batch_size=10, on_batch=kill).run()
    assert not index_exists(db, EMAIL_INDEX)


def test_after_a_kill_mid_copy_email_lookups_work_and_the_resumed_copy_builds_the_index(
    org: Org,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed_demo(org, records=60)
    killed_copy(any_db, make_puller, monkeypatch, lambda name, n: name == "Lead" and n == 2)
    stored = any_db.find_persons(sfdcType="Lead", limit=1)[0]
    assert any_db.get_person_by_email(stored["email"])["id"] == stored["id"]  # by scanning
    result = make_puller(any_db, bulk_threshold=0, batch_size=10).run()
    assert result.copied and result.of("Lead").read > 0
    assert index_exists(any_db, EMAIL_INDEX)


def test_a_copy_killed_after_its_persons_still_builds_the_index_when_resumed(
    org: Org,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed_demo(org, records=60)
    # Killed in the Task copy: leads and contacts are copied by then.
    killed_copy(any_db, make_puller, monkeypatch, lambda name, n: name == "Task")
    result = make_puller(any_db, bulk_threshold=0, batch_size=10).run()
    assert result.copied and result.of("Lead").read == 0  # only the objects after persons
    assert index_exists(any_db, EMAIL_INDEX)
