"""What the compiler hands to the executor: SQL with bound parameters, and an output plan
saying how each result row becomes a REST record or a Bulk CSV line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..schema import FieldDef


@dataclass(frozen=True)
class Frag:
    """A piece of SQL and the values bound to its `?` placeholders, in order."""

    sql: str
    params: tuple[Any, ...] = ()

    def __add__(self, other: Frag) -> Frag:
        return Frag(self.sql + other.sql, self.params + other.params)


def join_frags(separator: str, frags: list[Frag]) -> Frag:
    return Frag(separator.join(f.sql for f in frags), tuple(p for f in frags for p in f.params))


@dataclass
class OutValue:
    """A plain value: a field, or an aggregate/grouped column of an AggregateResult."""

    key: str
    index: int
    field: FieldDef


@dataclass
class OutCompound:
    """An address/location compound: a nested object assembled from component columns."""

    key: str
    parts: list[tuple[str, int, FieldDef]]


@dataclass
class OutParent:
    """A parent relationship (`Owner`): a nested record, or null when the lookup is empty.

    `id_index` is the parent's Id column; polymorphic parents report type "Name" (as
    Salesforce does) with a url naming the actual object, found from the id's key prefix.
    """

    key: str
    type_name: str
    polymorphic: bool
    id_index: int
    entries: list[OutEntry] = field(default_factory=list)


@dataclass
class OutChild:
    """A child sub-query (`(SELECT Id FROM Contacts)`), run once per parent row."""

    key: str
    plan: Plan
    parent_index: int
    link_column: str


OutEntry = OutValue | OutCompound | OutParent | OutChild


@dataclass
class Plan:
    object_name: str
    select: Frag
    count: Frag
    entries: list[OutEntry]
    csv_columns: list[tuple[str, int, FieldDef | None]]
    count_only: bool = False
    aggregate: bool = False
    uses_compound_fields: bool = False
    has_subquery: bool = False
    id_index: int = 0
    # The select list's SQL by column, and the statement after it (" FROM ..." with its
    # parameters): other renderings of the same rows (Bulk CSV) select their own list.
    columns: tuple[str, ...] = ()
    tail: Frag = field(default_factory=lambda: Frag(""))
    # The root table with its joins and its alias: one row of the result looked up by rowid.
    source: str = ""
    root_alias: str = ""
