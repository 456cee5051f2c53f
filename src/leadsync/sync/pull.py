"""The pull: Salesforce -> leadsync, as an initial copy and then incremental cycles.

Initial copy: `/composite` calls read every object's first `queryAll` page, five objects a
call (Salesforce allows at most five queries in one), ordered by (SystemModstamp, Id); its
`totalSize` is the object's count. Then, object by object in
dependency order, that page is stored and the rest read: REST pages below a threshold, a Bulk
2.0 job for the records after the first page above it. Every batch is stored in one transaction
together with a cursor (the last SystemModstamp and Id stored), so a crash resumes after the
last stored batch instead of starting over. New leads and contacts, nearly every record of a
copy, are stored a batch at a time in multi-row statements (`batch.store_persons`).

Incremental cycle: every object's changes are `queryAll WHERE SystemModstamp >= watermark -
lookback ORDER BY SystemModstamp, Id`. The change check (`change_check`) asks five objects that
query and the others Salesforce's replication resources, all in one `/composite` call for up to
fifteen objects, so an idle cycle costs one API call (Marketo's costs 25); only objects with
changes are queried after it, and only those with more than a page page on. The lookback
re-reads a window before the watermark so that a record stamped earlier but committed after the
previous query is not missed; re-reading a record version already stored is recognised and
skipped. A watermark moves only after a batch is stored and never past the cycle's start time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from ..db import LeadDatabase, sync_state
from ..db.sync_state import Watermark
from ..db.types import utcnow
from ..errors import FatalSalesforceError, LeadsyncError
from ..salesforce import soql
from ..salesforce.client import COMPOSITE_QUERIES, SalesforceClient
from ..salesforce.describe import DescribeCache
from .batch import fewer_collections, store_persons
from .campaigns import store_campaign, store_campaign_status, store_member
from .change_check import CheckRequest, check_changes, query_page
from .copy_reads import ORDER, CopySizes, after_cursor, copy_batches
from .custom_objects import store_custom_record
from .objects import OBJECTS, Kind, ObjectSpec, ReadPlan, links_to_persons, ordered_specs, plan
from .opportunities import store_opportunity, store_role
from .persons import store_person
from .prefetch import prefetch
from .queues import store_queue
from .records import SfRecord, decode
from .related import reported
from .related_pages import PAGE_STORES
from .rules import FieldRules
from .runs import save_run
from .store import Counts, store_company, store_owner
from .tasks import store_sfdc_activity
from .updates import load_links, store_updates

# Leads before contacts in a cycle: a lead converted since the last cycle then claims its new
# contact for the lead's person before the contact is read (no temporary duplicate to merge).
# Objects not named here (custom objects) follow in copy order.
CYCLE_ORDER = (
    "User",
    "Group",
    "Account",
    "Lead",
    "Contact",
    "Opportunity",
    "OpportunityContactRole",
    "Campaign",
    "CampaignMemberStatus",
    "CampaignMember",
    "Task",
    "Event",
)
MAX_PAGE = 2_000
ANALYZE_AFTER = 20_000  # records copied into an object before its statistics are refreshed
COPY, PULL = "Initial copy", "Pull updates"  # sync run operations
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # the watermark of an object never read


@dataclass(frozen=True)
class PullSettings:
    bulk_threshold: int = 2_000  # Salesforce's own advice: Bulk API above ~2,000 records
    batch_size: int = 10_000  # records stored per transaction on the Bulk path
    # Records per Bulk job of a copy: the first job small, each next one twice as large, up
    # to `bulk_chunk` (see `copy_reads._bulk_chunks`).
    first_bulk_chunk: int = 20_000
    bulk_chunk: int = 200_000
    lookback: dt.timedelta = dt.timedelta(minutes=5)
    describe_ttl: float = 300.0


@dataclass
class PullResult:
    counts: dict[str, Counts] = field(default_factory=dict)
    api_calls: int = 0
    copied: bool = False  # this pull ran (part of) the initial copy

    def of(self, name: str) -> Counts:
        return self.counts.setdefault(name, Counts())


BatchHook = Callable[[str, int], None]  # (object name, batches stored so far), after commit
# (object name, records stored so far, records expected or None), after each batch's commit
ProgressHook = Callable[[str, int, int | None], None]


class Puller:
    """Pulls one org into one lead database. Keep one instance across cycles: it caches
    describes, so an idle cycle spends only its composite calls (and, once per describe ttl,
    one more `/composite` call refreshing every describe)."""

    def __init__(
        self,
        db: LeadDatabase,
        client: SalesforceClient,
        *,
        settings: PullSettings | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        on_batch: BatchHook | None = None,
        progress: ProgressHook | None = None,
        rules: FieldRules | None = None,
    ) -> None:
        self.db = db
        self.rules = rules or FieldRules()
        self.client = client
        self.settings = settings or PullSettings()
        self.clock = clock
        self.on_batch = on_batch
        self.progress = progress
        self.describe = DescribeCache(client, ttl=self.settings.describe_ttl)
        self._plans: dict[str, tuple[object, ReadPlan]] = {}  # by object: (describe, plan)

    # -- entry points -----------------------------------------------------------------------

    def run(self) -> PullResult:
        """One pull: finish the initial copy if it is not done, else an incremental cycle."""
        before = self.client.usage.calls  # describes count too: they are API calls
        plans = self.plans()
        with self.db.transaction() as conn:
            pending = [p for p in plans if not sync_state.get_watermark(conn, p.name).copy_done]
        result = PullResult(copied=bool(pending))
        try:
            if pending:
                self._copy_with_deferred_indexes(pending, result)
            else:
                self._cycle(plans, result)
        finally:
            result.api_calls = self.client.usage.calls - before
        return result

    def _copy_with_deferred_indexes(self, pending: list[ReadPlan], result: PullResult) -> None:
        """The copy of leads or contacts runs without the indexes it would rewrite all over
        (`COPY_DEFERRED_INDEXES`); they are built again when it ends, however it ends. After a
        crash they are missing until the resumed copy ends: lookups still work, by scanning."""
        if any(p.spec.kind is Kind.PERSON for p in pending):
            self.db.drop_copy_indexes()
        try:
            self._copy_all(pending, result)
        finally:
            # Always, not only when persons were copied: a copy killed after its persons
            # resumes with other objects only, and must still build what it dropped.
            self.db.restore_copy_indexes()

    def plans(self) -> list[ReadPlan]:
        """Read plans from describe as the sync user; new fields are registered on the way."""
        plans = []
        for spec in self._specs():
            visible = self.describe.fields(spec.name)
            if "SystemModstamp" not in visible:
                continue  # no change stamp the sync user can see: cannot be pulled by change
            known = self._plans.get(spec.name)
            if known is None or known[0] is not visible:  # a fresh describe: re-plan
                if spec.kind not in (Kind.OWNER, Kind.QUEUE):
                    self.db.record_describe(spec.name, visible.values())
                known = (visible, plan(spec, visible, self.db.mapping, rules=self.rules))
                self._plans[spec.name] = known
            plans.append(known[1])
        return plans

    def _specs(self) -> list[ObjectSpec]:
        """The objects to pull: those the sync user can query (global describe, cached), plus
        every custom object that looks up a lead, contact or account."""
        # When the global describe expires, every object describe rides along in its one
        # `/composite` call (`DescribeCache`); the prefetch then fetches only objects new
        # to the org (or, on the first run, every describe in one call).
        queryable = self.describe.object_names()
        self.describe.prefetch(
            [s.name for s in OBJECTS if s.name in queryable]
            + sorted(name for name in queryable if name.endswith("__c"))
        )
        customs = [
            name
            for name in queryable
            if name.endswith("__c") and links_to_persons(self.describe.fields(name))
        ]
        return ordered_specs(OBJECTS, queryable, customs)

    # -- the initial copy -------------------------------------------------------------------

    def _copy_all(self, plans: list[ReadPlan], result: PullResult) -> None:
        """Every pending object's first page, five objects per `/composite` call:
        its `totalSize` is the object's count, so no `COUNT()` call per object. The objects
        are then stored one after another, in dependency order."""
        # Changes stamped from here on are read by the first cycle (each object's watermark
        # is this moment), so no first page can have been read before it.
        started = self.clock()
        with self.db.transaction() as conn:
            marks = {p.name: sync_state.get_watermark(conn, p.name) for p in plans}
        statements = {
            p.name: soql.select(p.name, p.select, where=after_cursor(marks[p.name]), order_by=ORDER)
            for p in plans
        }
        first_pages = self._query_first_pages(statements)
        for read_plan in plans:
            first = first_pages.pop(read_plan.name, None)  # not kept past its object's copy
            self._copy(
                read_plan, result.of(read_plan.name), statements[read_plan.name], first, started
            )

    def _copy(
        self,
        read_plan: ReadPlan,
        counts: Counts,
        statement: str,
        first: dict[str, Any] | None,
        started: dt.datetime,
    ) -> None:
        with self.db.transaction() as conn:
            # Nothing of this object stored yet: no record of the copy can have a link, so
            # the batches skip looking them up. (One query's results hold each record once;
            # were one repeated, the links' unique key would send its batch to the
            # record-by-record path, which looks it up.)
            fresh = not sync_state.has_links(conn, read_plan.name)
        with self._run(read_plan.name, COPY, counts), fewer_collections():
            if first is None:  # its sub-request failed: read alone (retried, or raised)
                first = self.client.request_json("GET", "queryAll", params={"q": statement})
            total = int(first["totalSize"])
            stored = 0
            next_analyze = ANALYZE_AFTER
            if self.progress is not None:
                self.progress(read_plan.name, stored, total)
            batches_in = self._copy_batches(read_plan, first, started)
            # The next batch is fetched and decoded while this one is stored.
            with closing(prefetch(batches_in, depth=1)) as batches:
                for number, batch in enumerate(batches, start=1):
                    last = batch[-1]
                    cursor = Watermark(read_plan.name, last.modstamp, last.id, False)
                    self._store_batch(read_plan, batch, cursor, counts, fresh=fresh)
                    stored += len(batch)
                    if stored >= next_analyze:
                        # The copy's own link lookups also need statistics as the tables
                        # grow (PostgreSQL): refreshed at geometric steps, so a few times.
                        self.db.analyze()
                        next_analyze *= 4
                    if self.on_batch is not None:
                        self.on_batch(read_plan.name, number)
                    if self.progress is not None:
                        self.progress(read_plan.name, stored, total)
        if stored >= ANALYZE_AFTER:
            # Fresh statistics, or PostgreSQL plans the cycles' `IN (...)` link lookups as
            # scans of every baseline of the object just copied (40 s of a 45 s pull).
            self.db.analyze()
        # Everything stamped before the first pages were read has been read; changes made
        # since are stamped later and come with the first cycle.
        with self.db.transaction() as conn:
            done = Watermark(read_plan.name, started, None, True)
            sync_state.set_watermark(conn, done, at=self.db.clock())

    def _copy_batches(
        self, read_plan: ReadPlan, first: Mapping[str, Any], started: dt.datetime
    ) -> Iterator[list[SfRecord]]:
        sizes = CopySizes(
            self.settings.batch_size,
            self.settings.bulk_threshold,
            self.settings.first_bulk_chunk,
            self.settings.bulk_chunk,
        )
        return copy_batches(self.client, sizes, read_plan, first, started)

    def _query_first_pages(self, statements: Mapping[str, str]) -> dict[str, dict[str, Any]]:
        """The first `queryAll` page of each statement (by object name), five to a
        `/composite` call. A failed sub-request is left out: the object reads it alone when its turn
        comes, so the error is retried, or raised and recorded in the object's sync run."""
        responses = self._composite_queries(statements)
        return {
            str(r["referenceId"]): r["body"]
            for r in responses
            if int(r.get("httpStatusCode", 500)) < 300 and isinstance(r.get("body"), dict)
        }

    def _composite_queries(self, statements: Mapping[str, str]) -> list[dict[str, Any]]:
        subrequests = [
            {
                "method": "GET",
                "url": f"{self.client.base_path}/queryAll?" + urlencode({"q": statement}),
                "referenceId": name,
            }
            for name, statement in statements.items()
        ]
        responses: list[dict[str, Any]] = []
        for start in range(0, len(subrequests), COMPOSITE_QUERIES):
            responses += self.client.composite(subrequests[start : start + COMPOSITE_QUERIES])
        return responses

    # -- incremental cycles -----------------------------------------------------------------

    def _cycle(self, plans: list[ReadPlan], result: PullResult) -> None:
        started = self.clock()
        with self.db.transaction() as conn:
            marks = {p.name: sync_state.get_watermark(conn, p.name) for p in plans}
        first_pages = self._first_pages(plans, marks, started)
        for read_plan in _in_cycle_order(plans):
            name, mark = read_plan.name, marks[read_plan.name]
            if name not in first_pages:  # found idle up to a date covered (see change_check)
                continue
            counts = result.of(name)
            with self._run(name, PULL, counts):
                for page in self._pages(first_pages[name]):
                    if page:
                        batch = [decode(read_plan, raw) for raw in page]
                        reached = min(batch[-1].modstamp, started)
                        if mark.watermark is not None:
                            reached = max(reached, mark.watermark)  # never move it backwards
                        mark = Watermark(name, reached, None, True)
                        self._store_batch(read_plan, batch, mark, counts)
            if mark.watermark is None or mark.watermark < started:
                with self.db.transaction() as conn:  # the whole window up to `started` is read
                    sync_state.set_watermark(
                        conn, Watermark(name, started, None, True), at=self.db.clock()
                    )

    def _first_pages(
        self, plans: list[ReadPlan], marks: Mapping[str, Watermark], started: dt.datetime
    ) -> dict[str, dict[str, Any]]:
        """The first page of changes of every object that may have changed, after the change
        check (one `/composite` call for up to fifteen objects); an object found idle gets its
        watermark moved to the date covered and no page."""
        requests = [
            CheckRequest(
                p.name,
                self._changes_soql(p, marks[p.name]),
                self._since(marks[p.name]),
                marks[p.name].watermark or EPOCH,
            )
            for p in plans
        ]
        check = check_changes(
            self.client,
            requests,
            replicable=self.describe.replicable_names(),
            now=started,
            failed=_subrequest_error,
        )
        by_name = {r.name: r for r in requests}
        if check.changed:
            responses = {
                str(r.get("referenceId")): r
                for r in self._composite_queries({n: by_name[n].soql for n in check.changed})
            }
            for name in check.changed:  # a missing answer raises as a failed one
                check.pages[name] = query_page(responses.get(name), name, _subrequest_error)
        if check.covered:
            with self.db.transaction() as conn:
                for name, covered in check.covered.items():
                    previous = marks[name].watermark
                    reached = min(covered, started)
                    if previous is None or reached > previous:
                        sync_state.set_watermark(
                            conn, Watermark(name, reached, None, True), at=self.db.clock()
                        )
        return check.pages

    def _since(self, mark: Watermark) -> dt.datetime:
        return (mark.watermark or EPOCH) - self.settings.lookback

    def _changes_soql(self, read_plan: ReadPlan, mark: Watermark) -> str:
        where = f"SystemModstamp >= {soql.datetime_literal(self._since(mark))}"
        return soql.select(read_plan.name, read_plan.select, where=where, order_by=ORDER)

    def _pages(self, body: Mapping[str, Any]) -> Iterator[list[dict[str, Any]]]:
        while True:
            yield list(body["records"])
            if body.get("done", True):
                return
            body = self.client.request_json("GET", str(body["nextRecordsUrl"]))

    # -- sync runs (the Sync Status view) -----------------------------------------------------

    @contextmanager
    def _run(self, name: str, operation: str, counts: Counts) -> Iterator[None]:
        """Record a run of `operation` on `name` when it did something or failed (an idle
        object in an idle cycle writes no row: an idle cycle writes nothing at all)."""
        started, calls, read = self.db.clock(), self.client.usage.calls, counts.read
        try:
            yield
        except Exception as exc:
            self._save_run(name, operation, started, counts, calls, "Failed", str(exc)[:1000])
            raise
        if counts.read > read or operation == COPY:
            self._save_run(name, operation, started, counts, calls, "Succeeded", None)

    def _save_run(
        self,
        name: str,
        operation: str,
        started: dt.datetime,
        counts: Counts,
        calls: int,
        status: str,
        message: str | None,
    ) -> None:
        save_run(
            self.db,
            name,
            operation,
            started=started,
            counts=counts,
            api_calls=self.client.usage.calls - calls,
            status=status,
            message=message,
        )

    # -- storing ------------------------------------------------------------------------------

    def _store_batch(
        self,
        read_plan: ReadPlan,
        batch: list[SfRecord],
        mark: Watermark,
        counts: Counts,
        *,
        fresh: bool = False,
    ) -> None:
        """Store a batch and move the object's watermark/cursor, in one transaction.

        The fast path stores the whole batch at once; if one record cannot be stored, the
        batch is stored again record by record (a savepoint each) so that the bad record is
        reported as a sync error and the rest of the batch, and the cycle, go on.
        """
        at = self.db.clock()
        outcomes: list[str] = []
        reported = len(counts.problems)
        try:
            with self.db.transaction() as conn:
                outcomes = self._store_all(conn, read_plan, batch, at, counts, fresh=fresh)
                sync_state.set_watermark(conn, mark, at=at)
        except (SQLAlchemyError, LeadsyncError):
            del counts.problems[reported:]  # reported again by the record-by-record pass
            with self.db.transaction() as conn:
                outcomes = [self._store_guarded(conn, read_plan, r, at, counts) for r in batch]
                sync_state.set_watermark(conn, mark, at=at)
        for outcome in outcomes:
            setattr(counts, outcome, getattr(counts, outcome) + 1)
        counts.read += len(batch)

    def _store_all(
        self,
        conn: Connection,
        read_plan: ReadPlan,
        batch: list[SfRecord],
        at: dt.datetime,
        counts: Counts,
        *,
        fresh: bool,
    ) -> list[str]:
        """The fast path: plain updates of linked leads and contacts (a cycle's common case,
        `updates.store_updates`) and records new to leadsync (an initial copy's) go in a few
        multi-row statements; other records are stored one at a time. A batch
        with a Salesforce merge in it goes one at a time too: the merge can give a master
        read later in the batch a person (rare, and the batch path decides new records up
        front). `fresh`: no record of the object has a link yet (an initial copy's start)."""
        if read_plan.spec.kind in PAGE_STORES:  # related records: a page at a time
            outcomes = PAGE_STORES[read_plan.spec.kind](conn, read_plan, batch, at)
            for record in batch:
                _report_problems(conn, record, at, counts)
            return outcomes
        if read_plan.spec.kind is not Kind.PERSON or any(_merged(r) for r in batch):
            return [self._store_one(conn, read_plan, r, at, counts) for r in batch]
        links = {} if fresh else load_links(conn, read_plan.name, [r.id for r in batch])
        updated = store_updates(conn, read_plan, batch, at, links)
        rest = [r for n, r in enumerate(batch) if n not in updated]
        others = iter(
            store_persons(
                conn,
                read_plan,
                rest,
                at,
                lambda r: _store_record(conn, read_plan, r, at),
                linked=links.keys(),
            )
        )
        outcomes = [updated[n] if n in updated else next(others) for n in range(len(batch))]
        for record in batch:
            _report_problems(conn, record, at, counts)
        return outcomes

    def _store_one(
        self,
        conn: Connection,
        read_plan: ReadPlan,
        record: SfRecord,
        at: dt.datetime,
        counts: Counts,
    ) -> str:
        outcome = _store_record(conn, read_plan, record, at)
        _report_problems(conn, record, at, counts)
        return outcome

    def _store_guarded(
        self,
        conn: Connection,
        read_plan: ReadPlan,
        record: SfRecord,
        at: dt.datetime,
        counts: Counts,
    ) -> str:
        try:
            with conn.begin_nested():
                return self._store_one(conn, read_plan, record, at, counts)
        except (SQLAlchemyError, LeadsyncError) as exc:
            sync_state.record_error(
                conn,
                at=at,
                level="record",
                code="STORE_FAILED",
                message=f"{type(exc).__name__}: {str(exc).splitlines()[0][:500]}",
                sfdc_object=record.object,
                sfdc_id=record.id,
            )
            return "failed"


StoreRecord = Callable[[Connection, ReadPlan, SfRecord, dt.datetime], str]
STORES: Mapping[Kind, StoreRecord] = {
    Kind.OWNER: store_owner,
    Kind.QUEUE: store_queue,
    Kind.COMPANY: store_company,
    Kind.OPPORTUNITY: store_opportunity,
    Kind.ROLE: store_role,
    Kind.CAMPAIGN: store_campaign,
    Kind.CAMPAIGN_STATUS: store_campaign_status,
    Kind.CAMPAIGN_MEMBER: store_member,
    Kind.CUSTOM: store_custom_record,
    Kind.ACTIVITY: store_sfdc_activity,
}


def _store_record(conn: Connection, read_plan: ReadPlan, record: SfRecord, at: dt.datetime) -> str:
    kind = read_plan.spec.kind
    if kind is Kind.PERSON:
        return store_person(conn, read_plan, record, at)
    return STORES[kind](conn, read_plan, record, at)


def _in_cycle_order(plans: list[ReadPlan]) -> list[ReadPlan]:
    """CYCLE_ORDER first (persons before what points at them), the rest in copy order."""

    def rank(item: tuple[int, ReadPlan]) -> tuple[int, int]:
        position, read_plan = item
        if read_plan.name in CYCLE_ORDER:
            return (0, CYCLE_ORDER.index(read_plan.name))
        return (1, position)

    return [p for _, p in sorted(enumerate(plans), key=rank)]


def _merged(record: SfRecord) -> bool:
    return record.deleted and bool(record.sync.get("MasterRecordId"))


def _report_problems(conn: Connection, record: SfRecord, at: dt.datetime, counts: Counts) -> None:
    """Bad values are left out of the record and listed as record-level sync errors."""
    if not record.problems:
        return
    message = "; ".join(f"{name}: {problem}" for name, problem in record.problems.items())
    counts.problems.extend((record.id, name, p) for name, p in record.problems.items())
    if reported(conn, record, "BAD_VALUE", message):
        return
    sync_state.record_error(
        conn,
        at=at,
        level="record",
        code="BAD_VALUE",
        message=message,
        sfdc_object=record.object,
        sfdc_id=record.id,
        fields=record.problems,
    )


def _subrequest_error(name: str, status: int, body: Any) -> FatalSalesforceError:
    first = body[0] if isinstance(body, list) and body else {}
    code = str(first.get("errorCode") or f"HTTP_{status}") if isinstance(first, dict) else ""
    message = str(first.get("message", "")) if isinstance(first, dict) else str(body)
    return FatalSalesforceError(
        code or f"HTTP_{status}", f"change check failed: {message}", object=name
    )
