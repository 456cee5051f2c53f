"""Raw Salesforce rows (REST JSON or Bulk CSV text) decoded into typed `SfRecord`s.

Bad data from Salesforce (a broken date, text in a number field) must never stop a cycle: the
offending field is left out of the record and reported in `problems`, the rest is stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..db.fields import BadValue, FieldType, coerce
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
