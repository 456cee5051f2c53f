"""Bulk API 2.0 query jobs, read as a stream of records: for copies too big for REST pages."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import FatalSalesforceError
from .client import SalesforceClient

TERMINAL_STATES = frozenset({"JobComplete", "Failed", "Aborted"})
# Polls back off to this; longer waits overshoot a finished job by up to the wait (a copy waits
# for its job once per object), shorter ones spend API calls on long jobs.
MAX_POLL_INTERVAL = 2.0


Page = tuple[list[str], list[list[str]]]  # (header, rows of CSV cells; "" for null)


def query_records(
    client: SalesforceClient,
    soql: str,
    *,
    include_deleted: bool = False,
    page_size: int = 50_000,
    poll_interval: float = 0.05,
    on_page: Callable[[int], None] | None = None,
) -> Iterator[dict[str, str | None]]:
    """Run a Bulk 2.0 query job and yield its rows (empty cells as None), page by page."""
    for header, rows in query_pages(
        client,
        soql,
        include_deleted=include_deleted,
        page_size=page_size,
        poll_interval=poll_interval,
    ):
        if on_page is not None:
            on_page(len(rows))
        for row in rows:
            yield {
                name: (cell if cell != "" else None)
                for name, cell in zip(header, row, strict=False)
            }


def query_pages(
    client: SalesforceClient,
    soql: str,
    *,
    include_deleted: bool = False,
    page_size: int = 50_000,
    poll_interval: float = 0.05,
) -> Iterator[Page]:
    """Run a Bulk 2.0 query job and yield its result pages as parsed CSV: the header and the
    rows as lists of cells. Rows stay lists (no dict per row): a million-record copy decodes
    them by column position (`records.RowDecoder`)."""
    job = client.request_json(
        "POST",
        "jobs/query",
        json={
            "operation": "queryAll" if include_deleted else "query",
            "query": soql,
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        },
    )
    job_id = str(job["id"])
    try:
        wait_for_job(client, job_id, poll_interval)
        locator: str | None = None
        while True:
            params = {"maxRecords": str(page_size)}
            if locator:
                params["locator"] = locator
            response = client.request("GET", f"jobs/query/{job_id}/results", params=params)
            locator = response.headers.get("sforce-locator")
            page = _parse(response.text)
            del response  # the page's text is no longer needed: keep memory to one page
            if page[0]:
                yield page
            if not locator or locator == "null":
                return
    finally:
        client.request("DELETE", f"jobs/query/{job_id}")


def wait_for_job(
    client: SalesforceClient, job_id: str, poll_interval: float, *, kind: str = "query"
) -> None:
    """Poll a Bulk 2.0 job (`kind` "query" or "ingest") until it completes, backing off to
    MAX_POLL_INTERVAL; a failed or aborted job is a FatalSalesforceError."""
    delay = poll_interval
    while True:
        client.sleep(delay)  # a job is never complete the moment it was created
        info: dict[str, Any] = client.request_json("GET", f"jobs/{kind}/{job_id}")
        state = info.get("state")
        if state == "JobComplete":
            return
        if state in TERMINAL_STATES:
            raise FatalSalesforceError(
                "BULK_JOB_FAILED",
                f"bulk {kind} job {job_id} ended {state}: "
                f"{info.get('errorMessage') or 'no reason given'}",
            )
        delay = min(delay * 2, MAX_POLL_INTERVAL)


def _parse(text: str) -> Page:
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        return [], []
    return header, list(reader)
