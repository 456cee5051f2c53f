"""Stored rows as REST JSON records: `attributes`, every visible field (null when empty),
and compound address objects assembled from their components."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .errors import SalesforceError
from .schema import FieldDef, Profile, SObjectDef
from .values import json_converter

Row = dict[str, Any]
# One output field: (key, value from the stored row).
Column = tuple[str, Callable[[Row], Any]]


def _plain(definition: FieldDef) -> Callable[[Row], Any]:
    convert = json_converter(definition)
    name = definition.name
    return lambda row: convert(row.get(name))


def _compound(obj: SObjectDef, definition: FieldDef) -> Callable[[Row], Any]:
    parts: list[tuple[str, str, Callable[[Any], Any]]] = []
    for key, component in sorted(definition.compound_components.items()):
        component_def = obj.field(component)
        if component_def is not None:
            parts.append((key, component_def.name, json_converter(component_def)))

    def assemble(row: Row) -> dict[str, Any] | None:
        values = {key: convert(row.get(name)) for key, name, convert in parts}
        # The platform answers null, not an object of nulls, for an empty address.
        return values if any(v is not None for v in values.values()) else None

    return assemble


def columns(obj: SObjectDef, profile: Profile, fields: Sequence[str] | None = None) -> list[Column]:
    """The output columns for all visible fields, or for `fields` (INVALID_FIELD if unknown)."""
    if fields is None:
        chosen = [d for d in obj.fields.values() if profile.can_see(obj.name, d.name)]
    else:
        chosen = []
        for name in dict.fromkeys(n.strip() for n in fields if n.strip()):
            definition = obj.field(name)
            if definition is None or not profile.can_see(obj.name, definition.name):
                raise SalesforceError(
                    "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}"
                )
            chosen.append(definition)
    return [(d.name, _plain(d) if d.stored else _compound(obj, d)) for d in chosen]


def cached_columns(cache: dict[str, Any], obj: SObjectDef, profile: Profile) -> list[Column]:
    """`columns` for all fields, kept per (object, profile) in an org's extensions."""
    store: dict[tuple[Any, ...], list[Column]] = cache.setdefault("serialize.columns", {})
    key = (id(obj), obj.name, len(obj.fields), profile)
    found = store.get(key)
    if found is None:
        found = columns(obj, profile)
        store[key] = found
    return found


def record(obj: SObjectDef, row: Row, base: str, cols: list[Column]) -> dict[str, Any]:
    """One REST record; `base` is the request's version root, e.g. /services/data/v62.0."""
    body: dict[str, Any] = {
        "attributes": {"type": obj.name, "url": f"{base}/sobjects/{obj.name}/{row['Id']}"}
    }
    for key, value_of in cols:
        body[key] = value_of(row)
    return body
