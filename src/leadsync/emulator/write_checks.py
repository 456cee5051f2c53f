"""The batched checks of validated DML: the ones that need the database.

Each check runs one `IN (...)` query per field for the whole batch (references, parents named
by external id, unique values, duplicate rules, campaign memberships) and records failures on
the records, which carry on through `writes.py` as `Candidate`s.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import SalesforceError
from .schema import FieldDef, Profile, SObjectDef
from .store import quote
from .validation import (
    ExternalRef,
    ObjectAccess,
    duplicate_key,
    duplicate_value,
    entity_is_deleted,
    failing_rules,
    invalid_cross_reference,
    malformed_reference,
    object_access,
    required_missing,
)
from .values import to_db

if TYPE_CHECKING:
    from .org import Org

_CHUNK = 500


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
        members = group[0].obj
        taken: set[tuple[Any, Any]] = set()
        for column in ("LeadId", "ContactId"):
            for person, campaign in self._select_by(
                members, column, people, (column, "CampaignId"), live_only=True
            ):
                taken.add((campaign, person))
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
