"""SOQL text -> the typed tree of `nodes.py`, with Salesforce-shaped syntax errors.

The lark grammar is LALR and the tree is built by callbacks during the parse (no lark tree,
no recursion over it), so even hostile input costs linear time and bounded stack.
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Any

import lark
from lark import Token

from ..errors import QueryError
from . import nodes
from .nodes import Pos

MAX_QUERY_LENGTH = 100_000
# Deeper nesting than this is not a real query; refusing it keeps recursion bounded.
MAX_NESTING = 64
_WINDOW = 120


def error_at(code: str, soql: str, pos: Pos, detail: str) -> QueryError:
    """An error whose message shows the statement, a caret under `pos`, and the position
    ("ERROR at Row:1:Column:12"), as Salesforce prints them."""
    line_no, column = pos
    lines = soql.splitlines() or [""]
    line = lines[min(max(line_no, 1), len(lines)) - 1]
    start = 0
    if len(line) > _WINDOW:
        start = max(0, min(column - 1 - _WINDOW // 2, len(line) - _WINDOW))
        line = line[start : start + _WINDOW]
    caret = " " * max(column - 1 - start, 0) + "^"
    message = f"\n{line}\n{caret}\nERROR at Row:{line_no}:Column:{column}\n{detail}"
    return QueryError(code, message)


def _pos(token: Token) -> Pos:
    return (token.line or 1, token.column or 1)


class _Build(lark.Transformer[Token, Any]):
    """Callbacks that turn each reduced rule straight into a node."""

    def start(self, children: list[Any]) -> nodes.Query:
        query: nodes.Query = children[0]
        return query

    def query(self, children: list[Any]) -> nodes.Query:
        select, name, *clauses = children
        parts: dict[str, Any] = {}
        for kind, value in clauses:
            parts[kind] = value
        return nodes.Query(
            select=tuple(select),
            object_name=str(name),
            object_pos=_pos(name),
            where=parts.get("where"),
            group_by=tuple(parts.get("group", ())),
            having=parts.get("having"),
            order_by=tuple(parts.get("order", ())),
            limit=parts.get("limit"),
            offset=parts.get("offset"),
        )

    def select_list(self, children: list[Any]) -> list[Any]:
        return children

    def aggregate_item(self, children: list[Any]) -> nodes.AggregateItem:
        call, alias = children
        return nodes.AggregateItem(call, None if alias is None else str(alias))

    def subquery_item(self, children: list[Any]) -> nodes.SubqueryItem:
        query: nodes.Query = children[0]
        return nodes.SubqueryItem(query, query.object_pos)

    def call(self, children: list[Any]) -> nodes.Call:
        name, arg = children
        return nodes.Call(str(name), arg, _pos(name))

    def path(self, children: list[Token]) -> nodes.Path:
        return nodes.Path(tuple(str(c) for c in children), _pos(children[0]))

    def where(self, children: list[Any]) -> tuple[str, Any]:
        return ("where", children[0])

    def having(self, children: list[Any]) -> tuple[str, Any]:
        return ("having", children[0])

    def group(self, children: list[Any]) -> tuple[str, Any]:
        return ("group", children)

    def order(self, children: list[Any]) -> tuple[str, Any]:
        return ("order", children)

    def limit(self, children: list[Token]) -> tuple[str, Any]:
        return ("limit", nodes.Literal("number", str(children[0]), _pos(children[0])))

    def offset(self, children: list[Token]) -> tuple[str, Any]:
        return ("offset", nodes.Literal("number", str(children[0]), _pos(children[0])))

    def order_item(self, children: list[Any]) -> nodes.OrderItem:
        operand, direction, nulls = children
        descending = direction is not None and direction.type == "DESC"
        return nodes.OrderItem(operand, descending, nulls is not None and nulls.type == "LAST")

    def and_chain(self, children: list[Any]) -> nodes.And:
        return nodes.And(tuple(children))

    def or_chain(self, children: list[Any]) -> nodes.Or:
        return nodes.Or(tuple(children))

    def negation(self, children: list[Any]) -> nodes.Not:
        return nodes.Not(children[0])

    def compare(self, children: list[Any]) -> nodes.Compare:
        left, op, value = children
        return nodes.Compare(left, str(op), value)

    def like(self, children: list[Any]) -> nodes.Like:
        return nodes.Like(children[0], children[1])

    def in_list(self, children: list[Any]) -> nodes.InList | nodes.SemiJoin:
        return self._in(children, negated=False)

    def not_in_list(self, children: list[Any]) -> nodes.InList | nodes.SemiJoin:
        return self._in(children, negated=True)

    @staticmethod
    def _in(children: list[Any], *, negated: bool) -> nodes.InList | nodes.SemiJoin:
        left, body = children
        if isinstance(body, nodes.Query):
            return nodes.SemiJoin(left, body, negated)
        return nodes.InList(left, tuple(body), negated)

    def includes(self, children: list[Any]) -> nodes.Includes:
        return nodes.Includes(children[0], tuple(children[2]), exclude=False)

    def excludes(self, children: list[Any]) -> nodes.Includes:
        return nodes.Includes(children[0], tuple(children[2]), exclude=True)

    def values(self, children: list[Any]) -> list[Any]:
        return children

    def value(self, children: list[Any]) -> nodes.Literal:
        token: Token = children[0]
        arg = children[1] if len(children) > 1 else None
        kind = {"STRING": "string", "DATETIME": "datetime", "DATE": "date", "NUMBER": "number"}.get(
            token.type, "name"
        )
        return nodes.Literal(kind, str(token), _pos(token), None if arg is None else str(arg))


_GRAMMAR = (FilePath(__file__).with_name("grammar.lark")).read_text()
_PARSER = lark.Lark(
    _GRAMMAR, parser="lalr", lexer="contextual", transformer=_Build(), maybe_placeholders=True
)


def parse(soql: str) -> nodes.Query:
    """Parse one statement or raise MALFORMED_QUERY shaped like Salesforce's."""
    if len(soql) > MAX_QUERY_LENGTH:
        raise QueryError(
            "MALFORMED_QUERY", "SOQL statements cannot be longer than 100,000 characters."
        )
    _check_nesting(soql)
    try:
        query: Any = _PARSER.parse(soql)
    except lark.exceptions.UnexpectedCharacters as exc:
        where = exc.pos_in_stream or 0
        char = soql[where] if where < len(soql) else ""
        raise error_at(
            "MALFORMED_QUERY",
            soql,
            (exc.line, exc.column),
            f"line {exc.line}:{exc.column - 1} no viable alternative at character '{char}'",
        ) from None
    except lark.exceptions.UnexpectedToken as exc:
        token = exc.token
        if token.type == "$END":
            raise _unexpected_end(soql) from None
        raise error_at(
            "MALFORMED_QUERY", soql, _pos(token), f"unexpected token: '{token}'"
        ) from None
    except lark.exceptions.UnexpectedEOF:
        raise _unexpected_end(soql) from None
    if not isinstance(query, nodes.Query):
        raise _unexpected_end(soql)
    return query


def _unexpected_end(soql: str) -> QueryError:
    lines = soql.rstrip().splitlines() or [""]
    return error_at(
        "MALFORMED_QUERY", soql, (len(lines), len(lines[-1]) + 1), "unexpected token: '<EOF>'"
    )


def _check_nesting(soql: str) -> None:
    depth = 0
    in_string = False
    escaped = False
    for index, char in enumerate(soql):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == "'":
                in_string = False
        elif char == "'":
            in_string = True
        elif char == "(":
            depth += 1
            if depth > MAX_NESTING:
                line = soql.count("\n", 0, index) + 1
                column = index - (soql.rfind("\n", 0, index) + 1) + 1
                raise error_at("MALFORMED_QUERY", soql, (line, column), "unexpected token: '('")
        elif char == ")":
            depth -= 1
