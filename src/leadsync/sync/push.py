"""The push: leadsync -> Salesforce, from the outbox of local edits.

Each run takes the pending outbox changes person by person (and persons whose retriable error
is due). A linked person gets the fields whose *current* value differs from the link baseline,
mapped to its Lead or Contact, in sObject Collections updates of 200 records (allOrNone false),
or a Bulk 2.0 ingest job above `bulk_threshold`. A person not in Salesforce is not pushed (as
in Marketo) unless it matches the `auto_create` conditions; creates are upserts on the
external-id field carrying the person id, so a retry after a crash never makes a duplicate.

Per batch, one local transaction: successes move the baseline to the pushed values and resolve
the person's open errors; failures are recorded (failures.py); the changes are marked processed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from ..db import LeadDatabase, sync_state
from ..db import activities as activity
from ..db import persons as person_api
from ..db.schema import persons, sync_changes, sync_links
from ..db.sync_state import Link
from ..db.types import utcnow
from ..errors import (
    ConfigError,
    PersonNotFound,
    RecordError,
    RetriableError,
    ValidationError,
)
from ..salesforce import bulk_ingest, collections
from ..salesforce.client import SalesforceClient
from ..salesforce.collections import RecordResult
from ..salesforce.describe import DescribeCache
from .conditions import Condition, matches_all
from .failures import Failure, due_retries, record_failure, resolve_person_errors
from .objects import EXTERNAL_ID
from .payload import PushFields, create_values, differing, push_fields
from .rules import FieldRules
from .runs import save_run
from .store import Counts

# Not a Salesforce object: the watermark row holding the auto-create scan's last person id.
NEW_PERSONS_CURSOR = "leadsync:new-persons"
NEW_PERSONS_PER_PUSH = 10_000

PUSH = "Push updates"  # sync run operation
QUEUE_PREFIX = "00G"  # Group ids: lead queues
SUCCESS = "success"


@dataclass(frozen=True)
class PushSettings:
    external_id_field: str = EXTERNAL_ID
    default_last_name: str = "[not provided]"
    default_company: str = "[not provided]"
    bulk_threshold: int = 5_000  # more persons than this in one push -> Bulk 2.0 ingest
    retry_delays: tuple[float, ...] = (60.0, 300.0, 1800.0, 7200.0, 21600.0)  # seconds
    auto_create: tuple[Condition, ...] = ()  # off by default: push unlinked persons matching


@dataclass
class PushResult:
    counts: dict[str, Counts] = field(default_factory=dict)
    api_calls: int = 0

    def of(self, name: str) -> Counts:
        return self.counts.setdefault(name, Counts())


@dataclass
class _Item:
    """One person to push: its outbox rows, current values, link and what will be sent."""

    person_id: int
    changes: list[int]
    person: dict[str, Any]
    link: Link | None
    values: dict[str, Any] = field(default_factory=dict)
    owner_id: str | None = None


def missing_external_id(name: str, sfdc_object: str) -> ConfigError:
    return ConfigError(
        f"the Salesforce org has no external-id field {name} on {sfdc_object} that the sync "
        f"user can see; leadsync creates records by upsert on it so that a retry never makes "
        f"a duplicate. Add it in Setup > Object Manager > Lead and again in > Contact > Fields & "
        f"Relationships > New: data type Text, length 36, field name {name.removesuffix('__c')}"
        f", tick 'Unique' and 'External ID', and make it visible and editable for the sync "
        f"user's profile (field-level security)"
    )


class Pusher:
    """Pushes one lead database into one org. Keep one instance: it caches describes."""

    def __init__(
        self,
        db: LeadDatabase,
        client: SalesforceClient,
        *,
        settings: PushSettings | None = None,
        rules: FieldRules | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.db = db
        self.client = client
        self.settings = settings or PushSettings()
        self.rules = rules or FieldRules()
        self.clock = clock
        self.describe = DescribeCache(client)
        self._fields: dict[str, tuple[object, PushFields]] = {}
        self._new_persons_cursor: int | None = None
        self._new_ids: set[int] = set()

    # -- entry points -----------------------------------------------------------------------

    def run(self) -> PushResult:
        """Push pending outbox changes and due retries; one "Push updates" run per object."""
        before = self.client.usage.calls
        result = PushResult()
        try:
            items = self._collect(self.clock())
            updates: dict[str, list[_Item]] = {}
            creates: list[_Item] = []
            idle: list[_Item] = []
            for item in items:
                if item.link is not None and not item.person.get("sfdcIsDeleted"):
                    updates.setdefault(item.link.sfdc_object, []).append(item)
                elif item.link is None and self._should_create(item):
                    creates.append(item)
                else:
                    idle.append(item)  # not in Salesforce: reaches it by an action (Marketo)
            for name, batch in sorted(updates.items()):
                counts = result.of(name)
                with self._run(name, counts):
                    self._push_updates(name, batch, counts)
            if creates:
                counts = result.of("Lead")
                with self._run("Lead", counts):
                    self._push_creates(creates, counts)
            self._finish_idle(idle)
            self._move_new_persons_cursor()
        finally:
            result.api_calls = self.client.usage.calls - before
        return result

    def sync_person(self, person_id: int, *, owner_id: str | None = None) -> dict[str, Any]:
        """ "Sync Person to SFDC", now: update the linked Lead/Contact with every differing
        field (one API call), or create a Lead by upsert on the external id. The owner is the
        org's assignment rule (None), a user id or a lead queue id."""
        with self.db._reading() as conn:  # one read: the person, its link, its outbox rows
            found = _items(conn, [person_id], {})
            if not found:
                raise PersonNotFound(person_id)
            item = found[0]
            item.changes = _pending_ids(conn, person_id)
        linked = item.link is not None and not item.person.get("sfdcIsDeleted")
        contact = linked and item.link is not None and item.link.sfdc_object == "Contact"
        if owner_id and owner_id.startswith(QUEUE_PREFIX) and contact:
            raise ValidationError(
                "owner",
                f"{owner_id} is a queue; a contact cannot be owned by a queue, only a user",
                record_id=person_id,
            )
        item.owner_id = owner_id
        if linked and item.link is not None:
            obj = item.link.sfdc_object
            item.values = differing(item.person, item.link.baseline, self._push_fields(obj).update)
            record = {"Id": item.link.sfdc_id, **item.values}
            if owner_id:
                record["OwnerId"] = owner_id
            [outcome] = self._send(lambda: collections.update(self.client, obj, [record]), 1)
            failures = self._settle(obj, [item], [outcome], created=False, announce=True)
        else:
            obj = "Lead"
            failures = self._create([item], announce=True)
        if failures:
            failure = failures[0]
            raise RecordError(
                failure.code,
                failure.message,
                fields=failure.fields,
                object=obj,
                record_id=failure.sfdc_id,
            )
        return self.db.get_person(person_id)

    # -- collecting the work ------------------------------------------------------------------

    def _collect(self, now: dt.datetime) -> list[_Item]:
        with self.db.transaction() as conn:
            changes: dict[int, list[int]] = {}
            for change in self._pending(conn):
                changes.setdefault(change[1], []).append(change[0])
            for person_id in due_retries(conn, now):
                changes.setdefault(person_id, [])
            for person_id in self._new_persons(conn):
                changes.setdefault(person_id, [])
        return self._load(sorted(changes), changes)

    def _new_persons(self, conn: Connection) -> list[int]:
        """Unlinked persons created since the last push, for the `auto_create` rule. A new
        person writes no outbox row (it is not an edit of a synced record), so without this
        scan it would reach Salesforce only once edited. The cursor moves when the push has
        run, so a crash before that scans the same persons again (upserts: no duplicate)."""
        self._new_persons_cursor = None
        self._new_ids = set()
        if not self.settings.auto_create:
            return []
        after = int(sync_state.get_watermark(conn, NEW_PERSONS_CURSOR).copy_cursor or 0)
        linked = select(sync_links.c.entity_id).where(sync_links.c.entity == "person")
        found = [
            int(person_id)
            for person_id in conn.scalars(
                select(persons.c.id)
                .where(persons.c.id > after, persons.c.id.not_in(linked))
                .order_by(persons.c.id)
                .limit(NEW_PERSONS_PER_PUSH)
            )
        ]
        if found:
            self._new_persons_cursor = found[-1]
        self._new_ids = set(found)
        return found

    def _move_new_persons_cursor(self) -> None:
        if self._new_persons_cursor is None:
            return
        mark = sync_state.Watermark(NEW_PERSONS_CURSOR, None, str(self._new_persons_cursor), True)
        with self.db.transaction() as conn:
            sync_state.set_watermark(conn, mark, at=self.clock())
        self._new_persons_cursor = None

    @staticmethod
    def _pending(conn: Connection) -> list[tuple[int, int]]:
        query = (
            select(sync_changes.c.id, sync_changes.c.entity_id)
            .where(
                sync_changes.c.processed_at.is_(None),
                sync_changes.c.local_only.is_(False),
                sync_changes.c.entity == "person",
            )
            .order_by(sync_changes.c.id)
        )
        return [(int(a), int(b)) for a, b in conn.execute(query)]

    def _load(self, person_ids: list[int], changes: dict[int, list[int]]) -> list[_Item]:
        """Current person values and their current link, a few queries per 500 persons."""
        items: list[_Item] = []
        for start in range(0, len(person_ids), 500):
            with self.db._reading() as conn:
                items += _items(conn, person_ids[start : start + 500], changes)
        return items

    def _should_create(self, item: _Item) -> bool:
        if item.person.get("sfdcIsDeleted") or item.person.get("sfdcId"):
            return False  # deleted in Salesforce, or held there without a link: not recreated
        if item.person_id in self._new_ids and not item.changes:
            return matches_all(self.settings.auto_create, item.person)  # only the new-person scan
        return matches_all(self.settings.auto_create, item.person) or not item.changes

    # -- updates ------------------------------------------------------------------------------

    def _push_fields(self, sfdc_object: str) -> PushFields:
        visible = self.describe.fields(sfdc_object)
        known = self._fields.get(sfdc_object)
        if known is None or known[0] is not visible:
            ext = self.settings.external_id_field
            known = (visible, push_fields(sfdc_object, visible, self.db.mapping, self.rules, ext))
            self._fields[sfdc_object] = known
        return known[1]

    def _push_updates(self, sfdc_object: str, items: list[_Item], counts: Counts) -> None:
        fields = self._push_fields(sfdc_object).update
        send: list[_Item] = []
        quiet: list[_Item] = []
        for item in items:
            assert item.link is not None
            item.values = differing(item.person, item.link.baseline, fields)
            (send if item.values else quiet).append(item)
        if quiet:  # nothing differs (the pull settled it): done, and any retry with it
            self._settle(sfdc_object, quiet, [None] * len(quiet), created=False, announce=False)
            counts.skipped += len(quiet)
        if len(send) > self.settings.bulk_threshold:
            self._bulk_update(sfdc_object, send, counts)
            return
        for batch in collections.chunks(send):
            records = [_update_record(item) for item in batch]
            outcomes = self._send(
                partial(collections.update, self.client, sfdc_object, records), len(batch)
            )
            failures = self._settle(sfdc_object, list(batch), outcomes, created=False)
            counts.updated += len(batch) - len(failures)
            counts.failed += len(failures)

    def _bulk_update(self, sfdc_object: str, items: list[_Item], counts: Counts) -> None:
        records = [_update_record(item) for item in items]
        outcomes = self._send(
            lambda: bulk_ingest.ingest(self.client, sfdc_object, "update", records), len(items)
        )
        for start in range(0, len(items), collections.COLLECTION_SIZE * 10):
            stop = start + collections.COLLECTION_SIZE * 10
            failures = self._settle(
                sfdc_object, items[start:stop], outcomes[start:stop], created=False
            )
            counts.updated += len(items[start:stop]) - len(failures)
            counts.failed += len(failures)

    # -- creates ------------------------------------------------------------------------------

    def _push_creates(self, items: list[_Item], counts: Counts) -> None:
        for batch in collections.chunks(items):
            failures = self._create(list(batch), announce=True)
            counts.new += len(batch) - len(failures)
            counts.failed += len(failures)

    def _create(self, items: list[_Item], *, announce: bool) -> list[Failure]:
        """Leads by upsert on the external id; the org's assignment rule picks the owner
        unless one is given."""
        ext = self.settings.external_id_field
        info = self.describe.fields("Lead").get(ext)
        if info is None or not info.external_id:
            raise missing_external_id(ext, "Lead")
        fields = self._push_fields("Lead").create
        records = []
        for item in items:
            values, defaults = create_values(
                item.person,
                fields,
                default_last_name=self.settings.default_last_name,
                default_company=self.settings.default_company,
            )
            item.values = values
            record = {**values, **defaults, ext: str(item.person_id)}
            if item.owner_id:
                record["OwnerId"] = item.owner_id
            records.append(record)
        owner_given = any(item.owner_id for item in items)
        headers = {"Sforce-Auto-Assign": "FALSE" if owner_given else "TRUE"}
        outcomes = self._send(
            lambda: collections.upsert(self.client, "Lead", ext, records, headers=headers),
            len(items),
        )
        return self._settle("Lead", items, outcomes, created=True, announce=announce)

    # -- results ------------------------------------------------------------------------------

    def _send(self, call: Callable[[], list[RecordResult]], size: int) -> list[RecordResult | None]:
        """The call's per-record results; a call that stays transient after the client's own
        retries fails each of its records with that (retriable) code instead of the run."""
        try:
            return list(call())
        except RetriableError as exc:
            error = {"statusCode": exc.code, "message": exc.message, "fields": []}
            return [RecordResult(None, False, None, [error]) for _ in range(size)]

    def _settle(
        self,
        sfdc_object: str,
        items: Sequence[_Item],
        outcomes: Sequence[RecordResult | None],
        *,
        created: bool,
        announce: bool = False,
    ) -> list[Failure]:
        """Write a batch's outcomes in one local transaction. `None`: nothing was sent."""
        at = self.clock()
        failures: list[Failure] = []
        with self.db.transaction() as conn:
            succeeded: list[int] = []
            updated: list[_Item] = []
            for item, outcome in zip(items, outcomes, strict=True):
                if outcome is None or outcome.success:
                    sfdc_id = outcome.id if outcome is not None else None
                    if created:
                        link_created(conn, item, str(sfdc_id), at)
                    else:
                        updated.append(item)
                    succeeded.append(item.person_id)
                    if announce:
                        _announce(conn, sfdc_object, item, sfdc_id, created, outcome, at)
                else:
                    failure = _failure(sfdc_object, item, outcome)
                    record_failure(conn, failure, at=at, delays=self.settings.retry_delays)
                    failures.append(failure)
            if updated:
                _move_baseline(conn, updated, at)
            resolve_person_errors(conn, succeeded, at)
            ids = [change for item in items for change in item.changes]
            sync_state_mark(conn, ids, at)
        return failures

    def _finish_idle(self, items: list[_Item]) -> None:
        """Changes of persons not in Salesforce are done: a later action sends every value."""
        if items:
            with self.db.transaction() as conn:
                sync_state_mark(conn, [c for item in items for c in item.changes], self.clock())

    # -- sync runs ----------------------------------------------------------------------------

    @contextmanager
    def _run(self, name: str, counts: Counts) -> Iterator[None]:
        started, calls = self.db.clock(), self.client.usage.calls
        status, message = "Succeeded", None
        try:
            yield
        except Exception as exc:
            status, message = "Failed", str(exc)[:1000]
            raise
        finally:
            save_run(
                self.db,
                name,
                PUSH,
                started=started,
                counts=counts,
                api_calls=self.client.usage.calls - calls,
                status=status,
                message=message,
            )


# -- helpers (module level so tests can inject faults at the database edge) -------------------


def link_created(conn: Connection, item: _Item, sfdc_id: str, at: dt.datetime) -> None:
    """A created (or re-found) lead becomes the person's Salesforce record."""
    conn.execute(
        update(persons)
        .where(persons.c.id == item.person_id)
        .values(
            sfdc_type="Lead",
            sfdc_lead_id=sfdc_id,
            sfdc_is_deleted=False,
            updated_at=at,
            **({"sfdc_owner_id": item.owner_id} if item.owner_id else {}),
        )
    )
    link = Link("Lead", sfdc_id, "person", item.person_id, dict(item.values), None)
    sync_state.save_link(conn, link, at=at)


def _move_baseline(conn: Connection, items: Sequence[_Item], at: dt.datetime) -> None:
    """The pushed values become the baselines of a batch's updated records (one statement per
    table for the whole batch)."""
    links = [
        {
            "_object": item.link.sfdc_object,
            "_sfdc_id": item.link.sfdc_id,
            "entity": "person",
            "entity_id": item.person_id,
            "baseline": {**item.link.baseline, **item.values},
            "sfdc_modstamp": item.link.sfdc_modstamp,
            "updated_at": at,
        }
        for item in items
        if item.link is not None and item.values
    ]
    if links:
        conn.execute(
            update(sync_links).where(
                sync_links.c.sfdc_object == bindparam("_object"),
                sync_links.c.sfdc_id == bindparam("_sfdc_id"),
            ),
            links,
        )
    owners = [
        {"_pid": item.person_id, "sfdc_owner_id": item.owner_id, "updated_at": at}
        for item in items
        if item.link is not None and item.owner_id
    ]
    if owners:
        conn.execute(update(persons).where(persons.c.id == bindparam("_pid")), owners)


def _announce(
    conn: Connection,
    sfdc_object: str,
    item: _Item,
    sfdc_id: str | None,
    created: bool,
    outcome: RecordResult | None,
    at: dt.datetime,
) -> None:
    attributes = {
        "success": True,
        "sfdcType": sfdc_object,
        "sfdcId": sfdc_id or (item.link.sfdc_id if item.link else None),
        "created": bool(created and outcome is not None and outcome.created),
        "fields": sorted(item.values),
        "source": "leadsync",
    }
    if item.owner_id:
        attributes["ownerId"] = item.owner_id
    activity.add_activity(conn, item.person_id, activity.SYNC_LEAD_TO_SFDC, attributes, at)


def _failure(sfdc_object: str, item: _Item, outcome: RecordResult) -> Failure:
    sfdc_id = outcome.id or (item.link.sfdc_id if item.link else None)
    return Failure(
        person_id=item.person_id,
        sfdc_object=sfdc_object,
        sfdc_id=sfdc_id,
        code=outcome.error_code or "UNKNOWN_ERROR",
        message=outcome.error_message or "",
        fields=tuple(outcome.error_fields) or tuple(sorted(item.values)),
    )


def _update_record(item: _Item) -> dict[str, Any]:
    assert item.link is not None
    return {"Id": item.link.sfdc_id, **item.values}


def sync_state_mark(conn: Connection, ids: list[int], at: dt.datetime) -> None:
    for start in range(0, len(ids), 1000):
        conn.execute(
            update(sync_changes)
            .where(sync_changes.c.id.in_(ids[start : start + 1000]))
            .values(processed_at=at)
        )


def _items(conn: Connection, person_ids: list[int], changes: dict[int, list[int]]) -> list[_Item]:
    found = {p["id"]: p for p in _persons(conn, person_ids)}
    links = _links(conn, person_ids)
    items = []
    for pid in person_ids:
        person = found.get(pid)
        if person is None:
            continue  # deleted or merged away since the edit
        link = links.get((pid, str(person.get("sfdcType")), str(person.get("sfdcId"))))
        items.append(_Item(pid, changes.get(pid, []), person, link))
    return items


def _pending_ids(conn: Connection, person_id: int) -> list[int]:
    return list(
        conn.scalars(
            select(sync_changes.c.id).where(
                sync_changes.c.processed_at.is_(None),
                sync_changes.c.entity == "person",
                sync_changes.c.entity_id == person_id,
            )
        )
    )


def _persons(conn: Connection, ids: list[int]) -> list[dict[str, Any]]:
    query = person_api._person_select().where(persons.c.id.in_(ids))
    return [person_api._to_json(row) for row in conn.execute(query)]


def _links(conn: Connection, ids: list[int]) -> dict[tuple[int, str, str], Link]:
    rows = conn.execute(
        select(sync_links).where(sync_links.c.entity == "person", sync_links.c.entity_id.in_(ids))
    )
    return {
        (r.entity_id, r.sfdc_object, r.sfdc_id): Link(
            r.sfdc_object, r.sfdc_id, r.entity, r.entity_id, dict(r.baseline), r.sfdc_modstamp
        )
        for r in rows
    }
