"""SOQL tree + schema + profile -> SQLite SQL (bound parameters only) and an output plan.

Relationship paths become LEFT JOINs (one per target object for polymorphic lookups such as
Lead.Owner -> User | Group, read through COALESCE). Identifiers come only from the schema and
are quoted; every value from the statement is a bound parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..errors import QueryError
from ..schema import COMPOUND_TYPES, NUMBER_TYPES, FieldDef, Profile, Schema, SObjectDef
from ..store import quote
from . import nodes
from .conditions import ConditionCompiler, is_long_text
from .parser import error_at
from .plan import Frag, OutCompound, OutEntry, OutParent, OutValue, Plan, join_frags

MAX_RELATIONSHIP_DEPTH = 5
MAX_OFFSET = 2000
_BIG = 2**62
# Functions that only relabel a value (currency is single, labels equal values here).
PASSTHROUGH_FUNCS = frozenset({"TOLABEL", "FORMAT", "CONVERTCURRENCY"})
AGGREGATE_FUNCS = frozenset({"COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"})
_UNGROUPABLE = frozenset(
    {
        "datetime",
        "double",
        "currency",
        "percent",
        "multipicklist",
        "textarea",
        "base64",
        "encryptedstring",
        "time",
    }
)
_INT = FieldDef("expr", "int")
_DOUBLE = FieldDef("expr", "double")


@dataclass
class Rel:
    """A node of the join tree: the root object or a parent reached by a relationship."""

    key: str
    targets: list[SObjectDef]
    aliases: list[str]
    parent: Rel | None
    fk_sql: str
    depth: int
    children: dict[str, Rel] = field(default_factory=dict)
    in_filter: bool = False

    @property
    def polymorphic(self) -> bool:
        return len(self.targets) > 1

    @property
    def entity(self) -> str:
        return "Name" if self.polymorphic else self.targets[0].name

    @property
    def id_sql(self) -> str:
        ids = [f'{alias}."Id"' for alias in self.aliases]
        return ids[0] if len(ids) == 1 else f"COALESCE({', '.join(ids)})"

    def chain(self) -> list[Rel]:
        """The relationships from the root down to this node (root excluded)."""
        nodes_: list[Rel] = []
        rel: Rel | None = self
        while rel is not None and rel.parent is not None:
            nodes_.append(rel)
            rel = rel.parent
        return nodes_[::-1]


@dataclass(frozen=True)
class Resolved:
    rel: Rel
    field: FieldDef
    sql: str
    path: tuple[str, ...]

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


class Compiler:
    """Compiles one statement (and, through sub-compilers, its semi-joins)."""

    def __init__(
        self, schema: Schema, profile: Profile, soql: str, today: date, prefix: str = "t"
    ) -> None:
        self.schema = schema
        self.profile = profile
        self.soql = soql
        self.today = today
        self.prefix = prefix
        self._aliases = 0
        self._columns: dict[str, int] = {}
        self.root: Rel
        self.conditions = ConditionCompiler(self)
        # Set for a child sub-query: the column matched against each parent row's Id.
        self.link: str | None = None
        self.has_subquery = False

    # -- errors -------------------------------------------------------------------------

    def error(self, code: str, pos: nodes.Pos, detail: str) -> QueryError:
        return error_at(code, self.soql, pos, detail)

    def malformed(self, pos: nodes.Pos, detail: str) -> QueryError:
        return self.error("MALFORMED_QUERY", pos, detail)

    # -- names --------------------------------------------------------------------------

    def new_alias(self) -> str:
        return self._alias()

    def _alias(self) -> str:
        alias = f"{self.prefix}{self._aliases}"
        self._aliases += 1
        return alias

    def resolve_object(self, name: str, pos: nodes.Pos) -> SObjectDef:
        obj = self.schema.get(name)
        if obj is None or not obj.queryable or not self.profile.can_see_object(obj.name):
            raise self.error(
                "INVALID_TYPE",
                pos,
                f"sObject type '{name}' is not supported. If you are attempting to use a "
                "custom object, be sure to append the '__c' after the entity name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
            )
        return obj

    def resolve(self, path: nodes.Path, *, for_filter: bool = False) -> Resolved:
        parts = list(path.parts)
        root_obj = self.root.targets[0]
        if (
            len(parts) > 1
            and parts[0].lower() == root_obj.name.lower()
            and root_obj.relationship(parts[0]) is None
        ):
            parts = parts[1:]
        rel = self.root
        for part in parts[:-1]:
            rel = self._follow(rel, part, path)
        definition, sql = self._field_of(rel, parts[-1], path)
        if for_filter:
            for node in rel.chain():
                node.in_filter = True
        keys = tuple(node.key for node in rel.chain())
        return Resolved(rel, definition, sql, (*keys, definition.name))

    def _follow(self, rel: Rel, part: str, path: nodes.Path) -> Rel:
        existing = rel.children.get(part.lower())
        if existing is not None:
            return existing
        reference = None
        if not rel.polymorphic and rel.depth < MAX_RELATIONSHIP_DEPTH:
            obj = rel.targets[0]
            reference = obj.relationship(part)
            if reference is not None and not self.profile.can_see(obj.name, reference.name):
                reference = None
        targets = []
        if reference is not None:
            for name in reference.reference_to:
                target = self.schema.get(name)
                if target is not None and self.profile.can_see_object(target.name):
                    targets.append(target)
        if reference is None or not targets:
            raise self.error(
                "INVALID_FIELD",
                path.pos,
                f"Didn't understand relationship '{part}' in field path. If you are "
                "attempting to use a custom relationship, be sure to append the '__r' after "
                "the custom relationship name. Please reference your WSDL or the describe "
                "call for the appropriate names.",
            )
        child = Rel(
            key=reference.relationship_name or part,
            targets=targets,
            aliases=[self._alias() for _ in targets],
            parent=rel,
            fk_sql=f"{rel.aliases[0]}.{quote(reference.name)}",
            depth=rel.depth + 1,
        )
        rel.children[part.lower()] = child
        return child

    def _field_of(self, rel: Rel, name: str, path: nodes.Path) -> tuple[FieldDef, str]:
        found: list[tuple[str, FieldDef]] = []
        for target, alias in zip(rel.targets, rel.aliases, strict=True):
            definition = target.field(name)
            if definition is not None and self.profile.can_see(target.name, definition.name):
                found.append((alias, definition))
        if not found:
            raise self.error(
                "INVALID_FIELD",
                path.pos,
                f"No such column '{name}' on entity '{rel.entity}'. If you are attempting to "
                "use a custom field, be sure to append the '__c' after the custom field name. "
                "Please reference your WSDL or the describe call for the appropriate names.",
            )
        definition = found[0][1]
        if definition.type in COMPOUND_TYPES:
            if rel.polymorphic:
                raise self.error(
                    "INVALID_FIELD", path.pos, f"No such column '{name}' on entity '{rel.entity}'."
                )
            return definition, ""
        if len(found) == 1:
            return definition, f"{found[0][0]}.{quote(definition.name)}"
        merged = ", ".join(f"{alias}.{quote(d.name)}" for alias, d in found)
        sql = f"COALESCE({merged})"
        if definition.is_text:
            sql = f"({sql} COLLATE NOCASE)"
        return definition, sql

    def column(self, sql: str) -> int:
        index = self._columns.get(sql)
        if index is None:
            index = self._columns[sql] = len(self._columns)
        return index

    def joins(self, *, filter_only: bool) -> str:
        parts: list[str] = []

        def walk(rel: Rel) -> None:
            for child in rel.children.values():
                if filter_only and not child.in_filter:
                    continue
                for target, alias in zip(child.targets, child.aliases, strict=True):
                    parts.append(
                        f" LEFT JOIN {quote(target.name)} AS {alias} "
                        f'ON {alias}."Id" = {child.fk_sql}'
                    )
                walk(child)

        walk(self.root)
        return "".join(parts)

    # -- statement ------------------------------------------------------------------------

    def compile(self, query: nodes.Query, *, include_deleted: bool) -> Plan:
        obj = self.resolve_object(query.object_name, query.object_pos)
        self.root = Rel("", [obj], [self._alias()], None, "", 0)
        count_only = self._is_count_only(query)
        aggregate = not count_only and (
            bool(query.group_by)
            or any(
                isinstance(i, nodes.AggregateItem) and i.call.func.upper() not in PASSTHROUGH_FUNCS
                for i in query.select
            )
        )
        entries: list[OutEntry] = []
        csv_columns: list[tuple[str, int, FieldDef | None]] = []
        compound = False
        group_sql: list[str] = []
        if count_only:
            pass
        elif aggregate:
            group_sql = self._aggregate_select(query, entries, csv_columns)
        else:
            self.column(self.root.id_sql)
            compound = self._plain_select(query, entries, csv_columns, include_deleted)
        where = self._where(query, include_deleted)
        having = Frag("")
        if query.having is not None:
            if not aggregate:
                raise self.malformed(self._first_pos(query.having), "HAVING requires GROUP BY")
            having = Frag(" HAVING ") + self.conditions.compile(query.having, having=True)
        order = self._order_by(query, aggregate)
        limit = self._limit(query)
        group = Frag(" GROUP BY " + ", ".join(group_sql)) if group_sql else Frag("")
        table = f"{quote(obj.name)} AS {self.root.aliases[0]}"
        columns = ", ".join(self._columns) or "1"
        source = f"{table}{self.joins(filter_only=False)}"
        tail = Frag(f" FROM {source}") + where + group + having + order + limit
        select = Frag(f"SELECT {columns}") + tail
        if aggregate:
            count = Frag("SELECT COUNT(*) FROM (") + select + Frag(")")
        else:
            count = self._count_sql(table, where, limit)
        return Plan(
            object_name=obj.name,
            select=select,
            count=count,
            entries=entries,
            csv_columns=csv_columns,
            count_only=count_only,
            aggregate=aggregate,
            uses_compound_fields=compound,
            has_subquery=self.has_subquery,
            columns=tuple(self._columns),
            tail=tail,
            source=source,
            root_alias=self.root.aliases[0],
        )

    def _is_count_only(self, query: nodes.Query) -> bool:
        counts = [
            i
            for i in query.select
            if isinstance(i, nodes.AggregateItem)
            and i.call.func.upper() == "COUNT"
            and i.call.arg is None
        ]
        if not counts:
            return False
        if len(query.select) > 1 or query.group_by:
            raise self.malformed(
                counts[0].call.pos, "COUNT() cannot be used with other fields or GROUP BY"
            )
        if counts[0].alias is not None:
            raise self.malformed(counts[0].call.pos, f"unexpected token: '{counts[0].alias}'")
        return True

    def _plain_select(
        self,
        query: nodes.Query,
        entries: list[OutEntry],
        csv_columns: list[tuple[str, int, FieldDef | None]],
        include_deleted: bool,
    ) -> bool:
        from .children import compile_child

        seen: set[str] = set()
        compound = False
        for item in query.select:
            if isinstance(item, nodes.SubqueryItem):
                entries.append(compile_child(self, item, include_deleted))
                self.has_subquery = True
                continue
            if isinstance(item, nodes.AggregateItem):
                if item.call.arg is None:
                    raise self.malformed(item.call.pos, f"unexpected token: '{item.call.func}'")
                path = item.call.arg
            else:
                path = item
            resolved = self.resolve(path)
            dotted = resolved.dotted
            if dotted.lower() in seen:
                raise self.malformed(path.pos, f"duplicate field selected: {dotted}")
            seen.add(dotted.lower())
            target = self._parent_entries(resolved.rel, entries)
            definition = resolved.field
            if definition.type in COMPOUND_TYPES:
                compound = True
                alias = resolved.rel.aliases[0]
                parts = []
                for key, component in definition.compound_components.items():
                    owner = resolved.rel.targets[0]
                    part_def = owner.field(component)
                    # A component hidden by field-level security stays hidden inside it.
                    if part_def is None or not self.profile.can_see(owner.name, part_def.name):
                        continue
                    parts.append((key, self.column(f"{alias}.{quote(part_def.name)}"), part_def))
                target.append(OutCompound(definition.name, parts))
                csv_columns.append((dotted, -1, None))
            else:
                index = self.column(resolved.sql)
                target.append(OutValue(definition.name, index, definition))
                csv_columns.append((dotted, index, definition))
        return compound

    def _parent_entries(self, rel: Rel, entries: list[OutEntry]) -> list[OutEntry]:
        """The entry list a field of `rel` goes into, creating nested parents as needed."""
        current = entries
        for node in rel.chain():
            found = next(
                (e for e in current if isinstance(e, OutParent) and e.key == node.key), None
            )
            if found is None:
                found = OutParent(node.key, node.entity, node.polymorphic, self.column(node.id_sql))
                current.append(found)
            current = found.entries
        return current

    def _aggregate_select(
        self,
        query: nodes.Query,
        entries: list[OutEntry],
        csv_columns: list[tuple[str, int, FieldDef | None]],
    ) -> list[str]:
        grouped: dict[str, Resolved] = {}
        for operand in query.group_by:
            if isinstance(operand, nodes.Call):
                raise self.malformed(operand.pos, f"unexpected token: '{operand.func}'")
            resolved = self.resolve(operand)
            kind = resolved.field.type
            if kind in _UNGROUPABLE or kind in COMPOUND_TYPES or is_long_text(resolved.field):
                raise self.error(
                    "INVALID_FIELD",
                    operand.pos,
                    f"field '{resolved.field.name}' can not be grouped in a query call",
                )
            grouped[resolved.dotted.lower()] = resolved
        expr_number = 0
        for item in query.select:
            if isinstance(item, nodes.SubqueryItem):
                raise self.malformed(item.pos, "unexpected token: 'SELECT'")
            if isinstance(item, nodes.Path):
                resolved = self.resolve(item)
                if resolved.dotted.lower() not in grouped:
                    raise self.malformed(
                        item.pos, f"Field must be grouped or aggregated: {item.text}"
                    )
                key, index, definition = (
                    resolved.field.name,
                    self.column(resolved.sql),
                    resolved.field,
                )
            else:
                sql, definition = self.aggregate(item.call)
                index = self.column(sql)
                if item.alias is None:
                    key = f"expr{expr_number}"
                    expr_number += 1
                else:
                    key = item.alias
            entries.append(OutValue(key, index, definition))
            csv_columns.append((key, index, definition))
        return [r.sql for r in grouped.values()]

    def aggregate(self, call: nodes.Call) -> tuple[str, FieldDef]:
        """SQL and result type of an aggregate function call."""
        func = call.func.upper()
        if func not in AGGREGATE_FUNCS:
            raise self.malformed(call.pos, f"Unknown function: {call.func}")
        if call.arg is None:
            if func != "COUNT":
                raise self.malformed(call.pos, "unexpected token: ')'")
            return "COUNT(*)", _INT
        resolved = self.resolve(call.arg)
        definition = resolved.field
        kind = definition.type
        unsupported = (
            kind in COMPOUND_TYPES
            or (func in ("SUM", "AVG") and kind not in NUMBER_TYPES)
            or (
                func in ("MIN", "MAX")
                and (kind in ("boolean", "multipicklist") or is_long_text(definition))
            )
        )
        if unsupported:
            raise self.error(
                "INVALID_FIELD",
                call.arg.pos,
                f"field {definition.name} does not support aggregate operator {func}",
            )
        if func == "COUNT":
            return f"COUNT({resolved.sql})", _INT
        if func == "COUNT_DISTINCT":
            return f"COUNT(DISTINCT {resolved.sql})", _INT
        if func == "AVG":
            return f"AVG({resolved.sql})", _DOUBLE
        return f"{func}({resolved.sql})", definition

    def _where(self, query: nodes.Query, include_deleted: bool) -> Frag:
        parts: list[Frag] = []
        if self.link is not None:
            # Bound per parent row at run time: always the statement's first parameter.
            parts.append(Frag(f"{self.root.aliases[0]}.{quote(self.link)} = ?"))
        if not include_deleted:
            parts.append(Frag(f'{self.root.aliases[0]}."IsDeleted" = 0'))
        if query.where is not None:
            parts.append(Frag("(") + self.conditions.compile(query.where) + Frag(")"))
        if not parts:
            return Frag("")
        return Frag(" WHERE ") + join_frags(" AND ", parts)

    def _order_by(self, query: nodes.Query, aggregate: bool) -> Frag:
        terms: list[str] = []
        for item in query.order_by:
            operand = item.operand
            if isinstance(operand, nodes.Call):
                if not aggregate:
                    raise self.malformed(operand.pos, f"unexpected token: '{operand.func}'")
                sql, _ = self.aggregate(operand)
            else:
                resolved = self.resolve(operand)
                definition = resolved.field
                if (
                    definition.type in COMPOUND_TYPES
                    or definition.type == "multipicklist"
                    or is_long_text(definition)
                ):
                    raise self.error(
                        "INVALID_FIELD",
                        operand.pos,
                        f"field '{definition.name}' can not be sorted in a query call",
                    )
                sql = resolved.sql
            # Salesforce puts nulls first in both directions unless told otherwise;
            # SQLite's defaults are nulls-first ascending and nulls-last descending.
            if item.descending:
                sql += " DESC" if item.nulls_last else " DESC NULLS FIRST"
            elif item.nulls_last:
                sql += " NULLS LAST"
            terms.append(sql)
        return Frag(" ORDER BY " + ", ".join(terms)) if terms else Frag("")

    def _limit(self, query: nodes.Query) -> Frag:
        limit = self._whole_number(query.limit)
        offset = self._whole_number(query.offset)
        if offset is not None and offset > MAX_OFFSET:
            raise QueryError(
                "NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}"
            )
        if limit is None and offset is None:
            return Frag("")
        return Frag(" LIMIT ? OFFSET ?", (-1 if limit is None else limit, offset or 0))

    def _whole_number(self, literal: nodes.Literal | None) -> int | None:
        if literal is None:
            return None
        if not literal.text.isdigit():
            raise self.malformed(literal.pos, f"unexpected token: '{literal.text}'")
        return _BIG if len(literal.text) > 18 else int(literal.text)

    def _count_sql(self, table: str, where: Frag, limit: Frag) -> Frag:
        joins = self.joins(filter_only=True)
        if limit.sql:
            inner = Frag(f"SELECT 1 FROM {table}{joins}") + where + limit
            return Frag("SELECT COUNT(*) FROM (") + inner + Frag(")")
        return Frag(f"SELECT COUNT(*) FROM {table}{joins}") + where

    def _first_pos(self, condition: Any) -> nodes.Pos:
        while isinstance(condition, nodes.And | nodes.Or | nodes.Not):
            condition = (
                condition.items[0] if not isinstance(condition, nodes.Not) else (condition.item)
            )
        left = getattr(condition, "left", None)
        return getattr(left, "pos", (1, 1))

    # -- semi-joins -----------------------------------------------------------------------

    def semi_join(self, query: nodes.Query) -> tuple[Frag, FieldDef]:
        """`SELECT x FROM Child WHERE ...` as an SQL sub-select of one id column."""
        obj = self.resolve_object(query.object_name, query.object_pos)
        self.root = Rel("", [obj], [self._alias()], None, "", 0)
        items = query.select
        if (
            len(items) != 1
            or not isinstance(items[0], nodes.Path)
            or query.group_by
            or query.having is not None
        ):
            raise self.malformed(
                query.object_pos, "semi join sub-selects must select exactly one Id field"
            )
        resolved = self.resolve(items[0])
        if resolved.field.type not in ("id", "reference"):
            raise self.error(
                "INVALID_FIELD",
                items[0].pos,
                "semi join sub-selects can only select Id or reference fields",
            )
        where = self._where(query, include_deleted=False)
        limit = self._limit(query)
        table = f"{quote(obj.name)} AS {self.root.aliases[0]}"
        frag = (
            Frag(f"SELECT {resolved.sql} FROM {table}{self.joins(filter_only=False)}")
            + where
            + limit
        )
        return frag, resolved.field
