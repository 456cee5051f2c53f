"""Shared pieces of the stores for records that hang off persons (opportunities, roles,
campaigns, members, custom object records, tasks and events).

These records are one-way (Salesforce -> leadsync), so there is no baseline: a pulled record is
compared with the stored row, and only values that really moved are written or logged. A
lookback re-read, or a record saved without a change, therefore writes nothing.

They are stored a page at a time (`PageStore`): what a page needs is read with a few IN queries,
its writes go out in multi-row statements. A copy of an org with a million campaign members
then costs a few statements per page, not a few per record.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Connection,
    Date,
    Row,
    Table,
    bindparam,
    delete,
    insert,
    select,
    update,
)

from ..db.schema import activities, sync_errors, sync_links
from .objects import ReadPlan
from .records import SfRecord

PERSON_OBJECTS = ("Lead", "Contact")
# Key prefixes are fixed for standard objects: a polymorphic or custom lookup's value says
# which object it points at.
PERSON_PREFIXES = ("00Q", "003")  # Lead, Contact
ACCOUNT_PREFIX = "001"

UNKNOWN_REFERENCE = "UNKNOWN_REFERENCE"
IN_CHUNK = 2_000  # keys per IN list: well under SQLite's and PostgreSQL's bind limits


def values_of(record: SfRecord) -> dict[str, Any]:
    """Every value read, by API name: data fields and bookkeeping ones (OwnerId, AccountId)."""
    values = {
        k: v for k, v in record.sync.items() if k not in ("Id", "IsDeleted", "SystemModstamp")
    }
    values.update(record.values)
    return values


def persons_of(conn: Connection, sfdc_ids: Iterable[Any]) -> dict[str, int]:
    """{Lead or Contact id: its person} for the ids leadsync holds (a converted lead's id finds
    its contact's person)."""
    found: dict[str, int] = {}
    wanted = {str(i) for i in sfdc_ids if i}
    for chunk in chunks(sorted(wanted)):
        # The entity is checked here, not in SQL: with `entity = 'person'` in the WHERE,
        # SQLite's sampled statistics made it scan every person's link through the
        # (entity, entity_id) index instead of seeking each id (seconds per chunk at 1M).
        rows = conn.execute(
            select(sync_links.c.sfdc_id, sync_links.c.entity_id, sync_links.c.entity).where(
                sync_links.c.sfdc_object.in_(PERSON_OBJECTS), sync_links.c.sfdc_id.in_(chunk)
            )
        )
        found.update((row.sfdc_id, int(row.entity_id)) for row in rows if row.entity == "person")
    return found


def chunks(keys: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


def rows_where(
    conn: Connection, table: Table, key: Callable[[Sequence[Any]], ColumnElement[bool]], keys: Any
) -> list[Row[Any]]:
    """The rows of `table` matching `key(chunk)` for every chunk of `keys`, by id."""
    wanted = sorted(set(keys), key=repr)
    rows: list[Row[Any]] = []
    for chunk in chunks(wanted):
        rows += conn.execute(select(table).where(key(chunk))).all()
    return sorted(rows, key=lambda row: row.id)


def index(rows: Iterable[Row[Any]], key: Callable[[Row[Any]], Hashable]) -> dict[Hashable, Any]:
    """Rows by `key`; the oldest row wins a tie, as a `.first()` by id would."""
    found: dict[Hashable, Any] = {}
    for row in rows:
        found.setdefault(key(row), row)
    return found


def reported(conn: Connection, record: SfRecord, code: str, message: str) -> bool:
    """Whether this error is already open for this record: a lookback re-read, or a record
    saved again with the same problem, reports nothing new."""
    found = conn.scalar(
        select(sync_errors.c.id).where(
            sync_errors.c.sfdc_object == record.object,
            sync_errors.c.sfdc_id == record.id,
            sync_errors.c.code == code,
            sync_errors.c.message == message,
            sync_errors.c.resolved_at.is_(None),
        )
    )
    return found is not None


# -- Rows whose columns are some of the API fields, the rest kept in a `fields` JSON ---------


def to_column(column: Column[Any], value: Any) -> Any:
    if isinstance(column.type, Date) and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if isinstance(column.type, Boolean) and value is None and not column.nullable:
        return False
    return value


def from_column(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def stored_values(row: Any, columns: Mapping[str, str]) -> dict[str, Any]:
    """A stored row as {API name: value}, as the pull decodes values (dates as ISO text)."""
    values = dict(row.fields or {})
    values.update({api: from_column(row._mapping[col]) for api, col in columns.items()})
    return values


def moved_values(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{API name: (old, new)} of the values read that differ from the stored ones. A field
    not read (hidden, or a bad value left out) is not a change."""
    return {api: (old.get(api), value) for api, value in new.items() if old.get(api) != value}


def row_values(
    table: Table, columns: Mapping[str, str], values: Mapping[str, Any], fields: Mapping[str, Any]
) -> dict[str, Any]:
    """Column values and the `fields` JSON for `values` read (on top of stored `fields`)."""
    row: dict[str, Any] = {}
    extra = dict(fields)
    for api, value in values.items():
        column = columns.get(api)
        if column is None:
            extra[api] = value
        else:
            row[column] = to_column(table.c[column], value)
    row["fields"] = extra
    return row


def changed(row: Any, wanted: Mapping[str, Any]) -> bool:
    return any(row._mapping[key] != value for key, value in wanted.items())


# -- Storing a page ---------------------------------------------------------------------------


class Writes:
    """A page's writes, kept in order and sent as multi-row statements by `flush`: deletes,
    updates, inserts, then activities and sync errors (each in the order they were made)."""

    def __init__(self, conn: Connection, at: dt.datetime) -> None:
        self.conn = conn
        self.at = at
        self._clear()

    def _clear(self) -> None:
        self.deletes: dict[Table, list[int]] = {}
        self.updates: dict[Table, list[dict[str, Any]]] = {}
        self.inserts: dict[Table, list[dict[str, Any]]] = {}
        self.activities: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []

    def insert(self, table: Table, **values: Any) -> None:
        self.inserts.setdefault(table, []).append(values)

    def update(self, table: Table, row_id: int, **values: Any) -> None:
        self.updates.setdefault(table, []).append({"b_row_id": row_id, **values})

    def delete(self, table: Table, row_id: int) -> None:
        self.deletes.setdefault(table, []).append(row_id)

    def activity(
        self, person_id: int, type_: str, attributes: Mapping[str, Any], sfdc_id: str | None = None
    ) -> None:
        self.activities.append(
            {
                "person_id": person_id,
                "type": type_,
                "at": self.at,
                "attributes": dict(attributes),
                "sfdc_id": sfdc_id,
            }
        )

    def error(self, record: SfRecord, code: str, message: str, fields: list[str]) -> None:
        """A record-level sync error, unless the same one is open already (a lookback re-read,
        or a record saved again with the same problem, reports nothing new)."""
        self.errors.append(
            {
                "at": self.at,
                "level": "record",
                "code": code,
                "message": message,
                "sfdc_object": record.object,
                "person_id": None,
                "sfdc_id": record.id,
                "fields": fields,
                "run_id": None,
                "next_retry_at": None,
            }
        )

    def flush(self) -> None:
        conn = self.conn
        for table, ids in self.deletes.items():
            for chunk in chunks(ids):
                conn.execute(delete(table).where(table.c.id.in_(chunk)))
        for table, rows in self.updates.items():
            statement = update(table).where(table.c.id == bindparam("b_row_id"))
            for run in _same_keys(rows):
                conn.execute(statement, run)
        for table, rows in self.inserts.items():
            for run in _same_keys(rows):
                conn.execute(insert(table), run)
        if self.activities:
            conn.execute(insert(activities), self.activities)
        errors = self._new_errors()
        if errors:
            conn.execute(insert(sync_errors), errors)
        self._clear()

    def _new_errors(self) -> list[dict[str, Any]]:
        if not self.errors:
            return []
        seen: set[tuple[Any, ...]] = set()
        for chunk in chunks(sorted({e["sfdc_id"] for e in self.errors})):
            rows = self.conn.execute(
                select(
                    sync_errors.c.sfdc_object,
                    sync_errors.c.sfdc_id,
                    sync_errors.c.code,
                    sync_errors.c.message,
                ).where(sync_errors.c.sfdc_id.in_(chunk), sync_errors.c.resolved_at.is_(None))
            )
            seen.update(tuple(row) for row in rows)
        fresh = []
        for error in self.errors:
            key = (error["sfdc_object"], error["sfdc_id"], error["code"], error["message"])
            if key not in seen:
                seen.add(key)
                fresh.append(error)
        return fresh


def _same_keys(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Consecutive runs of rows naming the same columns (one multi-row statement each; a value
    left out, such as a field hidden or a bad value, keeps the column's default)."""
    run: list[dict[str, Any]] = []
    for row in rows:
        if run and row.keys() != run[0].keys():
            yield run
            run = []
        run.append(row)
    if run:
        yield run


class PageStore(abc.ABC):
    """Stores one object's records a page at a time, with the outcome storing them one by one
    gives. `load` reads what the records need; `store_one` decides a record against that and
    queues its writes. A record whose row or key an earlier record of the page has claimed
    (written, or looked up) waits: the queued writes go out and the rest of the page is read
    again, so every decision sees what the records before it wrote."""

    def __init__(self, conn: Connection, plan: ReadPlan, at: dt.datetime) -> None:
        self.conn = conn
        self.plan = plan
        self.at = at
        self.writes = Writes(conn, at)
        self._claimed: set[Hashable] = set()

    def store(self, records: Sequence[SfRecord]) -> list[str]:
        outcomes: list[str] = []
        while len(outcomes) < len(records):
            rest = records[len(outcomes) :]
            self._claimed.clear()
            self.load(rest)
            for record in rest:
                outcome = self.store_one(record)
                if outcome is None:
                    break  # it needs what the page has queued: write that, read again
                outcomes.append(outcome)
            self.writes.flush()
        return outcomes

    @abc.abstractmethod
    def load(self, records: Sequence[SfRecord]) -> None:
        """Read what `records` need (their rows, the records they point at)."""

    @abc.abstractmethod
    def store_one(self, record: SfRecord) -> str | None:
        """The record's outcome ("new", "updated", ...), its writes queued; None, with nothing
        queued, when `claim` refused one of its keys."""

    def claim(self, *keys: Hashable) -> bool:
        """Whether no earlier record of this run claimed any of `keys` (a row's identities,
        the keys it was looked up by); claims them. Call before queueing any write."""
        wanted = {key for key in keys if key is not None}
        if wanted & self._claimed:
            return False
        self._claimed |= wanted
        return True

    def delete_row(self, table: Table, record: SfRecord, row: Any, *keys: Hashable) -> str | None:
        """A deleted record whose row goes too: "skipped" if leadsync never held it."""
        if row is None:
            return "skipped"
        if not self.claim(("sfdc", record.id), *keys):
            return None
        self.writes.delete(table, row.id)
        return "deleted"

    def unknown_reference(self, record: SfRecord, field: str, value: Any, what: str) -> str:
        """A record pointing at something leadsync does not hold: a record-level sync error
        naming the object, the record and the field, and the record is not stored. Returns the
        run count ("failed")."""
        message = f"{record.object} {record.id}: {field} {value} is not a known {what}"
        self.writes.error(record, UNKNOWN_REFERENCE, message, [field])
        return "failed"


StorePage = Callable[[Connection, ReadPlan, Sequence[SfRecord], dt.datetime], list[str]]
StoreRecord = Callable[[Connection, ReadPlan, SfRecord, dt.datetime], str]


def by_page(store: Callable[[Connection, ReadPlan, dt.datetime], PageStore]) -> StorePage:
    """The pull's store of a page of records."""

    def store_page(
        conn: Connection, plan: ReadPlan, records: Sequence[SfRecord], at: dt.datetime
    ) -> list[str]:
        return store(conn, plan, at).store(records)

    return store_page


def one_by_one(store: Callable[[Connection, ReadPlan, dt.datetime], PageStore]) -> StoreRecord:
    """The pull's store of one record (its fallback when storing a page failed)."""

    def store_record(conn: Connection, plan: ReadPlan, record: SfRecord, at: dt.datetime) -> str:
        return store(conn, plan, at).store([record])[0]

    return store_record


class ColumnsStore(PageStore):
    """Opportunities and campaigns: a row per record keyed by `sfdc_id`, the fields in
    `columns` in columns of their own and every other one in the `fields` JSON, a Salesforce
    delete flagged on the row (the row stays)."""

    table: Table
    columns: Mapping[str, str]

    def load(self, records: Sequence[SfRecord]) -> None:
        sfdc_id = self.table.c.sfdc_id
        found = rows_where(self.conn, self.table, sfdc_id.in_, [r.id for r in records])
        self.rows = index(found, lambda row: row.sfdc_id)

    def store_one(self, record: SfRecord) -> str | None:
        row = self.rows.get(record.id)
        if row is None and record.deleted:
            return "skipped"  # deleted before leadsync ever saw it
        if not self.claim((self.table.name, record.id)):
            return None
        values = values_of(record)
        if row is None:
            columns = self.new_row(record, row_values(self.table, self.columns, values, {}))
            self.writes.insert(
                self.table,
                sfdc_id=record.id,
                **columns,
                sfdc_is_deleted=record.deleted,
                created_at=self.at,
                updated_at=self.at,
            )
            return "new"
        moved = moved_values(stored_values(row, self.columns), values)
        if not moved and record.deleted == row.sfdc_is_deleted:
            return "skipped"  # a re-read, or a save that changed nothing leadsync keeps
        columns = self.kept_row(row, row_values(self.table, self.columns, values, row.fields or {}))
        self.writes.update(
            self.table, row.id, **columns, sfdc_is_deleted=record.deleted, updated_at=self.at
        )
        if moved:
            self.moved(row, values, moved)
        return "deleted" if record.deleted and not row.sfdc_is_deleted else "updated"

    def new_row(self, record: SfRecord, columns: dict[str, Any]) -> dict[str, Any]:
        """The columns of a new row (a subclass fills in what must not stay empty)."""
        return columns

    def kept_row(self, row: Any, columns: dict[str, Any]) -> dict[str, Any]:
        """The columns written over a stored row."""
        return columns

    def moved(self, row: Any, values: Mapping[str, Any], moved: Mapping[str, Any]) -> None:
        """Values of a stored row really moved (a subclass logs them)."""
