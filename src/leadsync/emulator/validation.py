"""Per-record checks for validated DML: field access, coercion, formats and org rules.

`writes.py` runs these in stages over a whole batch; everything here is pure Python on one
record (the batched SQL lookups live in `write_checks.py`). Messages follow Salesforce's
wording.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import SalesforceError
from .schema import TEXT_TYPES, FieldDef, Profile, SObjectDef, ValidationRule
from .values import EMAIL_PATTERN, to_db

# Types whose empty string Salesforce stores as null.
_BLANK_IS_NULL = TEXT_TYPES | {"time", "base64"}


@dataclass(frozen=True)
class FieldAccess:
    """A field as one profile may write it."""

    definition: FieldDef
    visible: bool
    createable: bool
    updateable: bool
    # Text needing no check beyond its length: the common case, kept off the slow path.
    plain_text: bool = False
    max_length: int = 0


class ObjectAccess:
    """An object's writable shape for one profile, computed once and cached on the org."""

    def __init__(self, obj: SObjectDef, profile: Profile) -> None:
        self.obj = obj
        self.fields: dict[str, FieldAccess] = {}
        for key, definition in obj.fields.items():
            visible = profile.can_see(obj.name, definition.name)
            editable = profile.can_edit(obj.name, definition.name)
            self.fields[key] = FieldAccess(
                definition,
                visible,
                visible and editable and definition.createable and not definition.calculated,
                visible and editable and definition.updateable and not definition.calculated,
                definition.is_text
                and definition.type != "email"
                and not definition.restricted_picklist,
                definition.length or 1 << 62,
            )
        stored = list(obj.stored_fields())
        self.column_names = [f.name for f in stored]
        self.template: dict[str, Any] = {f.name: _default(f) for f in stored}
        self.required_on_create = [f for f in stored if f.required_on_create]
        self.references = [f for f in stored if f.type == "reference" and f.reference_to]
        self.unique = [f for f in stored if f.unique and f.name != "Id"]
        name_field = obj.field("Name")
        self.calculated_name = name_field is not None and name_field.calculated
        # `Account` in {"Account": {"Ext__c": "x"}} names the AccountId field.
        self.relationships = {
            f.relationship_name.lower(): self.fields[key]
            for key, f in obj.fields.items()
            if f.type == "reference" and f.relationship_name
        }


def _default(definition: FieldDef) -> Any:
    if not definition.defaulted_on_create or definition.default_value is None:
        return None
    if definition.type == "boolean":
        return 1 if definition.default_value else 0
    return definition.default_value


def object_access(extensions: dict[str, Any], obj: SObjectDef, profile: Profile) -> ObjectAccess:
    """The cached `ObjectAccess`; a changed profile or schema gets a fresh entry."""
    cache: dict[tuple[Any, ...], ObjectAccess] = extensions.setdefault("writes.access", {})
    key = (id(obj), obj.name, len(obj.fields), profile)
    found = cache.get(key)
    if found is None:
        found = ObjectAccess(obj, profile)
        cache[key] = found
    return found


# -- errors ------------------------------------------------------------------------------------


def invalid_field(obj: SObjectDef, name: str) -> SalesforceError:
    return SalesforceError(
        "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}"
    )


def read_only(names: list[str]) -> SalesforceError:
    return SalesforceError(
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        f"Unable to create/update fields: {', '.join(names)}. Please check the security "
        "settings of this field and verify that it is read/write for your profile or "
        "permission set.",
        fields=names,
    )


def required_missing(names: list[str]) -> SalesforceError:
    return SalesforceError(
        "REQUIRED_FIELD_MISSING",
        f"Required fields are missing: [{', '.join(names)}]",
        fields=names,
    )


def malformed_reference(definition: FieldDef, value: str) -> SalesforceError:
    return SalesforceError(
        "MALFORMED_ID",
        f"{definition.label} ID: id value of incorrect type: {value}",
        fields=[definition.name],
    )


def entity_is_deleted() -> SalesforceError:
    return SalesforceError("ENTITY_IS_DELETED", "entity is deleted", 404)


def invalid_cross_reference(fields: list[str] | None = None) -> SalesforceError:
    return SalesforceError(
        "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", fields=fields
    )


def duplicate_value(field_name: str, other_id: str) -> SalesforceError:
    return SalesforceError(
        "DUPLICATE_VALUE",
        f"duplicate value found: {field_name} duplicates value on record with id: {other_id}",
    )


# -- coercion ----------------------------------------------------------------------------------


def coerce(
    access: ObjectAccess, values: Mapping[str, Any], *, creating: bool
) -> tuple[dict[str, Any], list[SalesforceError]]:
    """The caller's values in storage form by canonical name, or the record's errors.

    Unknown or hidden fields win over read-only ones, which win over bad values, as the
    platform reports the first failing stage only.
    """
    out: dict[str, Any] = {}
    unknown: list[SalesforceError] = []
    locked: list[str] = []
    bad: list[SalesforceError] = []
    fields = access.fields
    for key, raw in values.items():
        entry = fields.get(key.lower())
        by_parent_key = False
        if entry is None:
            if key == "attributes":
                continue
            if isinstance(raw, Mapping):
                entry = access.relationships.get(key.lower())
                by_parent_key = True
        if entry is None or not entry.visible:
            unknown.append(invalid_field(access.obj, key))
            continue
        definition = entry.definition
        if not (entry.createable if creating else entry.updateable):
            if definition.name == "Id":
                # Ids travel beside the values; an Id in an insert is the caller's mistake.
                if creating and raw not in (None, ""):
                    bad.append(_id_in_insert())
            else:
                locked.append(definition.name)
            continue
        if by_parent_key:
            ref = _external_ref(definition, raw)
            if isinstance(ref, SalesforceError):
                bad.append(ref)
            else:
                out[definition.name] = ref
            continue
        if entry.plain_text and type(raw) is str and raw and len(raw) <= entry.max_length:
            out[definition.name] = raw
            continue
        try:
            out[definition.name] = check_value(definition, to_db(definition, raw))
        except SalesforceError as error:
            bad.append(error)
    if unknown:
        return out, unknown
    if locked:
        return out, [read_only(locked)]
    return out, bad


def _id_in_insert() -> SalesforceError:
    return SalesforceError(
        "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", fields=["Id"]
    )


@dataclass(frozen=True)
class ExternalRef:
    """A lookup given by a parent's external id, resolved against the store in a batch."""

    definition: FieldDef
    target_type: str | None
    key_field: str
    value: Any


def _external_ref(definition: FieldDef, raw: Mapping[str, Any]) -> ExternalRef | SalesforceError:
    attributes = raw.get("attributes")
    target = attributes.get("type") if isinstance(attributes, Mapping) else None
    keys = [k for k in raw if k != "attributes"]
    if len(keys) != 1 or (target is not None and not isinstance(target, str)):
        return SalesforceError(
            "INVALID_FIELD",
            f"A relationship reference ({definition.relationship_name}) names exactly one "
            "external id field",
            fields=[definition.name],
        )
    return ExternalRef(definition, target, keys[0], raw[keys[0]])


def check_value(definition: FieldDef, value: Any) -> Any:
    """Length, email and restricted-picklist checks on a storage value; blank text is null."""
    if value is None or not isinstance(value, str):
        return value
    if value == "" and definition.type in _BLANK_IS_NULL:
        return None
    if definition.length and len(value) > definition.length and definition.is_text:
        raise SalesforceError(
            "STRING_TOO_LONG",
            f"{definition.label}: data value too large: {value} (max length={definition.length})",
            fields=[definition.name],
        )
    kind = definition.type
    if kind == "email" and not EMAIL_PATTERN.match(value):
        raise SalesforceError(
            "INVALID_EMAIL_ADDRESS",
            f"{definition.label}: invalid email address: {value}",
            fields=[definition.name],
        )
    if definition.restricted_picklist and kind in ("picklist", "multipicklist"):
        return _restricted(definition, value)
    return value


def _restricted(definition: FieldDef, value: str) -> str:
    canonical = {v.lower(): v for v in definition.picklist_values}
    parts = value.split(";") if definition.type == "multipicklist" else [value]
    chosen = []
    for part in parts:
        found = canonical.get(part.lower())
        if found is None:
            raise SalesforceError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{definition.label}: bad value for restricted picklist field: {part}",
                fields=[definition.name],
            )
        chosen.append(found)
    return ";".join(chosen)


def missing_required(fields: Iterable[FieldDef], row: Mapping[str, Any]) -> list[str]:
    return [f.name for f in fields if row.get(f.name) is None]


# -- derived fields ----------------------------------------------------------------------------


def derive(obj_name: str, row: dict[str, Any], changes: dict[str, Any]) -> None:
    """Fields the platform computes from others (written to both the row and the changes)."""
    if obj_name == "Opportunity":
        stage = row.get("StageName")
        closed = stage in ("Closed Won", "Closed Lost")
        won = stage == "Closed Won"
        _set(row, changes, "IsClosed", 1 if closed else 0)
        _set(row, changes, "IsWon", 1 if won else 0)
    elif obj_name == "Task":
        _set(row, changes, "IsClosed", 1 if row.get("Status") == "Completed" else 0)


def _set(row: dict[str, Any], changes: dict[str, Any], name: str, value: Any) -> None:
    row[name] = value
    changes[name] = value


# -- validation rules --------------------------------------------------------------------------


def failing_rules(rules: Iterable[ValidationRule], row: Mapping[str, Any]) -> list[SalesforceError]:
    return [
        SalesforceError("FIELD_CUSTOM_VALIDATION_EXCEPTION", rule.message, fields=[rule.field])
        for rule in rules
        if _fails(rule, row.get(rule.field))
    ]


def _fails(rule: ValidationRule, value: Any) -> bool:
    kind = rule.kind
    if kind == "required":
        return value is None or value == ""
    if value is None:
        return False
    try:
        if kind == "regex":
            return _pattern(str(rule.value)).fullmatch(str(value)) is None
        if kind == "max_length":
            return len(str(value)) > int(rule.value)
        if kind == "one_of":
            allowed = rule.value if isinstance(rule.value, list | tuple) else [rule.value]
            return str(value).lower() not in {str(v).lower() for v in allowed}
        if kind == "greater_than":
            return bool(_comparable(value) <= _comparable(rule.value))
        if kind == "less_than":
            return bool(_comparable(value) >= _comparable(rule.value))
    except (TypeError, ValueError, re.error):
        # A rule the data cannot be compared with does not block saves.
        return False
    return False


def _comparable(value: Any) -> Any:
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


@functools.lru_cache(maxsize=256)
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


def duplicate_key(fields: tuple[str, ...], row: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The case-insensitive key a duplicate rule compares, or None when a field is empty."""
    parts = []
    for name in fields:
        value = row.get(name)
        if value is None or value == "":
            return None
        parts.append(str(value).lower())
    return tuple(parts)
