"""Writes to the org: system inserts for bootstrap and seeding (no validation).

Validated DML for API callers lives in `writes.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .org import Org


def full_name(first: Any, last: Any) -> str | None:
    parts = [p for p in (first, last) if p]
    return " ".join(str(p) for p in parts) or None


def system_insert(
    org: Org,
    object_name: str,
    rows: Sequence[dict[str, Any]],
    *,
    now: int | None = None,
    user_id: str | None = None,
) -> list[str]:
    """Insert storage-form rows as the system: ids, audit fields and defaults filled in."""
    obj = org.schema.get(object_name)
    if obj is None:
        raise KeyError(object_name)
    stamp = org.clock.now() if now is None else now
    with org.store.write() as conn:
        ids = org.store.allocate_ids(conn, obj.key_prefix, len(rows))
        actor = user_id or _actor(conn)
        complete = []
        for record_id, row in zip(ids, rows, strict=True):
            values = {
                f.name: f.default_value if f.defaulted_on_create else None
                for f in obj.stored_fields()
            }
            for definition in obj.stored_fields():
                if definition.type == "boolean" and values[definition.name] is not None:
                    values[definition.name] = 1 if values[definition.name] else 0
            values.update(row)
            values.update(
                Id=record_id,
                IsDeleted=0,
                CreatedDate=stamp,
                LastModifiedDate=stamp,
                SystemModstamp=stamp,
                CreatedById=actor or record_id,
                LastModifiedById=actor or record_id,
            )
            if obj.field("OwnerId") is not None and values.get("OwnerId") is None:
                values["OwnerId"] = actor or record_id
            if obj.field("Name") is not None and obj.field("Name").calculated:  # type: ignore[union-attr]
                values["Name"] = full_name(values.get("FirstName"), values.get("LastName"))
            complete.append(values)
        org.store.insert_rows(conn, obj, complete)
    return ids


def _actor(conn: Any) -> str | None:
    row = conn.execute('SELECT "Id" FROM "User" ORDER BY "Id" LIMIT 1').fetchone()
    return None if row is None else str(row[0])
