"""Describe, as the sync user sees it, cached: describes are large and rarely change."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
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


# Describes per `/composite` call (its sub-request cap). Not `/composite/batch`: Salesforce
# counts each of a batch's sub-requests against the API limit, a composite call as one.
BATCH_MAX = 25
GLOBAL = ""  # the global describe's key among cache entries (no object has an empty name)


@dataclass
class DescribeCache:
    """The global describe and object describes, each fetched again once older than `ttl`
    seconds (so new fields are seen within about a ttl).

    What is missing or expired is fetched together, up to 25 describes in one `/composite`
    call (one API call, where `/composite/batch` would count each), not one call per object.
    And once a call is made anyway, every other cached describe past half its ttl rides along
    in it: the describes then expire together, so a long-running sync pays one call per ttl
    for all of them (an idle cycle costs one more call once per ttl) instead of drifting
    apart into several."""

    client: SalesforceClient
    ttl: float = 300.0
    clock: Callable[[], float] = time.monotonic
    _objects: dict[str, tuple[float, dict[str, FieldInfo]]] = field(default_factory=dict)
    # (fetched at, names of queryable objects, names of replicateable ones)
    _global: tuple[float, set[str], set[str]] | None = None

    def object_names(self) -> set[str]:
        """Names of the objects the sync user can query (the global describe)."""
        self._ensure([GLOBAL])
        assert self._global is not None
        return self._global[1]

    def replicable_names(self) -> set[str]:
        """Names of the objects whose changes the replication resources (`sobjects/{obj}/updated`
        and `deleted`) can report."""
        self._ensure([GLOBAL])
        assert self._global is not None
        return self._global[2]

    def fields(self, object_name: str) -> dict[str, FieldInfo]:
        """Visible fields of an object by API name (compound fields left out)."""
        self._ensure([object_name])
        return self._objects[object_name][1]

    def prefetch(self, object_names: Iterable[str]) -> None:
        """Fetch the describes of `object_names` that are missing or expired, in as few calls
        as possible, so that `fields` then answers them from the cache."""
        self._ensure(list(object_names))

    def invalidate(self) -> None:
        self._objects.clear()
        self._global = None

    # -- fetching ---------------------------------------------------------------------------

    def _fetched_at(self, key: str) -> float | None:
        if key == GLOBAL:
            return None if self._global is None else self._global[0]
        cached = self._objects.get(key)
        return None if cached is None else cached[0]

    def _ensure(self, keys: list[str]) -> None:
        now = self.clock()
        due = [k for k in dict.fromkeys(keys) if _older(self._fetched_at(k), now, self.ttl)]
        if not due:
            return
        riders = [
            k
            for k in (GLOBAL, *self._objects)
            if k not in due
            and self._fetched_at(k) is not None
            and _older(self._fetched_at(k), now, self.ttl / 2)
        ]
        if len(due) == 1 and not riders:
            self._keep(due[0], now, self.client.get_json(_path(due[0])))
            return
        keys = due + riders
        failed: list[str] = []
        for start in range(0, len(keys), BATCH_MAX):
            chunk = keys[start : start + BATCH_MAX]
            subrequests = [
                {
                    "method": "GET",
                    "url": f"{self.client.base_path}/{_path(k)}",
                    "referenceId": f"d{n}",
                }
                for n, k in enumerate(chunk)
            ]
            results = self.client.composite(subrequests)
            for key, result in zip(chunk, results, strict=True):
                body = result.get("body")
                if int(result.get("httpStatusCode", 500)) < 300 and isinstance(body, dict):
                    self._keep(key, now, body)
                else:
                    failed.append(key)
        for key in failed:
            if key in due:
                # Fetched again on its own: retried, renewed and raised as a lone describe.
                self._keep(key, now, self.client.get_json(_path(key)))
            else:
                self._objects.pop(key, None)  # asked for again (and so raised) if still used

    def _keep(self, key: str, now: float, body: dict[str, Any]) -> None:
        if key == GLOBAL:
            entries = body["sobjects"]
            self._global = (
                now,
                {str(o["name"]) for o in entries if o.get("queryable")},
                {str(o["name"]) for o in entries if o.get("queryable") and o.get("replicateable")},
            )
            return
        infos = {
            str(raw["name"]): FieldInfo.from_describe(raw)
            for raw in body["fields"]
            if raw.get("type") not in ("address", "location")
        }
        self._objects[key] = (now, infos)


def _path(key: str) -> str:
    return "sobjects" if key == GLOBAL else f"sobjects/{key}/describe"


def _older(fetched_at: float | None, now: float, age: float) -> bool:
    return fetched_at is None or now - fetched_at > age
