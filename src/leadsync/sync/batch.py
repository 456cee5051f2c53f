"""Storing a batch of leads or contacts with a few multi-row statements instead of several
statements per record.

In an initial copy nearly every record is new: no link, not deleted, not a converted lead. Those
become persons (with their own company rows and "New Lead" activities) and links in one
`executemany` per table. Every other record (a link to merge against, a conversion, a contact
a converted lead already claimed) takes the record-by-record path, in batch order: the new
records collected before it are written first, so the result is the same as storing the batch
one record at a time.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Column, Connection, Table, func, select
from sqlalchemy.sql.elements import False_, True_

from ..db import activities as activity
from ..db.changes import SALESFORCE
from ..db.fields import BY_NAME, Group
from ..db.schema import activities, companies, persons, sync_links
from ..errors import DatabaseError
from .objects import ReadPlan
from .records import SfRecord
from .store import company_for_account

StoreOne = Callable[[SfRecord], str]  # the record-by-record path; returns the run count
# Garbage collector thresholds while a copy runs: see `fewer_collections`.
COPY_GC_THRESHOLDS = (50_000, 20, 100)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often for a while (an initial copy).

    A copy allocates millions of short-lived containers (rows, records, value dictionaries),
    few of them cyclic; with the default thresholds the collector runs every 700 allocations
    and, as batches come and go, keeps rescanning every long-lived object of the process. That
    cost a quarter of the copy's store time. Memory is unaffected: the batches are freed by
    reference counting, and the collector still runs, every 50,000 allocations."""
    before = gc.get_threshold()
    gc.set_threshold(*COPY_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


@dataclass
class _NewPerson:
    """One new person's rows, before its (and its own company's) id is known."""

    record: SfRecord
    person: list[Any]  # values in `_Layout.person_columns` order; company id and id unset
    company: list[Any] | None  # a lead's own company row; None: an account's or none


@dataclass(frozen=True)
class _Layout:
    """Where a plan's data fields land in a new person's rows, worked out once per batch
    (as `store.split_person_values` does per record), with the driver-ready timestamps."""

    person: tuple[tuple[str, str, Any], ...]  # (API name, column, value if not read)
    company: tuple[tuple[str, str], ...]  # (API name, company column)
    custom: tuple[tuple[str, str], ...]  # (API name, JSON name)
    id_column: str
    at: Any  # the batch's timestamp as the driver takes it
    stamp: Callable[[dt.datetime], Any]  # a SystemModstamp as the driver takes it

    @classmethod
    def of(cls, conn: Connection, plan: ReadPlan, at: dt.datetime) -> _Layout:
        person: list[tuple[str, str, Any]] = []
        company: list[tuple[str, str]] = []
        custom: list[tuple[str, str]] = []
        for data in plan.data:
            spec = BY_NAME.get(data.name)
            if spec is None:
                custom.append((data.api_name, data.name))
            elif spec.group is Group.COMPANY:
                company.append((data.api_name, spec.column))
            elif spec.group is Group.PERSON:
                person.append((data.api_name, spec.column, _unset(persons.c[spec.column])))
        stamp = (
            _sqlite_stamp
            if conn.dialect.name == "sqlite"
            else _bind(conn, sync_links.c.sfdc_modstamp)
        )
        id_column = "sfdc_lead_id" if plan.name == "Lead" else "sfdc_contact_id"
        return cls(tuple(person), tuple(company), tuple(custom), id_column, stamp(at), stamp)

    @property
    def person_columns(self) -> tuple[str, ...]:
        return (*(c for _, c, _ in self.person), *_PERSON_TAIL, self.id_column, "id")

    @property
    def company_columns(self) -> tuple[str, ...]:
        return (*(c for _, c in self.company), "custom", "created_at", "updated_at", "id")


# Person columns after the data fields, then the Salesforce id column and the id.
_PERSON_TAIL = ("custom", "company_id", "sfdc_type", "sfdc_owner_id", "created_at", "updated_at")
_LINK_COLUMNS = (
    "sfdc_object",
    "sfdc_id",
    "entity",
    "entity_id",
    "baseline",
    "sfdc_modstamp",
    "created_at",
    "updated_at",
)
_ACTIVITY_COLUMNS = ("person_id", "type", "at", "attributes", "sfdc_id")


@dataclass
class _Pending:
    """New persons collected since the last write, and the account companies known so far."""

    plan: ReadPlan
    at: dt.datetime
    layout: _Layout
    rows: list[_NewPerson] = field(default_factory=list)
    account_companies: dict[str, int] = field(default_factory=dict)


def store_persons(
    conn: Connection,
    plan: ReadPlan,
    batch: list[SfRecord],
    at: dt.datetime,
    store_one: StoreOne,
    linked: Collection[str],
) -> list[str]:
    """Store a batch of one person object; returns each record's run count, in batch order.
    `linked` holds the ids of the batch that have a link already. Call it inside
    `LeadDatabase.transaction()`: on SQLite the new ids rely on its write lock."""
    pending = _Pending(
        plan, at, _Layout.of(conn, plan, at), account_companies=_account_companies(conn, batch)
    )
    outcomes: list[str] = []
    seen: set[str] = set()
    for record in batch:
        # A record carrying leadsync's external id was created by a push: the slow path
        # links it to that person instead of making a new one.
        claims = plan.external_id is not None and record.sync.get(plan.external_id) is not None
        if record.id in linked or record.id in seen or _is_conversion(record) or claims:
            _flush(conn, pending)  # the slow path must see every earlier record stored
            outcomes.append(store_one(record))
        elif record.deleted:
            outcomes.append("skipped")  # deleted before leadsync ever saw it
        else:
            pending.rows.append(_new_person(conn, pending, record))
            outcomes.append("new")
        seen.add(record.id)
    _flush(conn, pending)
    return outcomes


def _is_conversion(record: SfRecord) -> bool:
    return record.object == "Lead" and bool(record.sync.get("ConvertedContactId"))


def _account_companies(conn: Connection, batch: Iterable[SfRecord]) -> dict[str, int]:
    """Account id -> company id for the accounts the batch names that exist (one query)."""
    accounts = {str(r.sync["AccountId"]) for r in batch if r.sync.get("AccountId")}
    if not accounts:
        return {}
    query = select(companies.c.sfdc_account_id, companies.c.id).where(
        companies.c.sfdc_account_id.in_(accounts)
    )
    return {str(account): int(company) for account, company in conn.execute(query)}


def _new_person(conn: Connection, pending: _Pending, record: SfRecord) -> _NewPerson:
    """The rows `store.create_person` would insert for `record`, as lists of values."""
    layout, values = pending.layout, record.values
    person = [values.get(api, unset) for api, _, unset in layout.person]
    custom = {name: values[api] for api, name in layout.custom if api in values}
    owner = record.sync.get("OwnerId")
    person += [_json(custom), None, record.object, owner, layout.at, layout.at, record.id, None]
    company = None
    account_id = record.sync.get("AccountId")
    if account_id:
        person[-_COMPANY_FROM_END] = _account_company(conn, pending, str(account_id))
    else:
        company_values = [values.get(api) for api, _ in layout.company]
        if company_values.count(None) < len(company_values):
            company = [*company_values, "{}", layout.at, layout.at, None]
    return _NewPerson(record, person, company)


# Where the company id sits in a person row, counted from the end (see `_Layout`).
_COMPANY_FROM_END = len(_PERSON_TAIL) + 2 - _PERSON_TAIL.index("company_id")


def _account_company(conn: Connection, pending: _Pending, account_id: str) -> int:
    known = pending.account_companies.get(account_id)
    if known is None:  # an account not read (yet): its placeholder company, as one at a time
        known = company_for_account(conn, account_id, pending.at)
        pending.account_companies[account_id] = known
    return known


def _flush(conn: Connection, pending: _Pending) -> None:
    """Write the collected new persons: own companies, persons, links, "New Lead" activities."""
    rows, pending.rows, layout = pending.rows, [], pending.layout
    if not rows:
        return
    own = [row.company for row in rows if row.company is not None]
    for company, company_id in zip(own, new_ids(conn, companies, len(own)), strict=True):
        company[-1] = company_id
    write_rows(conn, companies, layout.company_columns, own)
    ids = new_ids(conn, persons, len(rows))
    for row, person_id in zip(rows, ids, strict=True):
        row.person[-1] = person_id
        if row.company is not None:
            row.person[-_COMPANY_FROM_END] = row.company[-1]
    write_rows(conn, persons, layout.person_columns, [row.person for row in rows])
    links = [
        [
            row.record.object,
            row.record.id,
            "person",
            person_id,
            _json(row.record.values),
            layout.stamp(row.record.modstamp),
            layout.at,
            layout.at,
        ]
        for row, person_id in zip(rows, ids, strict=True)
    ]
    write_rows(conn, sync_links, _LINK_COLUMNS, links)
    attributes = _json({"source": SALESFORCE, "sfdcType": pending.plan.name})
    new_lead = [[person_id, activity.NEW_LEAD, layout.at, attributes, None] for person_id in ids]
    write_rows(conn, activities, _ACTIVITY_COLUMNS, new_lead)


def new_ids(conn: Connection, table: Table, count: int) -> list[int]:
    """`count` ids for new rows of `table`, taken before the rows are written (so that a
    multi-row insert needs no RETURNING, which SQLite cannot order)."""
    if count == 0:
        return []
    if conn.dialect.name == "sqlite":
        # The ids SQLite would pick are max + 1, max + 2, ...: the transaction holds the write
        # lock (BEGIN IMMEDIATE), so they are ours to give.
        start = int(conn.scalar(select(func.max(table.c.id))) or 0)
        return list(range(start + 1, start + 1 + count))
    sequence = f"pg_get_serial_sequence('{table.name}', 'id')"
    query = f"SELECT nextval({sequence}) FROM generate_series(1, {int(count)})"
    return [int(new) for new in conn.exec_driver_sql(query).scalars()]


def write_rows(
    conn: Connection, table: Table, columns: tuple[str, ...], rows: list[list[Any]]
) -> None:
    """Insert rows of driver-ready values (timestamps bound, JSON serialised), bypassing
    SQLAlchemy's per-row parameter handling: one `executemany` on SQLite, one COPY on
    PostgreSQL."""
    if not rows:
        return
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    driver = conn.connection.driver_connection  # inside the transaction SQLAlchemy began
    assert driver is not None
    dbapi_error: type[Exception] = conn.dialect.loaded_dbapi.Error
    try:
        if conn.dialect.name == "sqlite":
            marks = ", ".join("?" for _ in columns)
            insert = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"
            driver.executemany(insert, rows)
            return
        with (
            driver.cursor() as cursor,
            cursor.copy(f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
    except dbapi_error as exc:
        # The driver's own error bypasses SQLAlchemy's wrapping; as a DatabaseError it sends
        # the batch to the record-by-record pass like any other failed store.
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatabaseError(f"writing {table.name}: {first_line}") from exc


def _bind(conn: Connection, column: Column[Any]) -> Callable[[Any], Any]:
    """The column type's own conversion of a Python value for this connection's driver."""
    dialect = conn.dialect
    processor = column.type.dialect_impl(dialect).bind_processor(dialect)
    return processor if processor is not None else (lambda value: value)


def _sqlite_stamp(value: dt.datetime) -> str:
    """`UtcDateTime` on SQLite in one step: naive UTC in SQLAlchemy's storage format
    (YYYY-MM-DD HH:MM:SS.ffffff); called once per record of a copy, so kept to three C calls."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} (use UTC-aware datetimes)")
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _unset(column: Column[Any]) -> Any:
    """What a column gets when the insert leaves it out: its boolean server default, or NULL."""
    default = getattr(column.server_default, "arg", None)
    if isinstance(default, True_ | False_):
        return isinstance(default, True_)
    return None


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()  # as the JSON columns store it (None -> 'null')
