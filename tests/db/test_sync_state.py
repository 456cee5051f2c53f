from __future__ import annotations

import datetime as dt

from leadsync.db import LeadDatabase, sync_state
from leadsync.db.sync_state import Link, Watermark

T0 = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


def test_one_sync_at_a_time(database: LeadDatabase) -> None:
    times = iter([T0, T0, T0 + MINUTE, T0 + 2 * MINUTE, T0 + 12 * MINUTE, T0 + 13 * MINUTE])
    db = LeadDatabase(database.engine, clock=lambda: next(times))
    ttl = 10 * MINUTE
    assert db.acquire_sync_lock("worker-a", ttl=ttl)
    assert not db.acquire_sync_lock("worker-b", ttl=ttl)
    assert db.acquire_sync_lock("worker-a", ttl=ttl)  # renewal, now until T0+11min
    assert not db.acquire_sync_lock("worker-b", ttl=ttl)
    assert db.acquire_sync_lock("worker-b", ttl=ttl)  # a's lease expired
    db.release_sync_lock("worker-a")  # not the holder: no effect
    assert not db.acquire_sync_lock("worker-a", ttl=ttl)
    db.release_sync_lock("worker-b")
    assert database.acquire_sync_lock("worker-a", ttl=ttl)


def test_runs_watermarks_links_and_errors(database: LeadDatabase) -> None:
    person = database.create_person({"lastName": "A"})
    with database.transaction() as conn:
        run = sync_state.start_run(conn, "Lead", "Pull updates", at=T0)
        assert sync_state.get_watermark(conn, "Lead") == Watermark("Lead", None, None, False)
        sync_state.set_watermark(conn, Watermark("Lead", None, "00Q000000000009AAA", False), at=T0)
        sync_state.set_watermark(conn, Watermark("Lead", T0, None, True), at=T0)
        link = Link("Lead", "00Q000000000001AAA", "person", person["id"], {"LastName": "A"}, T0)
        sync_state.save_link(conn, link, at=T0)
        sync_state.save_link(conn, Link(**{**link.__dict__, "baseline": {"LastName": "B"}}), at=T0)
        error_id = sync_state.record_error(
            conn,
            at=T0,
            level="record",
            code="REQUIRED_FIELD_MISSING",
            message="Required fields are missing: [Company]",
            sfdc_object="Lead",
            person_id=person["id"],
            fields=["Company"],
            run_id=run,
        )
        sync_state.finish_run(
            conn, run, "Succeeded", at=T0 + MINUTE, counts={"updated": 3, "failed": 1}, api_calls=2
        )
    with database.transaction() as conn:
        assert sync_state.get_watermark(conn, "Lead") == Watermark("Lead", T0, None, True)
        assert sync_state.get_link(conn, "Lead", "00Q000000000001AAA") == Link(
            "Lead", "00Q000000000001AAA", "person", person["id"], {"LastName": "B"}, T0
        )
        assert [x.sfdc_id for x in sync_state.links_of(conn, "person", person["id"])] == [
            "00Q000000000001AAA"
        ]
        assert sync_state.get_link(conn, "Contact", "00Q000000000001AAA") is None
    [row] = database.list_sync_runs()
    assert (row["status"], row["updated"], row["failed"], row["new"], row["apiCalls"]) == (
        "Succeeded",
        3,
        1,
        0,
        2,
    )
    [error] = database.list_sync_errors()
    assert (error["code"], error["fields"], error["personId"]) == (
        "REQUIRED_FIELD_MISSING",
        ["Company"],
        person["id"],
    )
    with database.transaction() as conn:
        sync_state.resolve_errors(conn, [error_id], at=T0 + MINUTE)
    assert database.list_sync_errors() == []
    assert len(database.list_sync_errors(include_resolved=True)) == 1
