"""Link lookups by Salesforce id seek each id, whatever the planner's statistics say."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event, insert, text

from leadsync.db import LeadDatabase
from leadsync.db.schema import sync_links
from leadsync.sync.related import persons_of

LINKS = 20_000
AT = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def _seed_links(db: LeadDatabase) -> list[str]:
    ids = [f"00Q{n:015d}" for n in range(LINKS)]
    rows = [
        {
            "sfdc_object": "Lead",
            "sfdc_id": sfdc_id,
            "entity": "person",
            "entity_id": n + 1,
            "baseline": {},
            "created_at": AT,
            "updated_at": AT,
        }
        for n, sfdc_id in enumerate(ids)
    ]
    with db.transaction() as conn:
        conn.execute(insert(sync_links), rows)
        conn.execute(
            insert(sync_links),
            [
                {"sfdc_object": "Account", "sfdc_id": f"001{n:015d}", "entity": "company"}
                | {"entity_id": n + 1, "baseline": {}, "created_at": AT, "updated_at": AT}
                for n in range(50)
            ],
        )
    return ids


def test_persons_of_seeks_ids_after_analyze(sqlite_db: LeadDatabase) -> None:
    ids = _seed_links(sqlite_db)
    sqlite_db.analyze()
    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "sync_links" in statement:
            statements.append((statement, parameters))

    wanted = ids[::97]  # ids spread over the table, in one IN list
    with sqlite_db.transaction() as conn:
        event.listen(conn, "before_cursor_execute", capture)
        try:
            found = persons_of(conn, wanted)
        finally:
            event.remove(conn, "before_cursor_execute", capture)
        assert found == {sfdc_id: ids.index(sfdc_id) + 1 for sfdc_id in wanted}
        assert statements
        for statement, parameters in statements:
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            details = " ".join(str(row[-1]) for row in plan)
            # Each id is sought through the (sfdc_object, sfdc_id) key, never a scan of all
            # of an object's links (or of every person's link).
            assert "sfdc_id=?" in details, details


def test_persons_of_ignores_links_that_are_not_persons(any_db: LeadDatabase) -> None:
    _seed_links(any_db)
    with any_db.transaction() as conn:
        conn.execute(
            text(
                "UPDATE sync_links SET entity = 'campaign_member' "
                "WHERE sfdc_object = 'Lead' AND sfdc_id = :id"
            ),
            {"id": f"00Q{7:015d}"},
        )
        found = persons_of(conn, [f"00Q{7:015d}", f"00Q{8:015d}"])
    assert found == {f"00Q{8:015d}": 9}
