"""Bulk generation of demo leads: a million rows in seconds, not minutes.

Rows are generated column by column: each column cycles a precomputed, randomly drawn pattern
whose length is a distinct prime, so rows vary like random data while a chunk of 50,000 costs a
few list slices and a handful of comprehensions instead of per-row function calls. Chunks go
to SQLite with `executemany` inside the caller's write transaction; for big runs the table's
indexes are dropped first and rebuilt once at the end, which is several times faster than
updating a dozen indexes row by row.
"""

from __future__ import annotations

import itertools
import random
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from . import seed_pools as pools
from .schema import SObjectDef
from .standard_objects import INDUSTRIES, LEAD_SOURCES, RATINGS
from .store import Store, quote

DAY = 86_400
LEAD_SPAN_DAYS = 120
# Leads created in the same second: paging and incremental sync must cope with ties.
ROWS_PER_SECOND = 4
# From this many rows on, rebuilding the indexes once beats maintaining them per row.
REINDEX_THRESHOLD = 100_000


def _primes_from(start: int, count: int) -> tuple[int, ...]:
    found: list[int] = []
    candidate = start
    while len(found) < count:
        if all(candidate % d for d in range(2, int(candidate**0.5) + 1)):
            found.append(candidate)
        candidate += 1
    return tuple(found)


# Distinct primes: patterns of these lengths rarely line up, so columns combine freely.
_PRIMES = _primes_from(10_000, 32)


@dataclass(frozen=True)
class LeadBatch:
    """Where and how many leads to insert, and the fixed values they share."""

    store: Store
    conn: sqlite3.Connection
    obj: SObjectDef
    count: int
    chunk_size: int
    owners: list[str]
    actor: str
    now: int


def insert_leads(batch: LeadBatch, rng: random.Random, *, samples: int) -> list[str]:
    """Insert `batch.count` leads; returns about `samples` of their ids, evenly spread."""
    patterns = LeadPatterns(rng, batch.owners)
    every = max(1, batch.count // samples)
    indexes = drop_indexes(batch.conn, batch.obj.name) if batch.count >= REINDEX_THRESHOLD else []
    clusters = -(-batch.count // ROWS_PER_SECOND)
    gap = max(1, LEAD_SPAN_DAYS * DAY // clusters)
    first_second = batch.now - clusters * gap
    sampled: list[str] = []
    for start in range(0, batch.count, batch.chunk_size):
        size = min(batch.chunk_size, batch.count - start)
        ids = batch.store.allocate_ids(batch.conn, batch.obj.key_prefix, size)
        values = patterns.chunk(start, size, ids, first_second, gap, batch.now, batch.actor)
        columns = insert_columns(batch.obj, values)
        sql = (
            f"INSERT INTO {quote(batch.obj.name)} ({', '.join(quote(c) for c in columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})"
        )
        batch.conn.executemany(sql, zip(*columns.values(), strict=False))
        sampled.extend(ids[(-start) % every :: every])
    for statement in indexes:
        batch.conn.execute(statement)
    return sampled


def drop_indexes(conn: sqlite3.Connection, table: str) -> list[str]:
    """Drop `table`'s explicit indexes; returns the statements that recreate them."""
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
        "AND sql IS NOT NULL",
        (table,),
    ).fetchall()
    for name, _sql in rows:
        conn.execute(f"DROP INDEX {quote(name)}")
    return [str(sql) for _name, sql in rows]


def cycle(pattern: Sequence[Any], start: int, count: int) -> list[Any]:
    """`count` items of `pattern` repeated endlessly, beginning at position `start`."""
    size = len(pattern)
    offset = start % size
    repeats = (offset + count) // size + 1
    return (list(pattern) * repeats)[offset : offset + count]


def insert_columns(obj: SObjectDef, values: dict[str, Iterable[Any]]) -> dict[str, Iterable[Any]]:
    """The generated columns the table has, plus boolean defaults; others stay NULL.

    Leaving always-NULL columns out of the INSERT saves binding ten-odd values per row."""
    columns: dict[str, Iterable[Any]] = {}
    for definition in obj.stored_fields():
        if definition.name in values:
            columns[definition.name] = values[definition.name]
        elif definition.type == "boolean":
            columns[definition.name] = itertools.repeat(1 if definition.default_value else 0)
    return columns


class LeadPatterns:
    """Precomputed column patterns for leads; `chunk` slices them into rows."""

    def __init__(self, rng: random.Random, owners: list[str]) -> None:
        self.owners = owners

        primes = iter(_PRIMES)

        def draw(pool: Sequence[Any], weights: Sequence[float] | None = None) -> list[Any]:
            return rng.choices(pool, weights=weights, k=next(primes))

        people = draw(range(len(pools.FIRST_NAMES)))
        self.first = [pools.FIRST_NAMES[i] for i in people]
        self.first_slug = [pools.FIRST_NAMES[i].lower() for i in people]
        family = draw(range(len(pools.LAST_NAMES)))
        self.last = [pools.LAST_NAMES[i] for i in family]
        self.last_slug = [pools.LAST_NAMES[i].lower().replace("'", "") for i in family]
        self.salutation = draw(["Mr.", "Ms.", "Mrs.", "Dr.", None, None])
        self.title = draw(pools.TITLES)
        companies = [company_name(n) for n in range(600)]
        picked = draw(range(len(companies)))
        self.company = [companies[i][0] for i in picked]
        self.domain = [companies[i][1] for i in picked]
        self.website = [f"https://www.{companies[i][1]}" if i % 5 else None for i in picked]
        places = draw(range(len(pools.PLACES)))
        self.city = [pools.PLACES[i][0] for i in places]
        self.state = [pools.PLACES[i][1] for i in places]
        self.postal = [pools.PLACES[i][2] for i in places]
        self.country = [pools.PLACES[i][3] for i in places]
        self.phone = [f"+{pools.PLACES[i][4]} 555 {rng.randrange(10000):04d}" for i in places]
        self.language = [
            pools.LANGUAGES_BY_COUNTRY.get(pools.PLACES[i][3], "English")
            if rng.random() < 0.7
            else None
            for i in places
        ]
        self.street = [
            f"{rng.choice(pools.STREET_NUMBERS)} {rng.choice(pools.STREETS)}"
            for _ in range(next(primes))
        ]
        self.mobile = [
            f"+1 ({rng.randrange(200, 999)}) 555-{rng.randrange(10000):04d}" if flag else None
            for flag in draw([True, False], [2, 3])
        ]
        self.source = draw(LEAD_SOURCES, [40, 15, 15, 20, 10])
        self.status = draw(
            ["Open - Not Contacted", "Working - Contacted", "Closed - Not Converted"], [60, 30, 10]
        )
        self.industry = draw(INDUSTRIES)
        self.rating = draw([*RATINGS, None], [1, 2, 2, 3])
        self.revenue = draw(
            [None, 250_000.0, 1_000_000.0, 5_000_000.0, 25_000_000.0, 120_000_000.0]
        )
        self.employees = draw([None, 5, 12, 40, 150, 600, 2500, 12000])
        self.score = [float(n) for n in draw(range(101))]
        self.opted_out = draw([0, 1], [19, 1])
        self.do_not_call = draw([0, 1], [32, 1])
        self.unread = draw([0, 1], [4, 1])
        self.notes = draw([None, *pools.INTERNAL_NOTES], [45, 1, 1, 1, 1, 1])
        # Most leads are untouched since creation; some were edited days later.
        self.edited_after = draw([0, 0, 0, 0, 3600, 5 * DAY, 20 * DAY])

    def chunk(
        self,
        start: int,
        count: int,
        ids: list[str],
        first_second: int,
        gap: int,
        now: int,
        actor: str,
    ) -> dict[str, Iterable[Any]]:
        def col(pattern: Sequence[Any]) -> list[Any]:
            return cycle(pattern, start, count)

        first, last = col(self.first), col(self.last)
        created = [first_second + (n // ROWS_PER_SECOND) * gap for n in range(start, start + count)]
        modified = [
            c + d if c + d <= now else now
            for c, d in zip(created, col(self.edited_after), strict=True)
        ]
        email = [
            f"{f}.{la}{n}@{d}"
            for f, la, n, d in zip(
                col(self.first_slug),
                col(self.last_slug),
                range(start, start + count),
                col(self.domain),
                strict=True,
            )
        ]
        return {
            "Id": ids,
            "IsDeleted": itertools.repeat(0),
            "CreatedDate": created,
            "CreatedById": itertools.repeat(actor),
            "LastModifiedDate": modified,
            "LastModifiedById": itertools.repeat(actor),
            "SystemModstamp": modified,
            "Salutation": col(self.salutation),
            "FirstName": first,
            "LastName": last,
            "Name": [f"{f} {la}" for f, la in zip(first, last, strict=True)],
            "Title": col(self.title),
            "Company": col(self.company),
            "Street": col(self.street),
            "City": col(self.city),
            "State": col(self.state),
            "PostalCode": col(self.postal),
            "Country": col(self.country),
            "Phone": col(self.phone),
            "MobilePhone": col(self.mobile),
            "Email": email,
            "Website": col(self.website),
            "LeadSource": col(self.source),
            "Status": col(self.status),
            "Industry": col(self.industry),
            "Rating": col(self.rating),
            "AnnualRevenue": col(self.revenue),
            "NumberOfEmployees": col(self.employees),
            "OwnerId": col(self.owners),
            "HasOptedOutOfEmail": col(self.opted_out),
            "DoNotCall": col(self.do_not_call),
            "IsConverted": itertools.repeat(0),
            "IsUnreadByOwner": col(self.unread),
            "Lead_Score__c": col(self.score),
            "Internal_Notes__c": col(self.notes),
            "Preferred_Language__c": col(self.language),
        }


def company_name(index: int) -> tuple[str, str]:
    stem = pools.COMPANY_STEMS[index % len(pools.COMPANY_STEMS)]
    suffix = pools.COMPANY_SUFFIXES[
        (index // len(pools.COMPANY_STEMS) * 5 + index) % len(pools.COMPANY_SUFFIXES)
    ]
    domain = f"{stem}-{suffix}".lower().replace(".", "") + ".example"
    return f"{stem} {suffix}", domain
