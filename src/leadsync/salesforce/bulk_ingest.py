"""Bulk API 2.0 ingest jobs: for pushes too big for sObject Collections.

create the job, upload one CSV, close it (UploadComplete), poll until it ends, then read the
successful and failed results and answer one `RecordResult` per input record, in input order
(results are matched back by `Id`, or by the external id of an upsert).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from .bulk import wait_for_job
from .client import SalesforceClient
from .collections import RecordResult

NULL = "#N/A"  # Bulk 2.0's "set this field to null"


def ingest(
    client: SalesforceClient,
    object_name: str,
    operation: str,
    records: Sequence[Mapping[str, Any]],
    *,
    external_id_field: str | None = None,
    poll_interval: float = 0.2,
) -> list[RecordResult]:
    """Run one ingest job (`update`, `insert` or `upsert`) over `records`."""
    if not records:
        return []
    key = external_id_field if operation == "upsert" else "Id"
    spec: dict[str, Any] = {
        "object": object_name,
        "operation": operation,
        "contentType": "CSV",
        "lineEnding": "LF",
    }
    if operation == "upsert":
        spec["externalIdFieldName"] = external_id_field
    job = client.request_json("POST", "jobs/ingest", json=spec)
    job_id = str(job["id"])
    client.request(
        "PUT",
        f"jobs/ingest/{job_id}/batches",
        content=to_csv(records).encode("utf-8"),
        headers={"Content-Type": "text/csv"},
    )
    client.request_json("PATCH", f"jobs/ingest/{job_id}", json={"state": "UploadComplete"})
    wait_for_job(client, job_id, poll_interval, kind="ingest")
    by_key: dict[str, RecordResult] = {}
    for row in _rows(client, job_id, "successfulResults"):
        result = RecordResult(row.get("sf__Id") or None, True, row.get("sf__Created") == "true")
        by_key[str(row.get(key or "Id") or row.get("sf__Id"))] = result
    for row in _rows(client, job_id, "failedResults"):
        by_key[str(row.get(key or "Id") or "")] = RecordResult(
            row.get("sf__Id") or None, False, None, [_error(row.get("sf__Error") or "")]
        )
    unprocessed = {"statusCode": "UNPROCESSED", "message": "not processed by the job"}
    return [
        by_key.get(str(record.get(key or "Id")), RecordResult(None, False, None, [unprocessed]))
        for record in records
    ]


def to_csv(records: Sequence[Mapping[str, Any]]) -> str:
    columns = list(dict.fromkeys(name for record in records for name in record))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow([_cell(record[c]) if c in record else "" for c in columns])
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _rows(client: SalesforceClient, job_id: str, kind: str) -> list[dict[str, str]]:
    text = client.request("GET", f"jobs/ingest/{job_id}/{kind}").text
    return list(csv.DictReader(io.StringIO(text)))


def _error(text: str) -> dict[str, Any]:
    """`CODE:message:fields --` into a collections-style error."""
    first = text.split("; ")[0].removesuffix("--")
    code, _, rest = first.partition(":")
    message, _, fields = rest.rpartition(":") if rest.count(":") else (rest, "", "")
    return {
        "statusCode": code or "UNKNOWN_ERROR",
        "message": message.strip(),
        "fields": [f for f in fields.strip().split(",") if f],
    }
