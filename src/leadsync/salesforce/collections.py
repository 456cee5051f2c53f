"""sObject Collections writes: 200 records a call, partial success, one result per record."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .client import SalesforceClient

COLLECTION_SIZE = 200


@dataclass(frozen=True)
class RecordResult:
    """What Salesforce said about one record of a write."""

    id: str | None
    success: bool
    created: bool | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def error_code(self) -> str | None:
        return str(self.errors[0].get("statusCode")) if self.errors else None

    @property
    def error_message(self) -> str | None:
        return str(self.errors[0].get("message")) if self.errors else None

    @property
    def error_fields(self) -> list[str]:
        return [str(f) for f in self.errors[0].get("fields", [])] if self.errors else []


def chunks(records: Sequence[Any], size: int = COLLECTION_SIZE) -> Iterator[Sequence[Any]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]


def _results(body: Any) -> list[RecordResult]:
    return [
        RecordResult(
            id=item.get("id"),
            success=bool(item.get("success")),
            created=item.get("created"),
            errors=list(item.get("errors") or []),
        )
        for item in body
    ]


def _typed(object_name: str, record: Mapping[str, Any]) -> dict[str, Any]:
    return {"attributes": {"type": object_name}, **record}


def upsert(
    client: SalesforceClient,
    object_name: str,
    external_field: str,
    records: Sequence[Mapping[str, Any]],
    *,
    headers: Mapping[str, str] | None = None,
) -> list[RecordResult]:
    """Create-or-update by external id; a retry after a crash finds the record it made.
    `headers` carry call options such as `Sforce-Auto-Assign`."""
    results: list[RecordResult] = []
    for chunk in chunks(records):
        body = {"allOrNone": False, "records": [_typed(object_name, r) for r in chunk]}
        answer = client.request_json(
            "PATCH",
            f"composite/sobjects/{object_name}/{external_field}",
            json=body,
            headers=headers,
        )
        results += _results(answer)
    return results


def update(
    client: SalesforceClient,
    object_name: str,
    records: Sequence[Mapping[str, Any]],
    *,
    headers: Mapping[str, str] | None = None,
) -> list[RecordResult]:
    """Update records that carry their `Id`."""
    results: list[RecordResult] = []
    for chunk in chunks(records):
        body = {"allOrNone": False, "records": [_typed(object_name, r) for r in chunk]}
        answer = client.request_json("PATCH", "composite/sobjects", json=body, headers=headers)
        results += _results(answer)
    return results


def create(
    client: SalesforceClient, object_name: str, records: Sequence[Mapping[str, Any]]
) -> list[RecordResult]:
    results: list[RecordResult] = []
    for chunk in chunks(records):
        body = {"allOrNone": False, "records": [_typed(object_name, r) for r in chunk]}
        results += _results(client.request_json("POST", "composite/sobjects", json=body))
    return results


def delete(client: SalesforceClient, ids: Sequence[str]) -> list[RecordResult]:
    results: list[RecordResult] = []
    for chunk in chunks(ids):
        answer = client.request_json(
            "DELETE", "composite/sobjects", params={"ids": ",".join(chunk), "allOrNone": "false"}
        )
        results += _results(answer)
    return results
