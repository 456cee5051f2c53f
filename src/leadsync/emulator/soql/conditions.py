"""WHERE and HAVING conditions -> SQL.

Every predicate is compiled to a two-valued SQL expression (never NULL), so `NOT` means
what SOQL means: `NOT Email = 'x'` and `Email != 'x'` both keep rows whose Email is null.
Values are always bound parameters; typing follows Salesforce's rules (datetimes unquoted,
strings quoted, ids normalized from 15 or 18 characters).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import QueryError
from ..ids import normalize_id
from ..schema import COMPOUND_TYPES, ID_TYPES, NUMBER_TYPES, FieldDef
from . import literals, nodes
from .literals import LiteralError
from .plan import Frag, join_frags

if TYPE_CHECKING:
    from .compiler import Compiler

MAX_CONDITION_DEPTH = 64
_LONG_TEXT = 255


def is_long_text(definition: FieldDef) -> bool:
    """Long text areas cannot be filtered, grouped or sorted on Salesforce."""
    return definition.type == "textarea" and definition.length > _LONG_TEXT


@dataclass(frozen=True)
class Point:
    value: Any


@dataclass(frozen=True)
class Span:
    """A date token's range [start, end)."""

    start: Any
    end: Any


Operand = Point | Span | None


class ConditionCompiler:
    def __init__(self, compiler: Compiler) -> None:
        self.compiler = compiler

    def compile(self, condition: nodes.Condition, *, having: bool = False) -> Frag:
        return self._condition(condition, having, 0)

    def _condition(self, condition: nodes.Condition, having: bool, depth: int) -> Frag:
        if depth > MAX_CONDITION_DEPTH:
            raise QueryError("MALFORMED_QUERY", "The WHERE clause is nested too deeply.")
        if isinstance(condition, nodes.And | nodes.Or):
            joiner = " AND " if isinstance(condition, nodes.And) else " OR "
            parts = [self._condition(c, having, depth + 1) for c in condition.items]
            return Frag("(") + join_frags(joiner, parts) + Frag(")")
        if isinstance(condition, nodes.Not):
            return Frag("NOT (") + self._condition(condition.item, having, depth + 1) + Frag(")")
        if isinstance(condition, nodes.Compare):
            return self._compare(condition, having)
        if isinstance(condition, nodes.Like):
            return self._like(condition, having)
        if isinstance(condition, nodes.InList):
            return self._in_list(condition, having)
        if isinstance(condition, nodes.Includes):
            return self._includes(condition, having)
        return self._semi_join(condition, having)

    # -- operands -----------------------------------------------------------------------

    def _operand(self, operand: nodes.Operand, having: bool) -> tuple[str, FieldDef]:
        compiler = self.compiler
        if isinstance(operand, nodes.Call):
            if not having:
                raise compiler.malformed(
                    operand.pos, "Aggregate functions are not supported in the WHERE clause"
                )
            return compiler.aggregate(operand)
        resolved = compiler.resolve(operand, for_filter=True)
        definition = resolved.field
        if definition.type in COMPOUND_TYPES or is_long_text(definition):
            raise compiler.error(
                "INVALID_FIELD",
                operand.pos,
                f"field '{definition.name}' can not be filtered in a query call",
            )
        return resolved.sql, definition

    def _value(self, definition: FieldDef, literal: nodes.Literal) -> Operand:
        try:
            return self._convert(definition, literal)
        except LiteralError as exc:
            raise self.compiler.malformed(literal.pos, str(exc)) from None

    def _convert(self, definition: FieldDef, literal: nodes.Literal) -> Operand:
        kind = definition.type
        word = literal.text.lower() if literal.kind == "name" and literal.arg is None else ""
        if word == "null":
            return None
        if kind in ID_TYPES:
            if literal.kind != "string":
                raise self._type_error(definition, literal, "id", quoted=True)
            text, _ = literals.decode_string(literal.text)
            normalized = normalize_id(text)
            if normalized is None:
                raise QueryError("INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {text}")
            return Point(normalized)
        if kind == "boolean":
            if word in ("true", "false"):
                return Point(1 if word == "true" else 0)
            raise self._type_error(definition, literal, "boolean", quoted=False)
        if kind in NUMBER_TYPES:
            if literal.kind == "number":
                return Point(_number(literal.text))
            raise self._type_error(definition, literal, "double", quoted=False)
        if kind == "date":
            if literal.kind == "date":
                return Point(literals.parse_date_literal(literal.text))
            if literal.kind == "name" and literals.is_date_token(literal.text):
                start, end = literals.date_token_range(
                    literal.text, literal.arg, self.compiler.today
                )
                return Span(start.isoformat(), end.isoformat())
            raise self._type_error(definition, literal, "date", quoted=False)
        if kind == "datetime":
            if literal.kind == "datetime":
                return Point(literals.parse_datetime_literal(literal.text))
            if literal.kind == "name" and literals.is_date_token(literal.text):
                start, end = literals.date_token_range(
                    literal.text, literal.arg, self.compiler.today
                )
                return Span(literals.day_start_epoch(start), literals.day_start_epoch(end))
            raise self._type_error(definition, literal, "dateTime", quoted=False)
        if literal.kind == "string":
            return Point(literals.decode_string(literal.text)[0])
        raise self._type_error(definition, literal, "string", quoted=True)

    def _type_error(
        self, definition: FieldDef, literal: nodes.Literal, type_name: str, *, quoted: bool
    ) -> QueryError:
        should = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
        return self.compiler.error(
            "INVALID_FIELD",
            literal.pos,
            f"value of filter criterion for field '{definition.name}' must be of type "
            f"{type_name} and {should}",
        )

    # -- predicates -----------------------------------------------------------------------

    def _compare(self, node: nodes.Compare, having: bool) -> Frag:
        sql, definition = self._operand(node.left, having)
        value = self._value(definition, node.value)
        op = "!=" if node.op == "<>" else node.op
        if value is None:
            if op == "=":
                return Frag(f"{sql} IS NULL")
            if op == "!=":
                return Frag(f"{sql} IS NOT NULL")
            # Ordering against null matches nothing on Salesforce.
            return Frag("0")
        if isinstance(value, Span):
            return _span_compare(sql, op, value)
        if op == "!=":
            return Frag(f"({sql} IS NULL OR {sql} != ?)", (value.value,))
        return Frag(f"({sql} {op} ? AND {sql} IS NOT NULL)", (value.value,))

    def _like(self, node: nodes.Like, having: bool) -> Frag:
        sql, definition = self._operand(node.left, having)
        if not (definition.is_text or definition.type in ID_TYPES):
            raise self.compiler.error(
                "INVALID_FIELD",
                node.value.pos,
                f"invalid operator on field '{definition.name}': LIKE",
            )
        if node.value.kind != "string":
            raise self._type_error(definition, node.value, "string", quoted=True)
        try:
            _, pattern = literals.decode_string(node.value.text)
        except LiteralError as exc:
            raise self.compiler.malformed(node.value.pos, str(exc)) from None
        return Frag(f"({sql} LIKE ? ESCAPE '\\' AND {sql} IS NOT NULL)", (pattern,))

    def _in_list(self, node: nodes.InList, having: bool) -> Frag:
        sql, definition = self._operand(node.left, having)
        values = [self._value(definition, v) for v in node.values]
        points = [v.value for v in values if isinstance(v, Point)]
        spans = [v for v in values if isinstance(v, Span)]
        alternatives: list[Frag] = []
        if points:
            marks = ", ".join("?" for _ in points)
            alternatives.append(Frag(f"{sql} IN ({marks})", tuple(points)))
        alternatives.extend(_span_compare(sql, "=", span) for span in spans)
        parts: list[Frag] = []
        if alternatives:
            parts.append(
                Frag("((") + join_frags(" OR ", alternatives) + Frag(f") AND {sql} IS NOT NULL)")
            )
        if any(v is None for v in values):
            parts.append(Frag(f"{sql} IS NULL"))
        matched = Frag("(") + join_frags(" OR ", parts) + Frag(")")
        return Frag("NOT ") + matched if node.negated else matched

    def _includes(self, node: nodes.Includes, having: bool) -> Frag:
        sql, definition = self._operand(node.left, having)
        if definition.type != "multipicklist":
            raise self.compiler.error(
                "INVALID_FIELD",
                node.values[0].pos,
                "includes or excludes operator only valid on multipicklist field",
            )
        alternatives: list[Frag] = []
        for literal in node.values:
            if literal.kind != "string":
                raise self._type_error(definition, literal, "string", quoted=True)
            try:
                text, _ = literals.decode_string(literal.text)
            except LiteralError as exc:
                raise self.compiler.malformed(literal.pos, str(exc)) from None
            # 'a;b' asks for both values; the alternatives in the list are ORed.
            terms = [t.strip() for t in text.split(";") if t.strip()]
            checks = [
                Frag(
                    f"(';' || {sql} || ';') LIKE ? ESCAPE '\\'",
                    (f"%;{literals.like_escape(term)};%",),
                )
                for term in terms
            ]
            if checks:
                alternatives.append(Frag("(") + join_frags(" AND ", checks) + Frag(")"))
        if not alternatives:
            alternatives.append(Frag("0"))
        matched = Frag(f"({sql} IS NOT NULL AND (") + join_frags(" OR ", alternatives) + Frag("))")
        return Frag("NOT ") + matched if node.exclude else matched

    def _semi_join(self, node: nodes.SemiJoin, having: bool) -> Frag:
        from .compiler import Compiler

        compiler = self.compiler
        sql, definition = self._operand(node.left, having)
        if definition.type not in ID_TYPES:
            raise compiler.error(
                "INVALID_FIELD",
                getattr(node.left, "pos", (1, 1)),
                "semi join sub-selects are only allowed on Id or reference fields",
            )
        inner = Compiler(
            compiler.schema,
            compiler.profile,
            compiler.soql,
            compiler.today,
            prefix=f"{compiler.new_alias()}_",
        )
        select, _ = inner.semi_join(node.query)
        matched = Frag(f"({sql} IS NOT NULL AND {sql} IN (") + select + Frag("))")
        return Frag("NOT ") + matched if node.negated else matched


def _span_compare(sql: str, op: str, span: Span) -> Frag:
    if op == "=":
        return Frag(f"({sql} >= ? AND {sql} < ?)", (span.start, span.end))
    if op == "!=":
        return Frag(f"({sql} IS NULL OR {sql} < ? OR {sql} >= ?)", (span.start, span.end))
    bound, operator = {
        "<": (span.start, "<"),
        "<=": (span.end, "<"),
        ">": (span.end, ">="),
        ">=": (span.start, ">="),
    }[op]
    return Frag(f"({sql} {operator} ? AND {sql} IS NOT NULL)", (bound,))


def _number(text: str) -> int | float:
    digits = text.lstrip("+-")
    # SQLite integers are 64-bit; longer literals compare as reals (inf past float range).
    if "." in text or len(digits) > 18:
        return float(text)
    return int(text)
