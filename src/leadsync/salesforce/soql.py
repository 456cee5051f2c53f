"""Building SOQL safely: every value that reaches a statement goes through a literal function.

Identifiers (object and field names) come from describe, never from users, and are checked
against a strict pattern anyway, so a statement can only ever say what leadsync meant.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")
_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}
_LIKE_ESCAPES = {"%": "\\%", "_": "\\_"}


def identifier(name: str) -> str:
    """An object or field name (paths allowed), refused if it could be anything else."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a Salesforce API name: {name!r}")
    return name


def quote(value: str) -> str:
    """A single-quoted SOQL string literal."""
    return "'" + "".join(_ESCAPES.get(char, char) for char in value) + "'"


def quote_like(value: str) -> str:
    """A LIKE pattern that matches `value` literally (its wildcards are escaped)."""
    escaped = "".join(_ESCAPES.get(char, char) for char in value)
    return "'" + "".join(_LIKE_ESCAPES.get(char, char) for char in escaped) + "'"


def literal(value: object) -> str:
    """Any Python value as a SOQL literal."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_literal(value)
    if isinstance(value, datetime):
        return datetime_literal(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return quote(value)
    raise TypeError(f"no SOQL literal for {type(value).__name__}")


def _float_literal(value: float) -> str:
    # repr() can give `inf`, `nan` or `1e+20`, none of which SOQL reads as a number.
    if not math.isfinite(value):
        raise ValueError(f"no SOQL literal for {value!r}")
    text = format(Decimal(repr(value)), "f")
    return text


def datetime_literal(moment: datetime) -> str:
    """An unquoted UTC datetime literal with whole seconds, as Salesforce stores them."""
    if moment.tzinfo is None:
        raise ValueError("datetime literals need a timezone")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def in_list(values: Iterable[object]) -> str:
    items = [literal(v) for v in values]
    if not items:
        raise ValueError("an IN list needs at least one value")
    return "(" + ", ".join(items) + ")"


def select(
    object_name: str,
    fields: Sequence[str],
    *,
    where: str | None = None,
    order_by: Sequence[str] = (),
    limit: int | None = None,
) -> str:
    """A SELECT statement. `where` must itself be built from this module's literal helpers."""
    parts = [
        "SELECT " + ", ".join(identifier(f) for f in fields),
        "FROM " + identifier(object_name),
    ]
    if where:
        parts.append("WHERE " + where)
    if order_by:
        parts.append("ORDER BY " + ", ".join(_order_term(term) for term in order_by))
    if limit is not None:
        parts.append(f"LIMIT {int(limit)}")
    return " ".join(parts)


def _order_term(term: str) -> str:
    name, _, direction = term.partition(" ")
    direction = direction.strip().upper()
    if direction not in ("", "ASC", "DESC"):
        raise ValueError(f"bad ORDER BY direction in {term!r}")
    return identifier(name) + (f" {direction}" if direction else "")
