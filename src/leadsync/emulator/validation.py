"""Per-record checks for validated DML: field access, coercion, formats and org rules.

`writes.py` runs these in stages over a whole batch; everything here is pure Python on one
record (the batched SQL lookups stay in `writes.py`). Messages follow Salesforce's wording.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import SalesforceError
from .schema import FieldDef, Profile, SObjectDef, ValidationRule
from .store import quote
from .values import EMAIL_PATTERN, to_db

if TYPE_CHECKING:
    from .org import Org

_CHUNK = 500

# Types whose empty string Salesforce stores as null.
_BLANK_IS_NULL = frozenset(
    {
        "string",
        "textarea",
        "picklist",
        "multipicklist",
        "combobox",
        "email",
        "phone",
        "url",
        "encryptedstring",
        "time",
        "base64",
    }
)


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
    for key, raw in values.items():
        if key == "attributes":
            continue
        entry = access.fields.get(key.lower())
        if entry is None and isinstance(raw, Mapping):
            entry = access.relationships.get(key.lower())
            if entry is not None:
                raw = _external_ref(entry.definition, raw)
        if entry is None or not entry.visible:
            unknown.append(invalid_field(access.obj, key))
            continue
        definition = entry.definition
        if definition.name == "Id":
            # Ids travel beside the values; an Id in an insert is the caller's mistake.
            if creating and raw not in (None, ""):
                bad.append(
                    SalesforceError(
                        "INVALID_FIELD_FOR_INSERT_UPDATE",
                        "cannot specify Id in an insert call",
                        fields=["Id"],
                    )
                )
            continue
        if not (entry.createable if creating else entry.updateable):
            locked.append(definition.name)
            continue
        if isinstance(raw, ExternalRef | SalesforceError):
            if isinstance(raw, SalesforceError):
                bad.append(raw)
            else:
                out[definition.name] = raw
            continue
        try:
            if entry.plain_text and type(raw) is str and raw and len(raw) <= entry.max_length:
                out[definition.name] = raw
            else:
                out[definition.name] = check_value(definition, to_db(definition, raw))
        except SalesforceError as error:
            bad.append(error)
    if unknown:
        return out, unknown
    if locked:
        return out, [read_only(locked)]
    return out, bad


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


# -- batched checks ----------------------------------------------------------------------------


@dataclass
class Candidate:
    """One record on its way to the store."""

    index: int
    obj: SObjectDef
    record_id: str | None
    row: dict[str, Any] = field(default_factory=dict)  # the whole row after the write
    changes: dict[str, Any] = field(default_factory=dict)  # columns to write
    provided: dict[str, Any] = field(default_factory=dict)  # what the caller set
    errors: list[SalesforceError] = field(default_factory=list)
    inserting: bool = False
    created: bool | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


class BatchChecks:
    """The checks that need the database, each one query per field for the whole batch."""

    def __init__(self, org: Org, conn: sqlite3.Connection, profile: Profile) -> None:
        self.org = org
        self.conn = conn
        self.profile = profile

    def access(self, obj: SObjectDef) -> ObjectAccess:
        return object_access(self.org.extensions, obj, self.profile)

    def check(self, candidates: list[Candidate]) -> None:
        """Run the batched checks, object by object, on the candidates still valid."""
        by_object: dict[str, list[Candidate]] = defaultdict(list)
        for candidate in candidates:
            by_object[candidate.obj.name].append(candidate)
        for group in by_object.values():
            obj = group[0].obj
            access = self.access(obj)
            self._resolve_external_refs(group)
            self._check_references(access, group)
            if obj.name == "CampaignMember":
                self._check_campaign_members(group)
            rules = self.org.schema.rules_for(obj.name)
            if rules:
                for candidate in valid(group):
                    candidate.errors.extend(failing_rules(rules, candidate.row))
            for definition in access.unique:
                self._check_unique(obj, definition, group)
            self._check_duplicate_rules(obj, group)

    def _resolve_external_refs(self, group: list[Candidate]) -> None:
        """Swap parents named by external id for their ids: one query per parent field."""
        pending: dict[tuple[str, str], list[tuple[Candidate, str, Any]]] = defaultdict(list)
        for candidate in valid(group):
            for name, value in candidate.provided.items():
                if isinstance(value, ExternalRef):
                    found = self._ref_key(value)
                    if isinstance(found, SalesforceError):
                        candidate.errors.append(found)
                    else:
                        pending[(found[0].name, found[1].name)].append((candidate, name, found[2]))
        for (target_name, key_name), entries in pending.items():
            target = self.org.schema.get(target_name)
            assert target is not None
            key_def = target.fields[key_name.lower()]
            fold = folder(key_def)
            holders: dict[Any, list[str]] = defaultdict(list)
            values = (value for _, _, value in entries)
            for record_id, value in self._select_by(
                target, key_name, values, ("Id", key_name), live_only=True
            ):
                holders[fold(value)].append(record_id)
            for candidate, name, value in entries:
                ids = holders.get(fold(value), [])
                if len(ids) == 1:
                    candidate.provided[name] = candidate.row[name] = ids[0]
                    candidate.changes[name] = ids[0]
                    continue
                candidate.errors.append(
                    SalesforceError(
                        "INVALID_FIELD" if not ids else "DUPLICATE_EXTERNAL_ID",
                        f"Foreign key external ID: {value} not found for field {key_name} in "
                        f"entity {target_name}"
                        if not ids
                        else f"{key_name}: more than one record found for external id field: "
                        f"[{', '.join(sorted(ids))}]",
                        fields=[name],
                    )
                )

    def _ref_key(self, ref: ExternalRef) -> tuple[SObjectDef, FieldDef, Any] | SalesforceError:
        targets = ref.definition.reference_to
        name = ref.target_type or (targets[0] if len(targets) == 1 else "")
        target = self.org.schema.get(name)
        if target is None or target.name not in targets:
            return SalesforceError(
                "INVALID_FIELD",
                f"Cannot find the target object of {ref.definition.relationship_name}: "
                "give attributes.type",
                fields=[ref.definition.name],
            )
        key_def = target.field(ref.key_field)
        if (
            key_def is None
            or not (key_def.external_id or key_def.name == "Id")
            or not self.profile.can_see(target.name, key_def.name)
        ):
            return SalesforceError(
                "INVALID_FIELD",
                f"Field name provided, {ref.key_field} is not an External ID or indexed field "
                f"for {target.name}",
                fields=[ref.definition.name],
            )
        try:
            return target, key_def, to_db(key_def, ref.value)
        except SalesforceError as error:
            return error

    def _check_references(self, access: ObjectAccess, group: list[Candidate]) -> None:
        for definition in access.references:
            wanted: dict[str, list[str]] = defaultdict(list)  # target object -> ids
            users: list[tuple[Candidate, str, SObjectDef]] = []
            for candidate in valid(group):
                value = candidate.provided.get(definition.name)
                if value is None:
                    continue
                target = object_for_id(self.org, value)
                if target is None or target.name not in definition.reference_to:
                    candidate.errors.append(malformed_reference(definition, value))
                    continue
                wanted[target.name].append(value)
                users.append((candidate, value, target))
            if not users:
                continue
            states: dict[str, int] = {}
            for target_name, ids in wanted.items():
                target_obj = self.org.schema.get(target_name)
                assert target_obj is not None
                states.update(self._select_by(target_obj, "Id", ids, ("Id", "IsDeleted")))
            for candidate, value, _target in users:
                state = states.get(value)
                if state is None:
                    candidate.errors.append(invalid_cross_reference([definition.name]))
                elif state:
                    error = entity_is_deleted()
                    error.status = 400
                    error.fields = [definition.name]
                    candidate.errors.append(error)

    def _select_by(
        self,
        obj: SObjectDef,
        column: str,
        values: Iterable[Any],
        select: tuple[str, str],
        *,
        live_only: bool = False,
    ) -> Iterator[tuple[Any, Any]]:
        """(first, second) column pairs of rows whose `column` is in `values`, chunked."""
        wanted = list(dict.fromkeys(values))
        columns = ", ".join(quote(c) for c in select)
        live = ' AND "IsDeleted" = 0' if live_only else ""
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            yield from self.conn.execute(
                f"SELECT {columns} FROM {quote(obj.name)} WHERE {quote(column)} IN ({marks}){live}",
                chunk,
            )

    def _check_unique(self, obj: SObjectDef, definition: FieldDef, group: list[Candidate]) -> None:
        name = definition.name
        pending = [c for c in valid(group) if c.changes.get(name) is not None]
        if not pending:
            return
        fold = folder(definition)
        holders: dict[Any, set[str]] = defaultdict(set)
        for record_id, value in self._select_by(
            obj, name, (c.changes[name] for c in pending), ("Id", name), live_only=True
        ):
            holders[fold(value)].add(record_id)
        claimed: dict[Any, str] = {}
        for candidate in pending:
            key = fold(candidate.changes[name])
            others = holders.get(key, set()) - {candidate.record_id}
            if others:
                candidate.errors.append(duplicate_value(name, min(others)))
            elif key in claimed:
                candidate.errors.append(duplicate_value(name, claimed[key]))
            else:
                claimed[key] = candidate.record_id or ""

    def _check_duplicate_rules(self, obj: SObjectDef, group: list[Candidate]) -> None:
        for rule in self.org.schema.duplicate_rules_for(obj.name):
            defs = [obj.field(n) for n in rule.fields]
            if not defs or any(d is None or not d.stored for d in defs):
                continue
            names = tuple(d.name for d in defs if d is not None)
            pending = []
            for candidate in valid(group):
                key = duplicate_key(names, candidate.row)
                if key is not None:
                    pending.append((candidate, key))
            if not pending:
                continue
            first = names[0]
            select = ", ".join(quote(n) for n in ("Id", *names))
            found: dict[tuple[str, ...], set[str]] = defaultdict(set)
            values = list(dict.fromkeys(c.row[first] for c, _ in pending))
            for start in range(0, len(values), _CHUNK):
                chunk = values[start : start + _CHUNK]
                sql = (
                    f"SELECT {select} FROM {quote(obj.name)} WHERE {quote(first)} "
                    f'IN ({", ".join("?" * len(chunk))}) AND "IsDeleted" = 0'
                )
                for record_id, *rest in self.conn.execute(sql, chunk):
                    key = duplicate_key(names, dict(zip(names, rest, strict=True)))
                    if key is not None:
                        found[key].add(record_id)
            for candidate, key in pending:
                if found.get(key, set()) - {candidate.record_id}:
                    candidate.errors.append(SalesforceError("DUPLICATES_DETECTED", rule.message))

    def _check_campaign_members(self, group: list[Candidate]) -> None:
        inserts = [c for c in valid(group) if c.inserting]
        for candidate in inserts:
            if candidate.row.get("LeadId") is None and candidate.row.get("ContactId") is None:
                candidate.errors.append(required_missing(["ContactId", "LeadId"]))
        inserts = list(valid(inserts))
        if not inserts:
            return
        people = [c.row.get("LeadId") or c.row.get("ContactId") for c in inserts]
        marks = ", ".join("?" * len(people))
        taken = {
            (campaign, person)
            for campaign, lead, contact in self.conn.execute(
                'SELECT "CampaignId", "LeadId", "ContactId" FROM "CampaignMember" '
                f'WHERE "IsDeleted" = 0 AND ("LeadId" IN ({marks}) OR "ContactId" IN ({marks}))',
                [*people, *people],
            )
            for person in (lead, contact)
            if person
        }
        for candidate, person in zip(inserts, people, strict=True):
            key = (candidate.row["CampaignId"], person)
            if key in taken:
                candidate.errors.append(
                    SalesforceError("DUPLICATE_VALUE", "Already a campaign member.")
                )
            taken.add(key)


def valid(candidates: Iterable[Candidate]) -> Iterator[Candidate]:
    return (c for c in candidates if not c.errors)


def folder(definition: FieldDef) -> Any:
    return (
        (lambda v: v.lower() if isinstance(v, str) else v) if definition.is_text else (lambda v: v)
    )


def object_for_id(org: Org, record_id: str) -> SObjectDef | None:
    """The object an id's key prefix belongs to."""
    prefixes: dict[str, SObjectDef] | None = org.extensions.get("writes.prefixes")
    if prefixes is None or len(prefixes) != len(org.schema.objects):
        prefixes = {o.key_prefix: o for o in org.schema}
        org.extensions["writes.prefixes"] = prefixes
    return prefixes.get(record_id[:3])
