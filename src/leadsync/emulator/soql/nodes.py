"""The typed syntax tree of a SOQL statement, as the parser produces it.

Names are kept as written; the compiler resolves them against the schema (case-insensitively)
and reports errors at the recorded positions (1-based line and column, as Salesforce counts).
"""

from __future__ import annotations

from dataclasses import dataclass

Pos = tuple[int, int]


@dataclass(frozen=True)
class Path:
    """A field reference: `Email`, `Owner.Email`, `Account.Owner.Name`."""

    parts: tuple[str, ...]
    pos: Pos

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Call:
    """A function call: `COUNT()`, `COUNT(Id)`, `MAX(CreatedDate)`."""

    func: str
    arg: Path | None
    pos: Pos


Operand = Path | Call


@dataclass(frozen=True)
class AggregateItem:
    call: Call
    alias: str | None


@dataclass(frozen=True)
class SubqueryItem:
    query: Query
    pos: Pos


SelectItem = Path | AggregateItem | SubqueryItem


@dataclass(frozen=True)
class Literal:
    """A value as written. kind: string, number, date, datetime or name (null, true,
    false, TODAY, LAST_N_DAYS with `arg` "30", ...)."""

    kind: str
    text: str
    pos: Pos
    arg: str | None = None


@dataclass(frozen=True)
class Compare:
    left: Operand
    op: str
    value: Literal


@dataclass(frozen=True)
class Like:
    left: Operand
    value: Literal


@dataclass(frozen=True)
class InList:
    left: Operand
    values: tuple[Literal, ...]
    negated: bool


@dataclass(frozen=True)
class SemiJoin:
    left: Operand
    query: Query
    negated: bool


@dataclass(frozen=True)
class Includes:
    left: Operand
    values: tuple[Literal, ...]
    exclude: bool


@dataclass(frozen=True)
class And:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Compare | Like | InList | SemiJoin | Includes | And | Or | Not


@dataclass(frozen=True)
class OrderItem:
    operand: Operand
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Query:
    select: tuple[SelectItem, ...]
    object_name: str
    object_pos: Pos
    where: Condition | None = None
    group_by: tuple[Operand, ...] = ()
    having: Condition | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: Literal | None = None
    offset: Literal | None = None
