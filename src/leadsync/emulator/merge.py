"""Record merge (SOAP `merge`) for leads, contacts and accounts.

The master keeps its own values: Salesforce fills nothing in from the merged records, it only
applies what the request's `masterRecord` sets. The merged records are deleted with
`MasterRecordId` pointing at the master, and their children move to the master.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .dml import full_name
from .errors import SalesforceError
from .ids import normalize_id
from .schema import FieldDef, SObjectDef
from .store import quote
from .values import to_db

if TYPE_CHECKING:
    from .org import Org
    from .sessions import Session

MERGEABLE = ("Lead", "Contact", "Account")
MAX_MERGED = 2
MAX_REQUESTS = 200
# Children that must stay unique per parent: a second membership of the same campaign (or a
# second role on the same opportunity) is dropped rather than moved.
_UNIQUE_PER_PARENT = {"CampaignMember": "CampaignId", "OpportunityContactRole": "OpportunityId"}


@dataclass(frozen=True)
class MergeRequest:
    """One `request` of the call. `values` are the masterRecord's field texts (None = nil)."""

    object_name: str | None
    master_id: str | None
    merge_ids: tuple[str, ...]
    values: dict[str, str | None] = field(default_factory=dict)
    fields_to_null: tuple[str, ...] = ()


@dataclass
class MergeResult:
    id: str | None
    success: bool
    merged_ids: list[str] = field(default_factory=list)
    updated_related_ids: list[str] = field(default_factory=list)
    errors: list[SalesforceError] = field(default_factory=list)


def merge_records(
    org: Org, session: Session, requests: Sequence[MergeRequest]
) -> list[MergeResult]:
    if len(requests) > MAX_REQUESTS:
        raise SalesforceError(
            "LIMIT_EXCEEDED", f"Too many merge requests: {len(requests)}. Max is {MAX_REQUESTS}."
        )
    results: list[MergeResult] = []
    with org.store.write() as conn:
        now = org.clock.now()
        for request in requests:
            try:
                with org.store.savepoint(conn, "record_merge"):
                    results.append(_Merge(org, session, conn, now).run(request))
            except SalesforceError as error:
                master = normalize_id(request.master_id or "")
                results.append(MergeResult(master, False, errors=[error]))
    return results


class _Merge:
    def __init__(self, org: Org, session: Session, conn: sqlite3.Connection, now: int) -> None:
        self.org = org
        self.session = session
        self.conn = conn
        self.now = now

    def run(self, request: MergeRequest) -> MergeResult:
        obj = self._object(request)
        master = self._record(obj, request.master_id, "Id")
        if obj.name == "Lead" and master["IsConverted"]:
            raise SalesforceError(
                "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", fields=["Id"]
            )
        losers = self._losers(obj, master["Id"], request.merge_ids)
        changes = self._master_changes(obj, master, request)
        self.org.store.update_row(
            self.conn,
            obj,
            master["Id"],
            {
                **changes,
                "LastModifiedDate": self.now,
                "LastModifiedById": self.session.user_id,
                "SystemModstamp": self.now,
            },
        )
        for loser in losers:
            self.org.store.update_row(
                self.conn,
                obj,
                loser,
                {
                    "IsDeleted": 1,
                    "MasterRecordId": master["Id"],
                    "SystemModstamp": self.now,
                },
            )
        related = self._reparent(obj, master["Id"], losers)
        return MergeResult(master["Id"], True, losers, related)

    def _object(self, request: MergeRequest) -> SObjectDef:
        name = request.object_name
        if not name and request.master_id:
            prefix_obj = self.org.schema.by_prefix(request.master_id[:3])
            name = prefix_obj.name if prefix_obj else None
        obj = self.org.schema.get(name or "")
        if obj is None or obj.name not in MERGEABLE:
            raise SalesforceError(
                "INVALID_TYPE", f"sObject type '{name}' is not supported for merge."
            )
        if not self.session.profile.can_see_object(obj.name):
            raise SalesforceError("INSUFFICIENT_ACCESS", "insufficient access rights on object id")
        return obj

    def _record(self, obj: SObjectDef, raw_id: str | None, field_name: str) -> dict[str, Any]:
        record_id = normalize_id(raw_id or "")
        if record_id is None:
            raise SalesforceError(
                "MALFORMED_ID",
                f"{obj.label} ID: id value of incorrect type: {raw_id}",
                fields=[field_name],
            )
        if record_id[:3] != obj.key_prefix:
            raise SalesforceError(
                "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", fields=[field_name]
            )
        row = self.org.store.fetch_one(self.conn, obj, record_id)
        if row is None:
            raise SalesforceError(
                "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", fields=[field_name]
            )
        if row["IsDeleted"]:
            raise SalesforceError("ENTITY_IS_DELETED", "entity is deleted", fields=[])
        return row

    def _losers(self, obj: SObjectDef, master_id: str, raw_ids: Sequence[str]) -> list[str]:
        if not raw_ids:
            raise SalesforceError(
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [recordToMergeIds]",
                fields=["recordToMergeIds"],
            )
        if len(raw_ids) > MAX_MERGED:
            raise SalesforceError(
                "LIMIT_EXCEEDED", f"Cannot merge more than {MAX_MERGED + 1} records at a time"
            )
        losers: list[str] = []
        for raw in raw_ids:
            loser = str(self._record(obj, raw, "recordToMergeIds")["Id"])
            if loser == master_id or loser in losers:
                raise SalesforceError(
                    "INVALID_ID_FIELD", "Duplicate ids in merge request", fields=["Id"]
                )
            losers.append(loser)
        return losers

    def _master_changes(
        self, obj: SObjectDef, master: dict[str, Any], request: MergeRequest
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, text in request.values.items():
            definition = self._settable(obj, name)
            values[definition.name] = None if text is None else to_db(definition, text)
        for name in request.fields_to_null:
            definition = self._settable(obj, name)
            values[definition.name] = None
        for field_name, value in values.items():
            target = obj.field(field_name)
            if value is None and target is not None and not target.nillable:
                raise SalesforceError(
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{target.name}]",
                    fields=[target.name],
                )
        name_field = obj.field("Name")
        if (
            name_field is not None
            and name_field.calculated
            and ("FirstName" in values or "LastName" in values)
        ):
            values["Name"] = full_name(
                values.get("FirstName", master["FirstName"]),
                values.get("LastName", master["LastName"]),
            )
        return values

    def _settable(self, obj: SObjectDef, name: str) -> FieldDef:
        definition = obj.field(name)
        if definition is None or not self.session.profile.can_see(obj.name, definition.name):
            raise SalesforceError(
                "INVALID_FIELD",
                f"No such column '{name}' on sobject of type {obj.name}",
                fields=[name],
            )
        if (
            not definition.updateable
            or not definition.stored
            or not self.session.profile.can_edit(obj.name, definition.name)
        ):
            raise SalesforceError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {definition.name}. Please check the security "
                "settings of this field and verify that it is read/write for your profile or "
                "permission set.",
                fields=[definition.name],
            )
        return definition

    # -- children ----------------------------------------------------------------------------

    def _reparent(self, obj: SObjectDef, master_id: str, losers: list[str]) -> list[str]:
        moved: list[str] = []
        marks = ", ".join("?" for _ in losers)
        for child, reference in self.org.schema.child_relationships(obj.name):
            if reference.name == "MasterRecordId":
                continue
            table, column = quote(child.name), quote(reference.name)
            rows = self.conn.execute(
                f'SELECT "Id" FROM {table} WHERE {column} IN ({marks}) AND "IsDeleted" = 0',
                losers,
            ).fetchall()
            for (child_id,) in rows:
                if child_id == master_id:
                    # The master pointed at a merged record (say, as its parent account).
                    self.conn.execute(
                        f'UPDATE {table} SET {column} = NULL, "SystemModstamp" = ? WHERE "Id" = ?',
                        (self.now, child_id),
                    )
                elif self._duplicate_child(child, reference, child_id, master_id):
                    self.conn.execute(
                        f'UPDATE {table} SET "IsDeleted" = 1, "SystemModstamp" = ? WHERE "Id" = ?',
                        (self.now, child_id),
                    )
                    continue
                else:
                    self.conn.execute(
                        f'UPDATE {table} SET {column} = ?, "SystemModstamp" = ? WHERE "Id" = ?',
                        (master_id, self.now, child_id),
                    )
                moved.append(str(child_id))
        return moved

    def _duplicate_child(
        self, child: SObjectDef, reference: FieldDef, child_id: str, master_id: str
    ) -> bool:
        key = _UNIQUE_PER_PARENT.get(child.name)
        if key is None:
            return False
        table, column, key_column = quote(child.name), quote(reference.name), quote(key)
        found = self.conn.execute(
            f'SELECT 1 FROM {table} AS other WHERE other.{column} = ? AND other."IsDeleted" = 0 '
            f'AND other.{key_column} = (SELECT {key_column} FROM {table} WHERE "Id" = ?)',
            (master_id, child_id),
        ).fetchone()
        return found is not None
