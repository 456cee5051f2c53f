"""The recycle bin: delete and undelete for `writes`, with the platform's cascades.

Deleting sets IsDeleted and bumps SystemModstamp (LastModifiedDate stays); children go with
their parent. Undelete restores a record and the children its delete took along, recognised
by their matching SystemModstamp.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .errors import SalesforceError
from .ids import normalize_id
from .schema import SObjectDef
from .store import quote
from .validation import entity_is_deleted, invalid_cross_reference
from .write_checks import Candidate, object_for_id, valid
from .writes import SaveResult, failed, malformed_id, rolled_back

if TYPE_CHECKING:
    from .org import Org
    from .sessions import Session

_CHUNK = 500
# Children deleted with their parent, as the platform's cascade does.
CASCADES: dict[str, tuple[tuple[str, str], ...]] = {
    "Account": (("Contact", "AccountId"), ("Opportunity", "AccountId")),
    "Contact": (("CampaignMember", "ContactId"), ("OpportunityContactRole", "ContactId")),
    "Lead": (("CampaignMember", "LeadId"),),
    "Opportunity": (("OpportunityContactRole", "OpportunityId"),),
    "Campaign": (("CampaignMember", "CampaignId"),),
}


def move(
    org: Org, session: Session, ids: Sequence[str], all_or_none: bool, *, deleting: bool
) -> list[SaveResult]:
    with org.store.write() as conn, org.store.savepoint(conn, "writes_bin"):
        now = org.clock.now()
        resolved: list[tuple[str, SObjectDef] | SalesforceError] = []
        wanted: dict[str, list[str]] = defaultdict(list)
        seen: set[str] = set()
        for raw in ids:
            entry = _resolve_id(org, session, raw, deleting)
            if not isinstance(entry, SalesforceError):
                if entry[0] in seen:
                    entry = SalesforceError("DUPLICATE_ID", f"Duplicate id in list: {entry[0]}")
                else:
                    seen.add(entry[0])
                    wanted[entry[1].name].append(entry[0])
            resolved.append(entry)
        states: dict[str, tuple[int, int]] = {}
        for name, object_ids in wanted.items():
            obj = org.schema.get(name)
            assert obj is not None
            for record_id, is_deleted, stamp in _states(conn, obj, object_ids):
                states[record_id] = (is_deleted, stamp)
        candidates = []
        for index, entry in enumerate(resolved):
            if isinstance(entry, SalesforceError):
                candidates.append(Candidate(index, _placeholder(org), None, errors=[entry]))
                continue
            record_id, obj = entry
            candidate = Candidate(index, obj, record_id)
            state = states.get(record_id)
            if state is None:
                candidate.errors.append(invalid_cross_reference())
            elif deleting and state[0]:
                candidate.errors.append(entity_is_deleted())
            elif not deleting and not state[0]:
                candidate.errors.append(
                    SalesforceError("UNDELETE_FAILED", "Entity is not in the recycle bin")
                )
            candidates.append(candidate)
        if all_or_none and any(c.errors for c in candidates):
            return [failed(c.errors or [rolled_back()]) for c in candidates]
        by_object: dict[str, list[Candidate]] = defaultdict(list)
        for candidate in valid(candidates):
            by_object[candidate.obj.name].append(candidate)
        for name, group in by_object.items():
            record_ids = [c.record_id for c in group if c.record_id]
            if deleting:
                _cascade_delete(conn, name, record_ids, now)
            else:
                stamps = {rid: states[rid][1] for rid in record_ids}
                _cascade_undelete(conn, name, stamps, now)
        return [SaveResult(c.record_id, True, []) if c.ok else failed(c.errors) for c in candidates]


def _resolve_id(
    org: Org, session: Session, raw: Any, deleting: bool
) -> tuple[str, SObjectDef] | SalesforceError:
    record_id = normalize_id(raw) if isinstance(raw, str) else None
    obj = object_for_id(org, record_id) if record_id else None
    if record_id is None or obj is None:
        return malformed_id(raw)
    if not session.profile.can_see_object(obj.name) or not obj.deletable:
        return SalesforceError(
            "INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id"
        )
    return record_id, obj


def _placeholder(org: Org) -> SObjectDef:
    return next(iter(org.schema))


def _states(
    conn: sqlite3.Connection, obj: SObjectDef, ids: list[str]
) -> Iterator[tuple[str, int, int]]:
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        yield from conn.execute(
            f'SELECT "Id", "IsDeleted", "SystemModstamp" FROM {quote(obj.name)} '
            f'WHERE "Id" IN ({", ".join("?" * len(chunk))})',
            chunk,
        )


def _cascade_delete(conn: sqlite3.Connection, object_name: str, ids: list[str], now: int) -> None:
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        conn.execute(
            f'UPDATE {quote(object_name)} SET "IsDeleted" = 1, "SystemModstamp" = ? '
            f'WHERE "Id" IN ({marks}) AND "IsDeleted" = 0',
            [now, *chunk],
        )
        for child, column in CASCADES.get(object_name, ()):
            children = [
                row[0]
                for row in conn.execute(
                    f'SELECT "Id" FROM {quote(child)} WHERE {quote(column)} IN ({marks}) '
                    'AND "IsDeleted" = 0',
                    chunk,
                )
            ]
            if children:
                _cascade_delete(conn, child, children, now)


def _cascade_undelete(
    conn: sqlite3.Connection, object_name: str, stamps: dict[str, int], now: int
) -> None:
    """Restore rows, then the children deleted in the same second as their parent."""
    ids = list(stamps)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        conn.execute(
            f'UPDATE {quote(object_name)} SET "IsDeleted" = 0, "SystemModstamp" = ? '
            f'WHERE "Id" IN ({marks})',
            [now, *chunk],
        )
        for child, column in CASCADES.get(object_name, ()):
            children = {
                child_id: stamp
                for child_id, parent_id, stamp in conn.execute(
                    f'SELECT "Id", {quote(column)}, "SystemModstamp" FROM {quote(child)} '
                    f'WHERE {quote(column)} IN ({marks}) AND "IsDeleted" = 1',
                    chunk,
                )
                if stamp == stamps.get(parent_id)
            }
            if children:
                _cascade_undelete(conn, child, children, now)
