"""`LeadDatabase`: the Python API over the lead database that the CLI, the HTTP API, the sync
engine and the tests use.

    db = LeadDatabase.open("sqlite:///leadsync.db")      # upgrades the schema to head
    person = db.create_person({"email": "ada@example.com", "lastName": "Lovelace"})
    db.update_person(person["id"], {"title": "Analyst"})
    with db.transaction():                               # several calls, one transaction
        db.update_person(person["id"], {"phone": "555-0100"})
        db.add_activity(person["id"], "Interesting Moment", {"description": "Visited pricing"})

Every call runs in a transaction of its own, or joins the one `transaction()` opened in this
thread (as a savepoint, so a failed call undoes only itself). `transaction()` yields the SQLAlchemy
`Connection` for code (such as the sync engine) that works on the tables directly.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError
from sqlalchemy.schema import CreateIndex, DropIndex

from ..errors import DatabaseError, PersonNotFound, ValidationError
from . import activities, campaigns, changes, custom_fields, opportunities, persons, sync_state
from .changes import LOCAL
from .custom_fields import CustomField, DescribedField
from .engine import DEFAULT_URL, WRITE, make_engine
from .mapping import FieldMapping
from .migrate import upgrade
from .schema import COPY_DEFERRED_INDEXES
from .schema import persons as persons_table
from .types import utcnow


class LeadDatabase:
    """An open lead database. Thread-safe: each thread has its own current transaction."""

    def __init__(
        self,
        engine: Engine,
        *,
        mapping: FieldMapping | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.mapping = mapping or FieldMapping()
        self.clock = clock
        self._local = threading.local()

    @classmethod
    def open(
        cls,
        url: str | URL = DEFAULT_URL,
        *,
        mapping: FieldMapping | None = None,
        migrate: bool = True,
    ) -> LeadDatabase:
        """Connect to `url` (sqlite:///... or postgresql://...) and upgrade it to head."""
        engine = make_engine(url)
        try:
            with engine.connect():
                pass
        except OperationalError as exc:
            engine.dispose()
            where = engine.url.render_as_string(hide_password=True)
            raise DatabaseError(f"cannot open {where}: {exc.orig}") from None
        if migrate:
            try:
                upgrade(engine)
            except DatabaseError:
                engine.dispose()
                raise
        return cls(engine, mapping=mapping)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> LeadDatabase:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- Transactions ---------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction: committed at the end of the block, rolled back on an error.
        Inside another `transaction()` of this thread it is a savepoint of that one."""
        current: Connection | None = getattr(self._local, "connection", None)
        if current is not None:
            with current.begin_nested():
                yield current
            return
        with (
            self.engine.connect().execution_options(**{WRITE: True}) as connection,
            connection.begin(),
        ):
            self._local.connection = connection
            try:
                yield connection
            finally:
                self._local.connection = None

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        current: Connection | None = getattr(self._local, "connection", None)
        if current is not None:
            yield current
            return
        with self.engine.connect() as connection, connection.begin():
            yield connection

    def drop_copy_indexes(self) -> None:
        """Drop the indexes a large initial copy builds at its end (`COPY_DEFERRED_INDEXES`).
        Until `restore_copy_indexes`, lookups by email still work, by scanning."""
        with self.transaction() as conn:
            for index in COPY_DEFERRED_INDEXES:
                conn.execute(DropIndex(index, if_exists=True))

    def restore_copy_indexes(self) -> None:
        """Build the indexes `drop_copy_indexes` dropped; does nothing where they exist."""
        with self.transaction() as conn:
            for index in COPY_DEFERRED_INDEXES:
                conn.execute(CreateIndex(index, if_not_exists=True))

    def analyze(self) -> None:
        """Refresh the query planner's statistics (after a bulk load such as a copy)."""
        with self.engine.connect() as conn, conn.begin():
            # A full ANALYZE on SQLite too (well under a second per million rows): a sampled
            # one (`analysis_limit`) reads only the first entries of each index, and its
            # estimates made the planner scan all of an object's links through the
            # `sfdc_object` prefix instead of seeking each id of an `IN` list.
            conn.exec_driver_sql("ANALYZE")

    # -- Persons --------------------------------------------------------------------------

    def create_person(self, fields: Mapping[str, Any], *, source: str = LOCAL) -> dict[str, Any]:
        """Create a person from person fields (JSON names); logs "New Lead"."""
        with self.transaction() as conn:
            person_id = persons.create_person(conn, fields, source=source, at=self.clock())
            return persons.get_person(conn, person_id)

    def get_person(self, person_id: int) -> dict[str, Any]:
        with self._reading() as conn:
            return persons.get_person(conn, person_id)

    def get_person_by_email(self, email: str) -> dict[str, Any]:
        with self._reading() as conn:
            return persons.get_person_by_email(conn, email)

    def find_persons(
        self, *, limit: int | None = None, offset: int = 0, **filters: Any
    ) -> list[dict[str, Any]]:
        """Persons whose fields equal the given values, e.g. `find_persons(sfdcType="Lead")`."""
        with self._reading() as conn:
            return persons.find_persons(conn, filters, limit=limit, offset=offset)

    def update_person(
        self, person_id: int, fields: Mapping[str, Any], *, source: str = LOCAL
    ) -> dict[str, Any]:
        """Change fields; each changed field is captured in the outbox in this transaction.

        Company fields of a person linked to an account change for every person of the
        account, locally only. Raises `ValidationError` (naming the field) before writing
        anything, and `PersonNotFound`.
        """
        with self.transaction() as conn:
            persons.update_person(conn, person_id, fields, source=source, at=self.clock())
            return persons.get_person(conn, person_id)

    # -- Activities -----------------------------------------------------------------------

    def list_activities(
        self, person_id: int, *, types: Iterable[str] | None = None
    ) -> list[dict[str, Any]]:
        """A person's activities, oldest first."""
        with self._reading() as conn:
            self._require_person(conn, person_id)
            return activities.list_activities(
                conn, person_id, types=tuple(types) if types else None
            )

    def add_activity(
        self,
        person_id: int,
        type: str,
        attributes: Mapping[str, Any] | None = None,
        at: dt.datetime | None = None,
    ) -> dict[str, Any]:
        if at is not None and at.tzinfo is None:
            raise ValidationError("at", "a datetime needs a timezone", record_id=person_id)
        if not type.strip():
            raise ValidationError("type", "an activity needs a type", record_id=person_id)
        with self.transaction() as conn:
            self._require_person(conn, person_id)
            when = at or self.clock()
            activity_id = activities.add_activity(conn, person_id, type, attributes or {}, when)
            return next(
                a for a in activities.list_activities(conn, person_id) if a["id"] == activity_id
            )

    # -- Campaigns and opportunities (pulled from Salesforce) --------------------------------

    def list_campaigns(self) -> list[dict[str, Any]]:
        with self._reading() as conn:
            return campaigns.list_campaigns(conn)

    def person_campaigns(self, person_id: int) -> list[dict[str, Any]]:
        with self._reading() as conn:
            self._require_person(conn, person_id)
            return campaigns.members_of(conn, person_id)

    def person_opportunities(self, person_id: int) -> list[dict[str, Any]]:
        """The opportunities the person has a contact role on."""
        with self._reading() as conn:
            self._require_person(conn, person_id)
            return opportunities.opportunities_of(conn, person_id)

    @staticmethod
    def _require_person(conn: Connection, person_id: int) -> None:
        found = conn.scalar(select(persons_table.c.id).where(persons_table.c.id == person_id))
        if found is None:
            raise PersonNotFound(person_id)

    # -- Fields and the outbox (for the sync) ----------------------------------------------

    def record_describe(self, sfdc_object: str, described: Iterable[DescribedField]) -> list[str]:
        """Register the fields describe shows the sync user; returns the new API names."""
        with self.transaction() as conn:
            return custom_fields.record_describe(
                conn, sfdc_object, described, self.mapping, self.clock()
            )

    def custom_fields(self) -> dict[str, CustomField]:
        with self._reading() as conn:
            return custom_fields.custom_fields(conn)

    def pending_changes(self, *, limit: int = 10_000) -> list[changes.Change]:
        with self._reading() as conn:
            return changes.pending_changes(conn, limit=limit)

    def mark_changes_processed(self, ids: Iterable[int], *, run_id: int | None = None) -> None:
        with self.transaction() as conn:
            changes.mark_processed(conn, ids, at=self.clock(), run_id=run_id)

    # -- Sync state (the engine works on `sync_state` inside `transaction()` directly) -------

    def acquire_sync_lock(self, holder: str, *, ttl: dt.timedelta) -> bool:
        """True if `holder` now runs the sync (one sync at a time, across processes)."""
        with self.transaction() as conn:
            return sync_state.acquire_lock(conn, holder, at=self.clock(), ttl=ttl)

    def release_sync_lock(self, holder: str) -> None:
        with self.transaction() as conn:
            sync_state.release_lock(conn, holder)

    def list_sync_runs(self, *, limit: int = 100) -> list[dict[str, Any]]:
        with self._reading() as conn:
            return sync_state.list_runs(conn, limit=limit)

    def list_sync_errors(self, *, include_resolved: bool = False) -> list[dict[str, Any]]:
        with self._reading() as conn:
            return sync_state.list_errors(conn, include_resolved=include_resolved)


def open_database(
    url: str | URL = DEFAULT_URL, *, mapping: FieldMapping | None = None
) -> LeadDatabase:
    """Open (and upgrade to head) the lead database at `url`."""
    return LeadDatabase.open(url, mapping=mapping)
