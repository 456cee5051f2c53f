"""The change check of an incremental cycle: five objects by query and the others by the
replication resources (`updated`, `deleted`), all in one `/composite` call."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from sqlalchemy import select

from leadsync.db import LeadDatabase, sync_state
from leadsync.db.schema import activities
from leadsync.emulator import writes
from leadsync.emulator.api import sobjects
from leadsync.emulator.org import Org
from leadsync.emulator.sessions import Session
from leadsync.salesforce.client import COMPOSITE_QUERIES
from leadsync.sync import Puller
from leadsync.sync.change_check import (
    QUERY_FIRST,
    SUBREQUESTS,
    CheckRequest,
    _calls,
    replication_start,
)

from ..conftest import ApiClient
from .conftest import PullerFactory
from .helpers import next_minute
from .test_pull_cycle import copied, edit
from .test_pull_related import create

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)
LOOKBACK = dt.timedelta(minutes=5)


def early_in_a_minute(org: Org) -> None:
    """Freeze the org's clock five seconds into the next minute, so a test knows which
    minute its changes fall in."""
    now = org.clock.now()
    org.clock.freeze(now - now % 60 + 65)


def recorded_composites(monkeypatch: pytest.MonkeyPatch, puller: Puller) -> list[list[str]]:
    """The sub-request URLs of every `/composite` call the puller makes from now on."""
    calls: list[list[str]] = []
    original = puller.client.composite

    def recording(subrequests: Sequence[Mapping[str, Any]], **kwargs: Any) -> Any:
        calls.append([str(s["url"]) for s in subrequests])
        return original(subrequests, **kwargs)

    monkeypatch.setattr(puller.client, "composite", recording)
    return calls


def task_ids(sf_admin: ApiClient, n: int) -> list[str]:
    rows = sf_admin.query(f"SELECT Id FROM Task ORDER BY Id LIMIT {n}")["records"]
    return [str(r["Id"]) for r in rows]


def assert_idle_in_one_call(org: Org, puller: Puller, obj: str) -> None:
    before = org.limits.used
    assert puller.run().of(obj).read == 0
    assert org.limits.used - before == 1


def task_activity(db: LeadDatabase, task_id: str) -> dict[str, Any]:
    with db.transaction() as conn:
        row = conn.execute(select(activities).where(activities.c.sfdc_id == task_id)).one()
    return dict(row._mapping)


def test_a_change_to_a_replicated_object_is_pulled_once_its_minute_has_ended(
    org: Org,
    admin: Session,
    sf_admin: ApiClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    puller = copied(org, any_db, make_puller)
    [task] = task_ids(sf_admin, 1)
    early_in_a_minute(org)
    composites = recorded_composites(monkeypatch, puller)
    edit(org, admin, "Task", task, Subject="Replicated change")
    org.clock.advance(1)
    before = org.limits.used
    result = puller.run()
    # Task is checked by `updated`, which counts whole minutes: not seen yet, and one call.
    assert result.of("Task").read == 0 and org.limits.used - before == 1
    [urls] = composites
    assert any("/sobjects/Task/updated/" in u for u in urls)
    assert not any("FROM+Task+" in u for u in urls)
    next_minute(org)
    before = org.limits.used
    result = puller.run()
    # The check finds it; a query after it reads it: two calls.
    assert result.of("Task").updated == 1 and org.limits.used - before == 2
    assert "Replicated change" in str(task_activity(any_db, task)["attributes"])
    org.clock.advance(6 * 60)
    # The next cycle's window (its lookback) still holds the change: read again, not stored.
    again = puller.run().of("Task")
    assert (again.read, again.updated) == (1, 0)
    org.clock.advance(6 * 60)  # now past the lookback: idle again, one call
    assert_idle_in_one_call(org, puller, "Task")


def test_a_deletion_found_by_the_deleted_resource_is_pulled(
    org: Org,
    admin: Session,
    sf_admin: ApiClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
) -> None:
    puller = copied(org, any_db, make_puller)
    contact = sf_admin.query("SELECT Id FROM Contact ORDER BY Id LIMIT 1")["records"][0]["Id"]
    record = create(org, admin, "Product_Interest__c", Contact__c=contact, Product__c="Core")
    next_minute(org)
    assert puller.run().of("Product_Interest__c").new == 1
    for _ in range(2):  # the lookback's re-read, then idle
        org.clock.advance(6 * 60)
        puller.run()
    assert puller.run().api_calls == 1
    [done] = writes.delete(org, admin, [record])
    assert done.as_json()["success"]
    next_minute(org)
    # `updated` leaves deleted records out: only `deleted` can have flagged it.
    result = puller.run()
    assert result.of("Product_Interest__c").deleted == 1 and result.api_calls == 2


def test_an_object_whose_watermark_is_older_than_the_recycle_bin_is_checked_by_query(
    org: Org,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    puller = copied(org, any_db, make_puller)
    puller.run()
    long_ago = dt.datetime.fromtimestamp(org.clock.now(), dt.UTC) - dt.timedelta(days=20)
    with any_db.transaction() as conn:
        mark = sync_state.Watermark("Event", long_ago, None, True)
        sync_state.set_watermark(conn, mark, at=long_ago)
    composites = recorded_composites(monkeypatch, puller)
    result = puller.run()
    assert result.api_calls == 1
    [urls] = composites
    assert any("FROM+Event+" in u for u in urls)
    assert not any("/sobjects/Event/" in u for u in urls)
    with any_db.transaction() as conn:
        reached = sync_state.get_watermark(conn, "Event").watermark
    assert reached is not None and reached > long_ago  # read up to the cycle's start


def test_a_failed_replication_check_falls_back_to_the_query(
    org: Org,
    admin: Session,
    sf_admin: ApiClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    puller = copied(org, any_db, make_puller)
    [task] = task_ids(sf_admin, 1)
    edit(org, admin, "Task", task, Subject="Too many to list")
    next_minute(org)
    monkeypatch.setattr(sobjects, "UPDATED_ID_LIMIT", 0)  # every `updated` answer refused
    result = puller.run()
    assert result.of("Task").updated == 1
    assert "Too many to list" in str(task_activity(any_db, task)["attributes"])


def test_an_idle_object_moves_its_watermark_to_the_date_covered(
    org: Org, any_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    puller = copied(org, any_db, make_puller)
    puller.run()
    early_in_a_minute(org)
    puller.run()
    now = org.clock.now()
    with any_db.transaction() as conn:
        task = sync_state.get_watermark(conn, "Task").watermark
        lead = sync_state.get_watermark(conn, "Lead").watermark
    # Task was checked by `updated` (covered up to the whole minute), Lead by its query (read
    # up to the cycle's start).
    assert task == dt.datetime.fromtimestamp(now - now % 60, dt.UTC)
    assert lead == dt.datetime.fromtimestamp(now, dt.UTC)


def _requests(
    names: list[str], since: dt.datetime = NOW - dt.timedelta(minutes=10)
) -> list[CheckRequest]:
    return [CheckRequest(n, f"SELECT Id FROM {n}", since, since + LOOKBACK) for n in names]


@pytest.mark.parametrize(
    "objects,replicable,calls", [(13, 13, 1), (15, 15, 1), (16, 16, 2), (23, 20, 2), (12, 0, 3)]
)
def test_the_check_packs_objects_into_calls_within_salesforce_limits(
    objects: int, replicable: int, calls: int
) -> None:
    names = [*QUERY_FIRST, *(f"Custom{n}__c" for n in range(objects - len(QUERY_FIRST)))][:objects]
    packed = _calls(_requests(names), set(names[:replicable]), NOW)
    assert len(packed) == calls
    seen = [r.name for queries, replicated in packed for r in (*queries, *replicated)]
    assert sorted(seen) == sorted(names)  # every object once
    for queries, replicated in packed:
        assert len(queries) <= COMPOSITE_QUERIES
        assert len(queries) + 2 * len(replicated) <= SUBREQUESTS
        assert not {r.name for r in replicated} - set(names[:replicable])


def test_the_busiest_objects_take_the_query_slots() -> None:
    names = ["User", "Task", "Event", "Campaign", *QUERY_FIRST]
    [(queries, replicated)] = _calls(_requests(names), set(names), NOW)
    assert [r.name for r in queries] == list(QUERY_FIRST)
    assert {r.name for r in replicated} == {"User", "Task", "Event", "Campaign"}


def test_windows_the_replication_resources_refuse_are_checked_by_query() -> None:
    fresh = _requests(["Task"], NOW - dt.timedelta(seconds=30))  # a minute or less
    old = _requests(["Event"], NOW - dt.timedelta(days=15))  # past the recycle bin
    fine = _requests([*QUERY_FIRST, "User"])
    everything = [*fresh, *old, *fine]
    [(queries, replicated)] = _calls(everything, {r.name for r in everything}, NOW)
    assert [r.name for r in queries] == ["Task", "Event", *QUERY_FIRST[:3]]
    assert [r.name for r in replicated] == [*QUERY_FIRST[3:], "User"]


def test_the_replication_window_starts_at_the_next_whole_minute() -> None:
    # Rounded down (as the resources would), the window would take in a minute of changes
    # older than the lookback: records already read, reported as changes.
    later = NOW + LOOKBACK
    assert replication_start(NOW, later) == NOW
    assert replication_start(NOW + dt.timedelta(seconds=1), later) == NOW + dt.timedelta(minutes=1)
    assert replication_start(NOW - dt.timedelta(microseconds=1), later) == NOW
    # Never after the watermark: with a lookback under a minute, rounded down instead.
    since = NOW + dt.timedelta(seconds=20)
    assert replication_start(since, since + dt.timedelta(seconds=30)) == NOW


def test_a_change_older_than_the_rounded_window_is_not_taken_for_news(
    org: Org,
    admin: Session,
    sf_admin: ApiClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
) -> None:
    puller = copied(org, any_db, make_puller)
    [task] = task_ids(sf_admin, 1)
    early_in_a_minute(org)
    edit(org, admin, "Task", task, Subject="Read once")  # at E = hh:mm:05
    org.clock.advance(60)
    assert puller.run().of("Task").updated == 1
    org.clock.advance(260)  # E + 320: the lookback still holds E, read again
    assert puller.run().of("Task").read == 1  # watermark E + 320
    org.clock.advance(10)
    # The window now starts at E + 20 (hh:mm:25): the edit is outside it, though inside the
    # minute a start rounded down (hh:mm:00) would take in.
    assert_idle_in_one_call(org, puller, "Task")


def test_a_lookback_under_a_minute_leaves_no_gap_after_the_watermark(
    org: Org,
    admin: Session,
    sf_admin: ApiClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
) -> None:
    copied(org, any_db, make_puller)
    puller = make_puller(any_db, lookback=dt.timedelta(0))
    first, second = task_ids(sf_admin, 2)
    early_in_a_minute(org)
    edit(org, admin, "Task", first, Subject="First")  # at M + 5 s
    next_minute(org)
    assert puller.run().of("Task").updated == 1  # queried: the watermark is M + 65 s
    org.clock.advance(5)
    edit(org, admin, "Task", second, Subject="Second")  # at M + 70 s, after the watermark
    org.clock.advance(175)
    # Rounded up, the window would start at M + 120 s, past the edit: no one would ask.
    assert puller.run().of("Task").updated == 1
    assert "Second" in str(task_activity(any_db, second)["attributes"])
