"""Raw Salesforce rows (REST JSON or Bulk CSV text) decoded into typed `SfRecord`s.

Bad data from Salesforce (a broken date, text in a number field) must never stop a cycle: the
offending field is left out of the record and reported in `problems`, the rest is stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..db.fields import _EMAIL, BadValue, FieldType, coerce
from .objects import ReadPlan

_BOOLEAN_TYPES = {"boolean"}


@dataclass(frozen=True)
class SfRecord:
    object: str
    id: str
    modstamp: dt.datetime
    deleted: bool
    sync: Mapping[str, Any]  # bookkeeping fields (OwnerId, AccountId, IsConverted, ...)
    values: Mapping[str, Any]  # data fields by API name, coerced to their local type
    problems: Mapping[str, str] = field(default_factory=dict)  # API name -> what was wrong


def parse_modstamp(value: Any) -> dt.datetime:
    """SystemModstamp as REST ('...000+0000') or Bulk ('...000Z') writes it, in UTC."""
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def decode(plan: ReadPlan, raw: Mapping[str, Any]) -> SfRecord:
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for data in plan.data:
        if data.api_name not in raw:
            continue
        try:
            values[data.api_name] = _local_value(data.type, raw[data.api_name])
        except BadValue as exc:
            problems[data.api_name] = str(exc)
    sync = {
        name: _sync_value(plan.sf_types.get(name, ""), raw.get(name))
        for name in plan.select
        if name not in values and name not in problems and name in raw
    }
    return SfRecord(
        object=plan.name,
        id=str(raw["Id"]),
        modstamp=parse_modstamp(raw["SystemModstamp"]),
        deleted=bool(sync.get("IsDeleted")),
        sync=sync,
        values=values,
        problems=problems,
    )


def _local_value(type_: FieldType, value: Any) -> Any:
    if isinstance(value, str) and value == "":
        return None  # Bulk writes an empty cell for null
    if type_ is FieldType.INTEGER and isinstance(value, str) and value.endswith(".0"):
        value = value[:-2]  # Bulk prints whole numbers of double-typed fields as 12.0
    return coerce(type_, value)


def _sync_value(sf_type: str, value: Any) -> Any:
    if value is None or value == "":
        return None
    if sf_type in _BOOLEAN_TYPES and isinstance(value, str):
        return value.lower() == "true"  # Bulk CSV text
    return value


# -- Bulk CSV rows, decoded by column position --------------------------------------------------

_TEXT_TYPES = frozenset({FieldType.STRING, FieldType.TEXT})
Convert = Callable[[str], Any]  # a non-empty CSV cell -> its local value (may raise BadValue)


class RowDecoder:
    """Decodes Bulk CSV rows (lists of cells, "" for null) of one query into `SfRecord`s, the
    same records `decode` makes of the same rows as dictionaries.

    What to do with each column is worked out once per query from the plan and the CSV header,
    not once per cell: text cells (most of a lead) are taken as they are."""

    def __init__(self, plan: ReadPlan, header: Sequence[str]) -> None:
        self.plan = plan
        self.header = tuple(header)
        wanted = set(plan.select)
        position = {name: i for i, name in enumerate(header)}
        data = [
            (position[f.api_name], f.api_name, f.type) for f in plan.data if f.api_name in position
        ]
        self.text = [(at, name) for at, name, type_ in data if type_ in _TEXT_TYPES]
        self.typed = [  # (position, API name, converter of a non-empty cell)
            (at, name, _converter(type_)) for at, name, type_ in data if type_ not in _TEXT_TYPES
        ]
        data_names = {name for _, name, _ in data}
        sync = [
            (i, name) for i, name in enumerate(header) if name in wanted and name not in data_names
        ]
        self.flags = [(i, n) for i, n in sync if plan.sf_types.get(n, "") in _BOOLEAN_TYPES]
        self.sync = [(i, n) for i, n in sync if plan.sf_types.get(n, "") not in _BOOLEAN_TYPES]
        self.id_at, self.stamp_at = position["Id"], position["SystemModstamp"]

    def decode(self, row: Sequence[str]) -> SfRecord:
        values: dict[str, Any] = {name: row[at] or None for at, name in self.text}
        problems: dict[str, str] = {}
        for at, name, convert in self.typed:
            cell = row[at]
            if not cell:
                values[name] = None
                continue
            try:
                values[name] = convert(cell)
            except BadValue as exc:
                problems[name] = str(exc)
        sync: dict[str, Any] = {name: row[at] or None for at, name in self.sync}
        for at, name in self.flags:
            cell = row[at]
            sync[name] = cell.lower() == "true" if cell else None
        return SfRecord(
            object=self.plan.name,
            id=row[self.id_at],
            modstamp=parse_modstamp(row[self.stamp_at]),
            deleted=bool(sync.get("IsDeleted")),
            sync=sync,
            values=values,
            problems=problems,
        )


def _converter(type_: FieldType) -> Convert:
    """A converter for non-empty cells of `type_` (not text: coerce() returns text unchanged):
    the common, well-formed cell is converted directly; anything else goes through `coerce`
    (which accepts or explains it)."""
    if type_ is FieldType.BOOLEAN:
        return _boolean_cell
    if type_ is FieldType.FLOAT:
        return lambda cell: _parsed(float, type_, cell)
    if type_ is FieldType.INTEGER:
        return lambda cell: _parsed(int, type_, cell)
    if type_ is FieldType.EMAIL:
        return _email_cell
    return lambda cell: _local_value(type_, cell)


_BULK_BOOLEANS = {"true": True, "false": False}


def _boolean_cell(cell: str) -> Any:
    found = _BULK_BOOLEANS.get(cell)
    return found if found is not None else _local_value(FieldType.BOOLEAN, cell)


def _email_cell(cell: str) -> Any:
    if _EMAIL.match(cell) and not cell[-1].isspace():  # coerce()'s own check
        return cell  # what coerce() returns for a well-formed address
    return _local_value(FieldType.EMAIL, cell)


def _parsed(parse: Callable[[str], Any], type_: FieldType, cell: str) -> Any:
    try:
        return parse(cell)
    except ValueError:
        return _local_value(type_, cell)  # "12.0" for an integer, or a BadValue
