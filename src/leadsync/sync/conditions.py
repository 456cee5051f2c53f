"""Simple person conditions (field, operator, value), for the push's auto-create rule:

    PushSettings(auto_create=(Condition("leadScore", ">=", 50), Condition("email", "is not empty")))

All conditions must hold. Values compare after the person JSON's own types (a number field
compares as a number); a missing or empty field matches only "is empty" and "!=".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

OPERATORS = ("=", "!=", ">", ">=", "<", "<=", "contains", "is empty", "is not empty")


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any = None

    def __post_init__(self) -> None:
        if self.op not in OPERATORS:
            raise ConfigError(
                f"condition on {self.field!r}: unknown operator {self.op!r} "
                f"(one of {', '.join(OPERATORS)})"
            )

    def matches(self, person: Mapping[str, Any]) -> bool:
        value = person.get(self.field)
        empty = value is None or (isinstance(value, str) and not value.strip())
        if self.op == "is empty":
            return empty
        if self.op == "is not empty":
            return not empty
        if self.op == "!=":
            return empty or not _equal(value, self.value)
        if empty:
            return False
        if self.op == "=":
            return _equal(value, self.value)
        if self.op == "contains":
            return str(self.value).lower() in str(value).lower()
        try:
            return _compare(self.op, value, self.value)
        except TypeError:
            return False


def matches_all(conditions: Sequence[Condition], person: Mapping[str, Any]) -> bool:
    return bool(conditions) and all(c.matches(person) for c in conditions)


def _equal(value: Any, wanted: Any) -> bool:
    if isinstance(value, str) and isinstance(wanted, str):
        return value.strip().lower() == wanted.strip().lower()
    return bool(value == wanted)


def _compare(op: str, value: Any, wanted: Any) -> bool:
    if op == ">":
        return bool(value > wanted)
    if op == ">=":
        return bool(value >= wanted)
    if op == "<":
        return bool(value < wanted)
    return bool(value <= wanted)
