"""Concurrent local edits: each change row's old value is the value the edit replaced."""

from __future__ import annotations

import threading
from itertools import pairwise

from sqlalchemy import select

from leadsync.db import LeadDatabase
from leadsync.db.schema import sync_changes

EDITS = 15


def test_concurrent_updates_keep_a_consistent_change_log(database: LeadDatabase) -> None:
    """Each thread writes its own values; the change log must form one unbroken chain
    (every row's old value is the previous row's new value), on both databases."""
    person = database.create_person({"leadScore": 0})
    errors: list[BaseException] = []

    def write(thread: int) -> None:
        try:
            for i in range(1, EDITS + 1):
                database.update_person(person["id"], {"leadScore": thread * 1000 + i})
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(t,)) for t in (1, 2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with database.engine.connect() as conn:
        rows = conn.execute(
            select(sync_changes.c.old, sync_changes.c.new).order_by(sync_changes.c.id)
        ).all()
    assert len(rows) == 3 * EDITS
    assert rows[0].old == 0
    assert all(later.old == earlier.new for earlier, later in pairwise(rows))
    assert database.get_person(person["id"])["leadScore"] == rows[-1].new
