"""SOQL execution: compile a statement for a caller's profile, run it on a connection, and
shape rows as REST records or Bulk CSV cells. Also the registry of open query cursors that
serves `nextRecordsUrl` pages from a fixed snapshot.
"""

from __future__ import annotations

import contextlib
import operator
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .errors import QueryError, SalesforceError
from .ids import KEY_PREFIXES, make_id
from .schema import FieldDef, Profile, Schema
from .soql.compiler import Compiler
from .soql.parser import parse
from .soql.plan import OutChild, OutCompound, OutEntry, OutParent, OutValue, Plan
from .values import csv_converter, format_datetime_json

if TYPE_CHECKING:
    from .clock import Clock
    from .org import Org

Row = Sequence[Any]
RecordBuilder = Callable[[Row], dict[str, Any]]


def compile_query(org: Org, profile: Profile, soql: str, *, include_deleted: bool) -> CompiledQuery:
    """Parse and compile `soql` for a caller with `profile`; raises QueryError."""
    if not soql or not soql.strip():
        raise QueryError("MALFORMED_QUERY", "A query string has to be specified")
    query = parse(soql)
    today = datetime.fromtimestamp(org.clock.now(), tz=UTC).date()
    plan = Compiler(org.schema, profile, soql, today).compile(
        query, include_deleted=include_deleted
    )
    return CompiledQuery(org.schema, plan)


class CompiledQuery:
    """A compiled statement: runs on any connection of the org's store."""

    def __init__(self, schema: Schema, plan: Plan) -> None:
        self.schema = schema
        self.plan = plan
        self.object_name = plan.object_name
        self.count_only = plan.count_only
        self.aggregate = plan.aggregate
        self.uses_compound_fields = plan.uses_compound_fields
        self.has_subquery = plan.has_subquery
        self._builders: dict[str, RecordBuilder] = {}

    @property
    def sql(self) -> str:
        return self.plan.select.sql

    def count(self, conn: sqlite3.Connection) -> int:
        """Rows the whole statement returns (the REST `totalSize`)."""
        row = _run(conn, self.plan.count.sql, self.plan.count.params).fetchone()
        return int(row[0])

    def execute(self, conn: sqlite3.Connection) -> sqlite3.Cursor:
        return _run(conn, self.plan.select.sql, self.plan.select.params)

    def record_builder(self, version: str) -> RecordBuilder:
        """Row -> REST record (child sub-queries need `build_records`, which has a conn)."""
        builder = self._builders.get(version)
        if builder is None:
            builder = _record_builder(self.schema, self.plan, _base(version), None)
            self._builders[version] = builder
        return builder

    def build_records(
        self, conn: sqlite3.Connection, rows: Sequence[Row], version: str
    ) -> list[dict[str, Any]]:
        if self.has_subquery:
            build = _record_builder(self.schema, self.plan, _base(version), conn)
        else:
            build = self.record_builder(version)
        return [build(row) for row in rows]

    def iter_json_records(self, conn: sqlite3.Connection, version: str) -> Iterator[dict[str, Any]]:
        if self.count_only:
            return
        cursor = self.execute(conn)
        while rows := cursor.fetchmany(2000):
            yield from self.build_records(conn, rows, version)

    def csv_header(self) -> list[str]:
        return [header for header, _, _ in self.plan.csv_columns]

    def iter_csv_rows(self, conn: sqlite3.Connection) -> Iterator[list[Any]]:
        """Rows as CSV cells. Cells that are already text (or None, which the csv module
        writes as an empty cell) pass through untouched: only booleans, datetimes and
        numbers are converted. The general path: Bulk jobs mostly render whole chunks of
        text in SQLite instead (`bulk_csv`), falling back to these cells where they must."""
        if self.count_only:
            return
        cells = self.csv_cells()
        cursor = self.execute(conn)
        while rows := cursor.fetchmany(2000):
            for row in rows:
                yield cells(row)

    def csv_cells(self) -> Callable[[Row], list[Any]]:
        """Row of `execute` -> its CSV cells (see `iter_csv_rows`)."""
        columns = self.plan.csv_columns
        picks = [index if index >= 0 else None for _, index, _ in columns]
        fixes = [
            (position, csv_cell(definition))
            for position, (_, index, definition) in enumerate(columns)
            if index >= 0 and is_converted(definition)
        ]

        def cells(row: Row) -> list[Any]:
            values = [None if pick is None else row[pick] for pick in picks]
            for position, convert in fixes:
                values[position] = convert(values[position])
            return values

        return cells


_CONVERTED_CSV_TYPES = frozenset({"boolean", "datetime", "double", "currency", "percent"})


def _run(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
    try:
        return conn.execute(sql, params)
    except (sqlite3.OperationalError, OverflowError) as exc:
        # Statements past SQLite's limits (expression depth, variables) are too complex.
        raise QueryError("MALFORMED_QUERY", f"Query is too complex: {exc}") from None


def is_converted(definition: FieldDef | None) -> bool:
    """Whether a stored value of this field needs converting to be a CSV cell (others are
    written as the csv module writes them)."""
    return definition is not None and definition.type in _CONVERTED_CSV_TYPES


def csv_cell(definition: FieldDef | None) -> Callable[[Any], str]:
    if definition is None:
        return lambda _value: ""
    if definition.type == "datetime":
        return _datetime_csv
    return csv_converter(definition)


# Many rows share a second (Salesforce stamps whole seconds), so formatted stamps repeat.
_datetime_csv = lru_cache(maxsize=8192)(csv_converter(FieldDef("SystemModstamp", "datetime")))


# -- REST records -------------------------------------------------------------------------

_datetime_json = lru_cache(maxsize=8192)(format_datetime_json)


def _value_converter(definition: FieldDef) -> Callable[[Any], Any] | None:
    """Converter for a non-null storage value, or None when it is already its JSON form."""
    if definition.type == "boolean":
        return bool
    if definition.type == "datetime":
        return _datetime_json
    return None


Step = tuple[int, str, int, Any]
_PLAIN, _CONVERTED, _NESTED = 0, 1, 2


def _base(version: str) -> str:
    return f"/services/data/v{version}"


def _steps(
    schema: Schema, entries: list[OutEntry], base: str, conn: sqlite3.Connection | None
) -> list[Step]:
    steps: list[Step] = []
    for entry in entries:
        if isinstance(entry, OutValue):
            convert = _value_converter(entry.field)
            if convert is None:
                steps.append((_PLAIN, entry.key, entry.index, None))
            else:
                steps.append((_CONVERTED, entry.key, entry.index, convert))
        elif isinstance(entry, OutCompound):
            steps.append((_NESTED, entry.key, -1, _compound_builder(entry)))
        elif isinstance(entry, OutParent):
            steps.append((_NESTED, entry.key, -1, _parent_builder(schema, entry, base, conn)))
        else:
            steps.append((_NESTED, entry.key, -1, _child_builder(schema, entry, base, conn)))
    return steps


Filler = Callable[[dict[str, Any], Row], dict[str, Any]]


def _filler(steps: list[Step]) -> Filler:
    """A function that adds the steps' keys to a record from a row.

    Every key is first set from its column in one C-level `update` (keeping select order);
    only converted values and nested objects are then fixed up in Python.
    """
    keys = tuple(key for _, key, _, _ in steps)
    indexes = [max(index, 0) for _, _, index, _ in steps]
    fixups = [step for step in steps if step[0] != _PLAIN]
    if not keys:
        return lambda record, _row: record
    getter: Callable[[Row], Any] = operator.itemgetter(*indexes)
    if len(indexes) == 1:
        single = indexes[0]

        def getter(row: Row) -> Any:
            return (row[single],)

    def fill(record: dict[str, Any], row: Row) -> dict[str, Any]:
        record.update(zip(keys, getter(row), strict=True))
        for kind, key, index, extra in fixups:
            if kind == _CONVERTED:
                value = row[index]
                if value is not None:
                    record[key] = extra(value)
            else:
                record[key] = extra(row)
        return record

    return fill


def _compound_builder(entry: OutCompound) -> Callable[[Row], dict[str, Any] | None]:
    parts = [(key, index, _value_converter(d)) for key, index, d in entry.parts]
    ordered = sorted(parts)

    def build(row: Row) -> dict[str, Any] | None:
        values = {key: row[index] for key, index, _ in ordered}
        if all(v is None for v in values.values()):
            return None
        return values

    return build


def _parent_builder(
    schema: Schema, entry: OutParent, base: str, conn: sqlite3.Connection | None
) -> Callable[[Row], dict[str, Any] | None]:
    fill = _filler(_steps(schema, entry.entries, base, conn))
    id_index = entry.id_index
    if entry.polymorphic:
        names = {obj.key_prefix: obj.name for obj in schema}

        def build_polymorphic(row: Row) -> dict[str, Any] | None:
            record_id = row[id_index]
            if record_id is None:
                return None
            actual = names.get(record_id[:3], "Name")
            record = {
                "attributes": {"type": "Name", "url": f"{base}/sobjects/{actual}/{record_id}"}
            }
            return fill(record, row)

        return build_polymorphic
    prefix = f"{base}/sobjects/{entry.type_name}/"
    type_name = entry.type_name

    def build(row: Row) -> dict[str, Any] | None:
        record_id = row[id_index]
        if record_id is None:
            return None
        return fill({"attributes": {"type": type_name, "url": prefix + record_id}}, row)

    return build


def _child_builder(
    schema: Schema, entry: OutChild, base: str, conn: sqlite3.Connection | None
) -> Callable[[Row], dict[str, Any] | None]:
    plan = entry.plan
    build_child = _record_builder(schema, plan, base, None)
    sql, params = plan.select.sql, plan.select.params
    parent_index = entry.parent_index

    def build(row: Row) -> dict[str, Any] | None:
        if conn is None:
            return None
        # The parent's Id is the child statement's first parameter (see soql.children).
        found = [build_child(r) for r in _run(conn, sql, (row[parent_index], *params))]
        if not found:
            return None
        return {"totalSize": len(found), "done": True, "records": found}

    return build


def _record_builder(
    schema: Schema, plan: Plan, base: str, conn: sqlite3.Connection | None
) -> RecordBuilder:
    fill = _filler(_steps(schema, plan.entries, base, conn))
    if plan.aggregate:

        def build_aggregate(row: Row) -> dict[str, Any]:
            return fill({"attributes": {"type": "AggregateResult"}}, row)

        return build_aggregate
    prefix = f"{base}/sobjects/{plan.object_name}/"
    type_name = plan.object_name
    id_index = plan.id_index

    def build(row: Row) -> dict[str, Any]:
        record = {"attributes": {"type": type_name, "url": prefix + row[id_index]}}
        return fill(record, row)

    return build


# -- open cursors behind query locators -------------------------------------------------------

LOCATOR_TTL_SECONDS = 15 * 60
MAX_OPEN_CURSORS = 64
_REGISTRY_KEY = "query_locators"


def invalid_locator() -> SalesforceError:
    return SalesforceError("INVALID_QUERY_LOCATOR", "invalid query locator")


@dataclass
class OpenQuery:
    """A query whose remaining pages are read from its own snapshot connection.

    The connection holds a read transaction, so every page comes from the same database
    state however many writes happen between page requests.
    """

    compiled: CompiledQuery
    conn: sqlite3.Connection
    cursor: sqlite3.Cursor
    total: int
    position: int
    batch_size: int
    include_deleted: bool
    last_used: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False

    def fetch(self, offset: int, size: int) -> list[Row]:
        """Rows [offset, offset + size) of the result (caller holds `lock`)."""
        if offset != self.position:
            # A retried or skipped page: rerun the statement inside the same snapshot.
            self.cursor = self.compiled.execute(self.conn)
            skip = offset
            while skip > 0:
                chunk = self.cursor.fetchmany(min(skip, 10_000))
                if not chunk:
                    break
                skip -= len(chunk)
            self.position = offset
        rows: list[Row] = self.cursor.fetchmany(size)
        self.position += len(rows)
        return rows

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()


class QueryLocators:
    """Open query cursors by locator id; idle ones expire, the oldest make room."""

    def __init__(
        self, clock: Clock, ttl: float = LOCATOR_TTL_SECONDS, max_open: int = MAX_OPEN_CURSORS
    ) -> None:
        self.clock = clock
        self.ttl = ttl
        self.max_open = max_open
        self._lock = threading.Lock()
        self._open: OrderedDict[str, OpenQuery] = OrderedDict()
        self._sequence = 0

    def register(self, query: OpenQuery) -> str:
        evicted: list[OpenQuery] = []
        with self._lock:
            evicted.extend(self._expire_locked())
            while len(self._open) >= self.max_open:
                evicted.append(self._open.popitem(last=False)[1])
            self._sequence += 1
            locator = make_id(KEY_PREFIXES["QueryLocator"], self._sequence)
            self._open[locator] = query
        _close_all(evicted)
        return locator

    def get(self, locator: str) -> OpenQuery | None:
        evicted: list[OpenQuery] = []
        with self._lock:
            evicted.extend(self._expire_locked())
            query = self._open.get(locator)
            if query is not None:
                query.last_used = self.clock.now_float()
                self._open.move_to_end(locator)
        _close_all(evicted)
        return query

    def discard(self, locator: str) -> None:
        with self._lock:
            query = self._open.pop(locator, None)
        if query is not None:
            _close_all([query])

    def __len__(self) -> int:
        with self._lock:
            return len(self._open)

    def close_all(self) -> None:
        with self._lock:
            queries = list(self._open.values())
            self._open.clear()
        _close_all(queries)

    def _expire_locked(self) -> list[OpenQuery]:
        now = self.clock.now_float()
        stale = [key for key, q in self._open.items() if now - q.last_used > self.ttl]
        return [self._open.pop(key) for key in stale]


def _close_all(queries: list[OpenQuery]) -> None:
    for query in queries:
        with query.lock:
            query.close()


def locators(org: Org) -> QueryLocators:
    registry = org.extensions.get(_REGISTRY_KEY)
    if registry is None:
        registry = org.extensions.setdefault(_REGISTRY_KEY, QueryLocators(org.clock))
    assert isinstance(registry, QueryLocators)
    return registry
