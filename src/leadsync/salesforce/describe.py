"""Describe, as the sync user sees it, cached: describes are large and rarely change."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .client import SalesforceClient


@dataclass(frozen=True)
class FieldInfo:
    """The describe properties the sync needs about one field."""

    name: str
    type: str
    label: str
    length: int
    nillable: bool
    createable: bool
    updateable: bool
    custom: bool
    external_id: bool
    reference_to: tuple[str, ...]
    picklist_values: tuple[str, ...]
    restricted_picklist: bool

    @classmethod
    def from_describe(cls, raw: dict[str, Any]) -> FieldInfo:
        return cls(
            name=str(raw["name"]),
            type=str(raw["type"]),
            label=str(raw.get("label", raw["name"])),
            length=int(raw.get("length") or 0),
            nillable=bool(raw.get("nillable", True)),
            createable=bool(raw.get("createable", False)),
            updateable=bool(raw.get("updateable", False)),
            custom=bool(raw.get("custom", False)),
            external_id=bool(raw.get("externalId", False)),
            reference_to=tuple(raw.get("referenceTo") or ()),
            picklist_values=tuple(
                str(p["value"]) for p in raw.get("picklistValues") or () if p.get("active", True)
            ),
            restricted_picklist=bool(raw.get("restrictedPicklist", False)),
        )


@dataclass
class DescribeCache:
    """Object describes fetched once per `ttl` seconds (new fields are seen the cycle after)."""

    client: SalesforceClient
    ttl: float = 300.0
    clock: Callable[[], float] = time.monotonic
    _objects: dict[str, tuple[float, dict[str, FieldInfo]]] = field(default_factory=dict)
    _global: tuple[float, set[str]] | None = None

    def object_names(self) -> set[str]:
        now = self.clock()
        if self._global is None or now - self._global[0] > self.ttl:
            body = self.client.get_json("sobjects")
            self._global = (now, {str(o["name"]) for o in body["sobjects"] if o.get("queryable")})
        return self._global[1]

    def fields(self, object_name: str) -> dict[str, FieldInfo]:
        """Visible fields of an object by API name (compound fields left out)."""
        now = self.clock()
        cached = self._objects.get(object_name)
        if cached is None or now - cached[0] > self.ttl:
            body = self.client.get_json(f"sobjects/{object_name}/describe")
            infos = {
                str(raw["name"]): FieldInfo.from_describe(raw)
                for raw in body["fields"]
                if raw.get("type") not in ("address", "location")
            }
            cached = (now, infos)
            self._objects[object_name] = cached
        return cached[1]

    def invalidate(self) -> None:
        self._objects.clear()
        self._global = None
