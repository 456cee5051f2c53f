"""Validated DML for API callers: create, update, upsert, delete and undelete.

Each call validates every record in Python, runs its lookups (references, unique values,
duplicate rules, campaign memberships) as one `IN (...)` query per field for the whole batch,
and writes with `executemany`. A failing record never stops the others unless the caller asked
for all-or-none, in which case nothing is written and every other record reports
ALL_OR_NONE_OPERATION_ROLLED_BACK.
"""

from __future__ import annotations

import operator
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .dml import full_name
from .errors import SalesforceError
from .ids import normalize_id
from .schema import FieldDef, SObjectDef
from .store import quote
from .validation import (
    ObjectAccess,
    coerce,
    derive,
    entity_is_deleted,
    invalid_cross_reference,
    missing_required,
    object_access,
    required_missing,
)
from .values import to_db
from .write_checks import BatchChecks, Candidate, folder, valid

if TYPE_CHECKING:
    from .org import Org
    from .sessions import Session

_CHUNK = 500


@dataclass
class SaveResult:
    id: str | None
    success: bool
    errors: list[SalesforceError]
    created: bool | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.id is not None:
            body["id"] = self.id
        body["success"] = self.success
        body["errors"] = [e.as_record_error() for e in self.errors]
        if self.created is not None:
            body["created"] = self.created
        return body


def rolled_back() -> SalesforceError:
    return SalesforceError(
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "Record rolled back because not all records were valid and the request was using "
        "AllOrNone header",
    )


def unknown_type(name: str) -> SalesforceError:
    return SalesforceError(
        "INVALID_TYPE",
        f"sObject type '{name}' is not supported. If you are attempting to use a custom "
        "object, be sure to append the '__c' after the entity name. Please reference your "
        "WSDL or the describe call for the appropriate names.",
    )


def external_field_not_found(name: str) -> SalesforceError:
    return SalesforceError(
        "NOT_FOUND",
        f"Provided external ID field does not exist or is not accessible: {name}",
        404,
    )


def resolve_object(org: Org, session: Session, name: str) -> SObjectDef:
    """The object a caller names, or INVALID_TYPE when it does not exist for them."""
    obj = org.schema.get(name) if isinstance(name, str) else None
    if obj is None or not session.profile.can_see_object(obj.name):
        raise unknown_type(str(name))
    return obj


class _Call:
    """State shared by the records of one DML call."""

    def __init__(
        self, org: Org, session: Session, conn: sqlite3.Connection, *, auto_assign: bool = False
    ) -> None:
        self.org = org
        self.session = session
        self.conn = conn
        self.now = org.clock.now()
        self.auto_assign = auto_assign

    def access(self, obj: SObjectDef) -> ObjectAccess:
        return object_access(self.org.extensions, obj, self.session.profile)

    def check(self, candidates: list[Candidate]) -> None:
        BatchChecks(self.org, self.conn, self.session.profile).check(candidates)

    # -- building candidates ------------------------------------------------------------------

    def insert(self, index: int, obj: SObjectDef, values: Any) -> Candidate:
        candidate = Candidate(index, obj, None, inserting=True)
        if not obj.createable:
            candidate.errors.append(_not_allowed("inserted", obj))
            return candidate
        if not isinstance(values, Mapping):
            candidate.errors.append(_not_a_record())
            return candidate
        access = self.access(obj)
        provided, errors = coerce(access, values, creating=True)
        candidate.provided = provided
        if errors:
            candidate.errors = errors
            return candidate
        row = dict(access.template)
        row.update(provided)
        user = self.session.user_id
        row.update(
            IsDeleted=0,
            CreatedDate=self.now,
            LastModifiedDate=self.now,
            SystemModstamp=self.now,
            CreatedById=user,
            LastModifiedById=user,
        )
        if "OwnerId" in row and row["OwnerId"] is None:
            row["OwnerId"] = user
        if self.auto_assign:
            # As in Salesforce, the active assignment rule overrides an owner given on create.
            assigned = self.org.assignment_owner(obj.name)
            if assigned is not None:
                row["OwnerId"] = assigned
        if access.calculated_name:
            row["Name"] = full_name(row.get("FirstName"), row.get("LastName"))
        derive(obj.name, row, row)
        missing = missing_required(access.required_on_create, row)
        if missing:
            candidate.errors.append(required_missing(missing))
        candidate.row = row
        candidate.changes = row
        return candidate

    def update(
        self,
        index: int,
        obj: SObjectDef,
        record_id: str,
        existing: dict[str, Any] | None,
        values: Any,
    ) -> Candidate:
        candidate = Candidate(index, obj, record_id)
        error = self._update_blocker(obj, existing, values)
        if error is not None:
            candidate.errors.append(error)
            return candidate
        assert existing is not None and isinstance(values, Mapping)
        access = self.access(obj)
        provided, errors = coerce(access, values, creating=False)
        candidate.provided = provided
        if errors:
            candidate.errors = errors
            return candidate
        changes = dict(provided)
        for name, value in provided.items():
            # A checkbox cannot hold null: clearing it unticks it.
            if value is None and access.fields[name.lower()].definition.type == "boolean":
                changes[name] = 0
        row = {**existing, **changes}
        if access.calculated_name and ("FirstName" in changes or "LastName" in changes):
            changes["Name"] = row["Name"] = full_name(row.get("FirstName"), row.get("LastName"))
        derive(obj.name, row, changes)
        stamp = {
            "LastModifiedDate": self.now,
            "SystemModstamp": self.now,
            "LastModifiedById": self.session.user_id,
        }
        row.update(stamp)
        changes.update(stamp)
        missing = [
            name
            for name, value in changes.items()
            if value is None and not access.fields[name.lower()].definition.nillable
        ]
        if missing:
            candidate.errors.append(required_missing(missing))
        candidate.row = row
        candidate.changes = changes
        return candidate

    def _update_blocker(
        self, obj: SObjectDef, existing: dict[str, Any] | None, values: Any
    ) -> SalesforceError | None:
        if not obj.updateable:
            return _not_allowed("updated", obj)
        if existing is None:
            return invalid_cross_reference()
        if existing.get("IsDeleted"):
            return entity_is_deleted()
        if obj.name == "Lead" and existing.get("IsConverted"):
            return SalesforceError(
                "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead"
            )
        if not isinstance(values, Mapping):
            return _not_a_record()
        return None

    # -- writing ------------------------------------------------------------------------------

    def finish(self, candidates: list[Candidate], all_or_none: bool) -> list[SaveResult]:
        """Write the valid candidates (or none of them) and answer in input order."""
        if all_or_none and any(c.errors for c in candidates):
            return [failed(c.errors or [rolled_back()]) for c in candidates]
        self._write(list(valid(candidates)))
        return [
            SaveResult(c.record_id, True, [], c.created) if c.ok else failed(c.errors)
            for c in candidates
        ]

    def _write(self, candidates: list[Candidate]) -> None:
        inserts: dict[str, list[Candidate]] = defaultdict(list)
        updates: dict[tuple[str, tuple[str, ...]], list[Candidate]] = defaultdict(list)
        for candidate in candidates:
            if candidate.inserting:
                inserts[candidate.obj.name].append(candidate)
            else:
                updates[(candidate.obj.name, tuple(candidate.changes))].append(candidate)
        store = self.org.store
        for group in inserts.values():
            obj = group[0].obj
            ids = store.allocate_ids(self.conn, obj.key_prefix, len(group))
            names = self.access(obj).column_names
            for candidate, record_id in zip(group, ids, strict=True):
                candidate.record_id = record_id
                candidate.row["Id"] = record_id
            sql = (
                f"INSERT INTO {quote(obj.name)} ({', '.join(quote(c) for c in names)}) "
                f"VALUES ({', '.join('?' * len(names))})"
            )
            row_values = operator.itemgetter(*names)
            self.conn.executemany(sql, (row_values(c.row) for c in group))
        for (object_name, columns), group in updates.items():
            assignments = ", ".join(f"{quote(c)} = ?" for c in columns)
            self.conn.executemany(
                f'UPDATE {quote(object_name)} SET {assignments} WHERE "Id" = ?',
                ([*(c.changes[n] for n in columns), c.record_id] for c in group),
            )

    def fetch(self, obj: SObjectDef, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        return self.org.store.fetch(self.conn, obj, ids)


def failed(errors: list[SalesforceError]) -> SaveResult:
    return SaveResult(None, False, errors)


def _not_allowed(verb: str, obj: SObjectDef) -> SalesforceError:
    return SalesforceError(
        "INVALID_TYPE_FOR_OPERATION", f"entity type cannot be {verb}: {obj.name}"
    )


def _not_a_record() -> SalesforceError:
    return SalesforceError("JSON_PARSER_ERROR", "Can not deserialize SObject: not a JSON object")


def malformed_id(value: Any) -> SalesforceError:
    return SalesforceError("MALFORMED_ID", f"malformed id {value}")


# -- public API --------------------------------------------------------------------------------


def create(
    org: Org,
    session: Session,
    items: Sequence[tuple[str, Mapping[str, Any]]],
    *,
    all_or_none: bool = False,
    auto_assign: bool = False,
) -> list[SaveResult]:
    """Insert records of any objects; results in input order. `auto_assign` runs the org's
    default assignment rule on the new records (the REST API's Sforce-Auto-Assign)."""
    objects = [resolve_object(org, session, name) for name, _ in items]
    with org.store.write() as conn, org.store.savepoint(conn, "writes_create"):
        call = _Call(org, session, conn, auto_assign=auto_assign)
        candidates = [
            call.insert(index, obj, values)
            for index, (obj, (_, values)) in enumerate(zip(objects, items, strict=True))
        ]
        call.check(candidates)
        return call.finish(candidates, all_or_none)


def update(
    org: Org,
    session: Session,
    items: Sequence[tuple[str, str, Mapping[str, Any]]],
    *,
    all_or_none: bool = False,
) -> list[SaveResult]:
    """Update records by id; results in input order."""
    objects = [resolve_object(org, session, name) for name, _, _ in items]
    with org.store.write() as conn, org.store.savepoint(conn, "writes_update"):
        call = _Call(org, session, conn)
        candidates = _update_candidates(call, objects, items)
        call.check(candidates)
        return call.finish(candidates, all_or_none)


def _update_candidates(
    call: _Call, objects: list[SObjectDef], items: Sequence[tuple[str, str, Any]]
) -> list[Candidate]:
    ids: list[str | SalesforceError] = []
    seen: set[str] = set()
    wanted: dict[str, list[str]] = defaultdict(list)
    for obj, (_, raw_id, _) in zip(objects, items, strict=True):
        record_id = normalize_id(raw_id) if isinstance(raw_id, str) else None
        if record_id is None or record_id[:3] != obj.key_prefix:
            ids.append(
                SalesforceError(
                    "MALFORMED_ID",
                    f"{obj.label} ID: id value of incorrect type: {raw_id}",
                    fields=["Id"],
                )
            )
        elif record_id in seen:
            ids.append(SalesforceError("DUPLICATE_ID", f"Duplicate id in list: {record_id}"))
        else:
            seen.add(record_id)
            ids.append(record_id)
            wanted[obj.name].append(record_id)
    existing: dict[str, dict[str, Any]] = {}
    for name, object_ids in wanted.items():
        target = call.org.schema.get(name)
        assert target is not None
        existing.update(call.fetch(target, object_ids))
    candidates = []
    for index, (obj, (_, _, values), entry) in enumerate(zip(objects, items, ids, strict=True)):
        if isinstance(entry, SalesforceError):
            candidates.append(Candidate(index, obj, None, errors=[entry]))
        else:
            candidates.append(call.update(index, obj, entry, existing.get(entry), values))
    return candidates


def upsert(
    org: Org,
    session: Session,
    object_name: str,
    external_field: str,
    records: Sequence[Mapping[str, Any]],
    *,
    all_or_none: bool = False,
    auto_assign: bool = False,
) -> list[SaveResult]:
    """Insert or update each record matched on `external_field` (an external id, or Id);
    `auto_assign` runs the default assignment rule on the records it inserts."""
    obj = resolve_object(org, session, object_name)
    key_field = obj.field(external_field) if isinstance(external_field, str) else None
    if (
        key_field is None
        or not (key_field.external_id or key_field.name == "Id")
        or not session.profile.can_see(obj.name, key_field.name)
    ):
        raise external_field_not_found(str(external_field))
    with org.store.write() as conn, org.store.savepoint(conn, "writes_upsert"):
        call = _Call(org, session, conn, auto_assign=auto_assign)
        candidates = _upsert_candidates(call, obj, key_field, records)
        call.check(candidates)
        return call.finish(candidates, all_or_none)


def _upsert_candidates(
    call: _Call, obj: SObjectDef, key_field: FieldDef, records: Sequence[Any]
) -> list[Candidate]:
    keys: list[Any] = []  # storage value, None (insert by Id), or an error
    for record in records:
        keys.append(_upsert_key(obj, key_field, record))
    is_id = key_field.name == "Id"
    fold = folder(key_field)
    lookups = [k for k in keys if k is not None and not isinstance(k, SalesforceError)]
    matches: dict[Any, list[str]] = defaultdict(list)
    deleted: set[Any] = set()
    for start in range(0, len(lookups), _CHUNK):
        chunk = list(dict.fromkeys(lookups[start : start + _CHUNK]))
        marks = ", ".join("?" * len(chunk))
        live = "" if is_id else ' AND "IsDeleted" = 0'
        for record_id, value, is_deleted in call.conn.execute(
            f'SELECT "Id", {quote(key_field.name)}, "IsDeleted" FROM {quote(obj.name)} '
            f"WHERE {quote(key_field.name)} IN ({marks}){live}",
            chunk,
        ):
            if is_deleted:
                deleted.add(fold(value))
            else:
                matches[fold(value)].append(record_id)
    existing = call.fetch(obj, [ids[0] for ids in matches.values() if len(ids) == 1])
    candidates: list[Candidate] = []
    seen: set[Any] = set()
    for index, (record, key) in enumerate(zip(records, keys, strict=True)):
        values = (
            _without(record, key_field.name) if is_id and isinstance(record, Mapping) else record
        )
        if isinstance(key, SalesforceError):
            candidates.append(Candidate(index, obj, None, errors=[key]))
            continue
        folded = None if key is None else fold(key)
        found = matches.get(folded, []) if folded is not None else []
        duplicate = _duplicate_key_error(key_field, key, folded in seen, found)
        if duplicate is not None:
            candidates.append(Candidate(index, obj, None, errors=[duplicate]))
        elif found:
            candidates.append(call.update(index, obj, found[0], existing.get(found[0]), values))
        elif is_id and folded in deleted:
            candidates.append(Candidate(index, obj, None, errors=[entity_is_deleted()]))
        elif is_id and key is not None:
            candidates.append(Candidate(index, obj, None, errors=[invalid_cross_reference()]))
        else:
            candidates.append(call.insert(index, obj, values))
        if folded is not None:
            seen.add(folded)
    for candidate in candidates:
        # Only upserts say whether they created; failures say nothing.
        candidate.created = None if candidate.errors else candidate.inserting
    return candidates


def _duplicate_key_error(
    key_field: FieldDef, key: Any, repeated: bool, found: list[str]
) -> SalesforceError | None:
    """DUPLICATE_EXTERNAL_ID when the call repeats a key or the org holds it more than once."""
    if repeated:
        message = f"Duplicate external id specified: {key}"
    elif len(found) > 1:
        message = (
            f"{key_field.name}: more than one record found for external id field: "
            f"[{', '.join(sorted(found))}]"
        )
    else:
        return None
    return SalesforceError("DUPLICATE_EXTERNAL_ID", message, fields=[key_field.name])


def _upsert_key(obj: SObjectDef, key_field: FieldDef, record: Any) -> Any:
    """The record's external-id value in storage form (None: insert by Id), or an error."""
    if not isinstance(record, Mapping):
        return _not_a_record()
    raw = None
    present = False
    lowered = key_field.name.lower()
    for name, value in record.items():
        if name.lower() == lowered:
            raw, present = value, True
    if key_field.name == "Id":
        if raw in (None, ""):
            return None
        record_id = normalize_id(raw) if isinstance(raw, str) else None
        if record_id is None or record_id[:3] != obj.key_prefix:
            return SalesforceError(
                "MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {raw}", fields=["Id"]
            )
        return record_id
    if not present or raw in (None, ""):
        return SalesforceError(
            "MISSING_ARGUMENT", f"{key_field.name} not specified", fields=[key_field.name]
        )
    try:
        return to_db(key_field, raw)
    except SalesforceError as error:
        return error


def _without(record: Mapping[str, Any], name: str) -> dict[str, Any]:
    lowered = name.lower()
    return {k: v for k, v in record.items() if k.lower() != lowered}


def delete(
    org: Org, session: Session, ids: Sequence[str], *, all_or_none: bool = False
) -> list[SaveResult]:
    """Move records (and their cascaded children) to the recycle bin."""
    from .recycle import move  # late: recycle builds on this module

    return move(org, session, ids, all_or_none, deleting=True)


def undelete(
    org: Org, session: Session, ids: Sequence[str], *, all_or_none: bool = False
) -> list[SaveResult]:
    """Restore records from the recycle bin, with the children their delete took along."""
    from .recycle import move

    return move(org, session, ids, all_or_none, deleting=False)
