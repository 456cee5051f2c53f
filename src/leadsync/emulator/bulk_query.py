"""Bulk API 2.0 query jobs.

A job compiles its SOQL when created (so bad queries fail the create call), then a worker
thread runs it on a snapshot connection and streams the rows into one CSV file. Every
`INDEX_STRIDE`-th row's byte offset is kept; a page starting at any row seeks to the nearest
indexed row and skips the rest by scanning record ends. Memory stays flat whatever the size.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from . import bulk_csv, query
from .bulk import (
    DELIMITERS,
    LINE_ENDINGS,
    BulkJob,
    JobRegistry,
    choose,
    csv_writer,
    decode_locator,
    encode_locator,
    file_chunks,
    invalid_job,
    job_not_found,
    job_state_error,
)
from .errors import SalesforceError

if TYPE_CHECKING:
    from .sessions import Session

# Rows per write to the result file, and between two indexed offsets.
INDEX_STRIDE = 2000
DEFAULT_PAGE_SIZE = 50_000
OPERATIONS = {"query": "query", "queryAll": "queryAll"}


class QueryJob(BulkJob):
    job_type = "V2Query"

    def __init__(self, *, soql: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.soql = soql
        self.header = b""
        self.data_path = self.workdir / "result.csv"
        # offsets[i] is where row i * INDEX_STRIDE starts; `size` is where the data ends.
        self.offsets: list[int] = []
        self.size = 0

    def info(self, *, full: bool) -> dict[str, Any]:
        body = self.summary()
        if full:
            body["jobType"] = self.job_type
        body.update(self.dialect())
        if full:
            body["numberRecordsProcessed"] = self.processed
            body["retries"] = 0
            body["totalProcessingTime"] = self.processing_millis()
            body["isPkChunkingSupported"] = True
            if self.error_message:
                body["errorMessage"] = self.error_message
        return body


def create(registry: JobRegistry, session: Session, version: str, body: Any) -> QueryJob:
    """Validate and compile a query job request, register it and start it."""
    if not isinstance(body, dict):
        raise SalesforceError("JSON_PARSER_ERROR", "The request body must be a JSON object")
    operation = choose(OPERATIONS, body.get("operation"), "OperationEnum", "")
    if not operation:
        raise invalid_job("Operation is required for a query job: query or queryAll")
    choose({"CSV": "CSV"}, body.get("contentType"), "ContentType", "CSV")
    delimiter = choose(DELIMITERS, body.get("columnDelimiter"), "ColumnDelimiterEnum", "COMMA")
    line_ending = choose(LINE_ENDINGS, body.get("lineEnding"), "LineEndingEnum", "LF")
    soql = body.get("query")
    if not isinstance(soql, str) or not soql.strip():
        raise invalid_job("A query is required for a query job")
    org = registry.org
    compiled = query.compile_query(
        org, session.profile, soql, include_deleted=operation == "queryAll"
    )
    _check_bulk_support(compiled)
    job_id, workdir = registry.new_id()
    job = QueryJob(
        soql=soql,
        job_id=job_id,
        operation=operation,
        object_name=compiled.object_name,
        session=session,
        created=org.clock.now(),
        api_version=version,
        column_delimiter=delimiter,
        line_ending=line_ending,
        workdir=workdir,
    )
    job.state = "UploadComplete"
    registry.add(job)
    registry.start(job, lambda: _run(registry, job, compiled))
    return job


def _check_bulk_support(compiled: query.CompiledQuery) -> None:
    if compiled.uses_compound_fields:
        raise SalesforceError(
            "INVALID_FIELD", "Selecting compound data not supported in Bulk Query"
        )
    if compiled.has_subquery:
        raise SalesforceError(
            "FUNCTIONALITY_NOT_ENABLED",
            "Parent-child relationship queries (sub-queries) are not supported in Bulk Query",
        )
    if compiled.count_only or getattr(compiled, "aggregate", False):
        raise SalesforceError(
            "FUNCTIONALITY_NOT_ENABLED", "Aggregate queries are not supported in Bulk Query"
        )


def _run(registry: JobRegistry, job: QueryJob, compiled: query.CompiledQuery) -> None:
    org = registry.org
    if not job.set_state("InProgress", org.clock.now()):
        return
    delimiter = DELIMITERS[job.column_delimiter]
    line_ending = LINE_ENDINGS[job.line_ending]
    header_buffer = io.StringIO()
    csv_writer(header_buffer, job.column_delimiter, job.line_ending).writerow(compiled.csv_header())
    job.header = header_buffer.getvalue().encode("utf-8")
    conn = org.store.snapshot()
    try:
        conn.execute("BEGIN")
        chunks = bulk_csv.csv_chunks(compiled, conn, delimiter, line_ending, INDEX_STRIDE)
        completed = _write_rows(job, chunks)
    finally:
        conn.close()
    if completed:
        job.set_state("JobComplete", org.clock.now())


def _write_rows(job: QueryJob, chunks: Iterator[bulk_csv.Chunk]) -> bool:
    """Write all rows to the result file, noting where every `INDEX_STRIDE`-th row starts
    (each chunk but the last holds that many rows); False when the job was aborted meanwhile.

    `offsets`, `size` and `processed` are final before the job turns JobComplete, and pages
    are only served from a complete job, so readers never see a file still being written."""
    with job.create_file(job.data_path) as raw:
        position = 0
        for count, text in chunks:
            if job.aborted:
                return False
            job.offsets.append(position)
            position += raw.write(text.encode("utf-8"))
            job.processed += count
        job.size = position
    return True


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """A slice of the result file: bytes [start, end), `count` rows, and the next locator.

    `handle` is the result file, opened when the page was computed: the body is read from
    it, so it always has the `length` announced, even if the job is deleted meanwhile."""

    job: QueryJob
    start: int
    end: int
    count: int
    locator: str
    handle: IO[bytes]

    @property
    def length(self) -> int:
        return len(self.job.header) + self.end - self.start

    def chunks(self) -> Iterator[bytes]:
        """The body; closes the handle once read (or when dropped unread)."""
        return file_chunks(self.job.header, self.handle, self.start, self.end)


def page(job: QueryJob, locator: str | None, max_records: str | None) -> Page:
    """The page of results at `locator` (the first page when absent)."""
    size = _page_size(max_records)
    with job.lock:
        if job.removed:
            raise job_not_found()
        if job.state != "JobComplete":
            if job.state in ("Failed", "Aborted"):
                raise job_state_error(f"Job {job.id} is {job.state}; it has no results")
            raise SalesforceError(
                "JOB_NOT_COMPLETE", f"The job {job.id} is not complete: state {job.state}", 412
            )
        handle = job.open_file(job.data_path)
    if handle is None:
        raise job_not_found()
    try:
        first = 0
        if locator not in (None, "", "null"):
            assert locator is not None
            decoded = decode_locator(locator)
            if decoded is None or decoded > job.processed:
                raise SalesforceError("INVALIDLOCATOR", f"Invalid locator: {locator}", 400)
            first = decoded
        last = min(first + size, job.processed)
        start = _row_offset(job, handle, first)
        end = _row_offset(job, handle, last)
        if os.fstat(handle.fileno()).st_size < end:
            raise SalesforceError(
                "UNKNOWN_EXCEPTION", f"The results of job {job.id} are incomplete", 500
            )
    except BaseException:
        handle.close()
        raise
    next_locator = encode_locator(last) if last < job.processed else "null"
    return Page(job, start, end, last - first, next_locator, handle)


def _page_size(max_records: str | None) -> int:
    if max_records in (None, ""):
        return DEFAULT_PAGE_SIZE
    assert max_records is not None
    try:
        size = int(max_records)
    except ValueError:
        size = 0
    if size <= 0:
        raise SalesforceError(
            "INVALIDPARAMETER", f"maxRecords must be a positive integer: {max_records}", 400
        )
    return size


def _row_offset(job: QueryJob, handle: IO[bytes], row: int) -> int:
    """Byte offset where `row` starts (the data size for the row past the last)."""
    if row >= job.processed:
        return job.size
    stride, skip = divmod(row, INDEX_STRIDE)
    start = job.offsets[stride]
    if skip == 0:
        return start
    end = job.offsets[stride + 1] if stride + 1 < len(job.offsets) else job.size
    handle.seek(start)
    data = handle.read(end - start)
    return start + _skip_records(data, skip)


def _skip_records(data: bytes, count: int) -> int:
    """Bytes taken by the first `count` records of all-quoted CSV.

    Every value is quoted, so a newline ends a record exactly when the quotes before it
    (from a record start) are balanced; newlines inside values sit after an odd count.
    """
    position = 0
    quotes = 0
    while count:
        newline = data.find(b"\n", position)
        if newline < 0:
            return len(data)
        quotes += data.count(b'"', position, newline)
        position = newline + 1
        if quotes % 2 == 0:
            count -= 1
    return position


def list_body(registry: JobRegistry) -> dict[str, Any]:
    jobs = sorted(registry.jobs(QueryJob), key=lambda job: job.id)
    return {
        "done": True,
        "records": [
            {**job.info(full=False), "jobType": job.job_type}
            for job in jobs
            if isinstance(job, QueryJob)
        ],
        "nextRecordsUrl": None,
    }


def abort(registry: JobRegistry, job: BulkJob, body: Any) -> None:
    """PATCH on a job: only `{"state": "Aborted"}` is meaningful for query jobs."""
    state = body.get("state") if isinstance(body, dict) else None
    if state != "Aborted":
        raise job_state_error(f"Invalid state transition to {state!r} for a query job")
    if not job.set_state("Aborted", registry.org.clock.now()):
        raise job_state_error(f"Aborting already {_past(job.state)} Job not allowed")


def _past(state: str) -> str:
    return {"JobComplete": "Completed"}.get(state, state)
