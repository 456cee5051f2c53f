"""Bulk API 2.0 ingest jobs: one CSV upload, processed in chunks of 200 through `writes`.

Each data row becomes a record keyed by the header's field names: an empty cell leaves the
field alone, `#N/A` sets it to null, and `Rel.ExtField` columns find the parent by its external
id. Results are three CSV files (successful, failed, unprocessed) carrying the original cells.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import writes
from .bulk import (
    DELIMITERS,
    LINE_ENDINGS,
    TERMINAL_STATES,
    BulkJob,
    JobRegistry,
    JobRemoved,
    choose,
    csv_writer,
    invalid_job,
    job_not_found,
    job_state_error,
)
from .errors import SalesforceError
from .schema import FieldDef, Profile, Schema, SObjectDef
from .store import quote

if TYPE_CHECKING:
    from .sessions import Session

MAX_UPLOAD = 100 * 1024 * 1024
CHUNK = 200
NULL_MARK = "#N/A"
OPERATIONS = {op: op for op in ("insert", "update", "upsert", "delete", "hardDelete")}
RESULT_KINDS = ("successfulResults", "failedResults", "unprocessedrecords")


class IngestJob(BulkJob):
    job_type = "V2Ingest"

    def __init__(self, *, external_id_field: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.external_id_field = external_id_field
        self.upload_path = self.workdir / "upload.csv"
        self.uploaded = False
        self.failed = 0
        self.columns: list[str] = []

    def content_url(self) -> str:
        return f"services/data/v{self.api_version}/jobs/ingest/{self.id}/batches"

    def info(self, *, full: bool) -> dict[str, Any]:
        body = self.summary()
        if self.external_id_field:
            body["externalIdFieldName"] = self.external_id_field
        if full:
            body["jobType"] = self.job_type
        if self.state == "Open":
            body["contentUrl"] = self.content_url()
        body.update(self.dialect())
        if full:
            body["numberRecordsProcessed"] = self.processed
            body["numberRecordsFailed"] = self.failed
            body["retries"] = 0
            millis = self.processing_millis()
            body["totalProcessingTime"] = millis
            body["apiActiveProcessingTime"] = millis
            body["apexProcessingTime"] = 0
            if self.error_message:
                body["errorMessage"] = self.error_message
        return body

    def result_path(self, kind: str) -> Any:
        return self.workdir / f"{kind}.csv"

    def result_header(self, kind: str) -> list[str]:
        if kind == "successfulResults":
            return ["sf__Id", "sf__Created", *self.columns]
        if kind == "failedResults":
            return ["sf__Id", "sf__Error", *self.columns]
        return list(self.columns)


# -- creation and upload ---------------------------------------------------------------------


def create(registry: JobRegistry, session: Session, version: str, body: Any) -> IngestJob:
    if not isinstance(body, dict):
        raise SalesforceError("JSON_PARSER_ERROR", "The request body must be a JSON object")
    operation = choose(OPERATIONS, body.get("operation"), "OperationEnum", "")
    if not operation:
        raise invalid_job("InvalidJob : Operation is required")
    choose({"CSV": "CSV"}, body.get("contentType"), "ContentType", "CSV")
    delimiter = choose(DELIMITERS, body.get("columnDelimiter"), "ColumnDelimiterEnum", "COMMA")
    line_ending = choose(LINE_ENDINGS, body.get("lineEnding"), "LineEndingEnum", "LF")
    org = registry.org
    obj = _object(org, session, body.get("object"))
    external = body.get("externalIdFieldName")
    if operation == "upsert":
        external = _external_field(session, obj, external).name
    elif external is not None:
        raise invalid_job("InvalidJob : externalIdFieldName is only allowed for upsert")
    job_id, workdir = registry.new_id()
    job = IngestJob(
        external_id_field=external,
        job_id=job_id,
        operation=operation,
        object_name=obj.name,
        session=session,
        created=org.clock.now(),
        api_version=version,
        column_delimiter=delimiter,
        line_ending=line_ending,
        workdir=workdir,
    )
    registry.add(job)
    return job


def _object(org: Any, session: Session, name: Any) -> SObjectDef:
    if not isinstance(name, str) or not name:
        raise invalid_job("InvalidJob : Object is required")
    obj: SObjectDef | None = org.schema.get(name)
    if obj is None or not session.profile.can_see_object(obj.name):
        raise SalesforceError("INVALIDENTITY", f"Entity '{name}' is not supported by the Bulk API.")
    return obj


def _external_field(session: Session, obj: SObjectDef, name: Any) -> FieldDef:
    if not isinstance(name, str) or not name:
        raise invalid_job("InvalidJob : externalIdFieldName is required for upsert")
    found = obj.field(name)
    if (
        found is None
        or not (found.external_id or found.name == "Id")
        or not session.profile.can_see(obj.name, found.name)
    ):
        raise invalid_job(f"InvalidJob : Field {name} is not an external id field of {obj.name}")
    return found


def begin_upload(job: IngestJob) -> Any:
    """Open the job's upload file; only one upload per job, and only while it is Open."""
    with job.lock:
        if job.removed:
            raise job_not_found()
        if job.state != "Open":
            raise job_state_error(
                f"Job {job.id} is {job.state}; data can only be uploaded while Open"
            )
        if job.uploaded:
            raise job_state_error(
                f"Found multiple contents for job: <{job.id}>, please 'Close' / 'Abort' / "
                "'Delete' the current Job then create a new Job and make sure the content is "
                "uploaded only once."
            )
        job.uploaded = True
        return job.create_file(job.upload_path)


def note_header(job: IngestJob) -> None:
    """Remember the upload's columns, so results of a job not yet run still have them."""
    rows = _rows(job)
    try:
        job.columns = _header(job, rows)
    except (BatchFailure, csv.Error):
        job.columns = []
    finally:
        if hasattr(rows, "close"):
            rows.close()


def upload_too_large(job: IngestJob) -> SalesforceError:
    job.upload_path.unlink(missing_ok=True)
    with job.lock:
        job.uploaded = False
    return SalesforceError(
        "CLIENTINPUTERROR", "Upload exceeds the maximum of 100 MB for one request", 400
    )


def patch(registry: JobRegistry, job: IngestJob, body: Any) -> str:
    """`{"state": "UploadComplete"}` starts processing; `{"state": "Aborted"}` stops the job.
    Returns the state the call moved the job to."""
    state = body.get("state") if isinstance(body, dict) else None
    now = registry.org.clock.now()
    if state == "UploadComplete":
        with job.lock:
            if job.state != "Open":
                raise job_state_error(f"Closing already {job.state} Job not allowed")
            job.set_state("UploadComplete", now)
        registry.start(job, lambda: _run(registry, job))
        return "UploadComplete"
    if state == "Aborted":
        with job.lock:
            not_started = job.state in ("Open", "UploadComplete")
            if not job.set_state("Aborted", now):
                raise job_state_error(f"Aborting already {_past(job.state)} Job not allowed")
        if not_started:
            # No worker will process rows (one still queued sees the abort and stops), so
            # the uploaded rows are reported here; a worker already running does it itself.
            _leave_unprocessed(job)
        return "Aborted"
    raise job_state_error(f"Invalid state transition to {state!r} for an ingest job")


def _past(state: str) -> str:
    return {"JobComplete": "Completed"}.get(state, state)


# -- processing ------------------------------------------------------------------------------


@dataclass
class Column:
    """One header column: a field of the object, or a parent looked up by external id."""

    name: str
    target: FieldDef | None  # the field written (for lookups: the reference field)
    parent: SObjectDef | None = None
    parent_key: FieldDef | None = None


@dataclass
class Row:
    cells: list[str]
    values: dict[str, Any] = field(default_factory=dict)
    error: SalesforceError | None = None
    record_id: str = ""


class BatchFailure(Exception):
    """The upload as a whole cannot be processed (Salesforce's `InvalidBatch`)."""


class _Outputs:
    """The three result files, written as rows are decided."""

    def __init__(self, job: IngestJob) -> None:
        self.job = job
        self._files: dict[str, Any] = {}
        self._writers: dict[str, Any] = {}
        try:
            for kind in RESULT_KINDS:
                handle = job.create_file(job.result_path(kind), "w", encoding="utf-8", newline="")
                self._files[kind] = handle
                self._writers[kind] = csv_writer(handle, job.column_delimiter, job.line_ending)
        except BaseException:
            self.close()
            raise

    def success(self, row: Row, record_id: str, created: bool) -> None:
        self._writers["successfulResults"].writerow(
            [record_id, "true" if created else "false", *row.cells]
        )

    def failure(self, row: Row, errors: Sequence[SalesforceError]) -> None:
        self._writers["failedResults"].writerow([row.record_id, _error_text(errors), *row.cells])

    def unprocessed(self, cells: list[str]) -> None:
        self._writers["unprocessedrecords"].writerow(cells)

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()


def _error_text(errors: Sequence[SalesforceError]) -> str:
    """`CODE:message:fields --` (`CODE:message:--` without fields), as in `sf__Error`."""
    return "; ".join(
        f"{e.code}:{e.message}:{','.join(e.fields) + ' ' if e.fields else ''}--" for e in errors
    )


def _run(registry: JobRegistry, job: IngestJob) -> None:
    org = registry.org
    if not job.set_state("InProgress", org.clock.now()):
        return  # aborted before it started: the abort reported the rows as unprocessed
    outputs = _Outputs(job)
    try:
        finished = _process(registry, job, outputs)
    except BatchFailure as failure:
        outputs.close()
        _leave_unprocessed(job)
        job.set_state("Failed", org.clock.now(), error=f"InvalidBatch : {failure}")
        return
    finally:
        outputs.close()
    if finished:
        job.set_state("JobComplete", org.clock.now())


def _rows(job: IngestJob) -> Iterator[list[str]]:
    if not job.upload_path.exists():
        return
    with open(job.upload_path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        yield from csv.reader(handle, delimiter=DELIMITERS[job.column_delimiter], strict=False)


def _header(job: IngestJob, rows: Iterator[list[str]]) -> list[str]:
    for header in rows:
        if any(cell.strip() for cell in header):
            return [cell.strip() for cell in header]
    raise BatchFailure("No data found in the upload")


def _process(registry: JobRegistry, job: IngestJob, outputs: _Outputs) -> bool:
    org = registry.org
    obj = org.schema.get(job.object_name)
    assert obj is not None
    rows = _rows(job)
    try:
        header = _header(job, rows)
    except csv.Error as error:
        raise BatchFailure(f"Unable to parse the CSV header: {error}") from None
    job.columns = header
    columns = _columns(job, org.schema, obj, header)
    pending: list[list[str]] = []
    try:
        for cells in rows:
            if not cells:
                continue
            pending.append(cells)
            if len(pending) == CHUNK:
                if job.aborted:
                    break
                _apply(registry, job, obj, columns, pending, outputs)
                pending = []
        else:
            if pending and not job.aborted:
                _apply(registry, job, obj, columns, pending, outputs)
                pending = []
    except csv.Error as error:
        # A broken quote ends parsing; what could not be read is reported, not lost silently.
        raise BatchFailure(f"Unable to parse the CSV data: {error}") from None
    if not job.aborted:
        return True
    for cells in pending:
        outputs.unprocessed(cells)
    try:
        for cells in rows:
            if cells:
                outputs.unprocessed(cells)
    except csv.Error:
        pass  # the abort stands; an unreadable tail cannot be reported row by row
    return False


def _columns(job: IngestJob, schema: Schema, obj: SObjectDef, header: list[str]) -> list[Column]:
    profile = job.session.profile
    seen: set[str] = set()
    columns: list[Column] = []
    for name in header:
        lowered = name.lower()
        if lowered in seen:
            raise BatchFailure(f"Duplicate field name: {name}")
        seen.add(lowered)
        columns.append(_column(schema, obj, profile, name))
    names = {c.target.name for c in columns if c.target is not None and c.parent is None}
    required = _key_column(job)
    if required is not None and required not in names:
        raise BatchFailure(f"Field name not found : {required}")
    return columns


def _column(schema: Schema, obj: SObjectDef, profile: Profile, name: str) -> Column:
    relationship, dot, key = name.partition(".")
    if dot:
        reference = obj.relationship(relationship)
        parent = None
        if reference is not None and len(reference.reference_to) == 1:
            parent = schema.get(reference.reference_to[0])
        parent_key = parent.field(key) if parent is not None else None
        if (
            reference is None
            or parent is None
            or parent_key is None
            or not (parent_key.external_id or parent_key.name == "Id")
            or not profile.can_see(obj.name, reference.name)
        ):
            raise BatchFailure(f"Field name not found : {name}")
        return Column(name, reference, parent, parent_key)
    found = obj.field(name)
    if found is None or not found.stored or not profile.can_see(obj.name, found.name):
        raise BatchFailure(f"Field name not found : {name}")
    return Column(name, found)


def _key_column(job: IngestJob) -> str | None:
    if job.operation in ("update", "delete", "hardDelete"):
        return "Id"
    if job.operation == "upsert":
        return job.external_id_field
    return None


def _apply(
    registry: JobRegistry,
    job: IngestJob,
    obj: SObjectDef,
    columns: list[Column],
    chunk: list[list[str]],
    outputs: _Outputs,
) -> None:
    rows = [_parse_row(job, columns, cells) for cells in chunk]
    _resolve_parents(registry, columns, rows)
    ready = [row for row in rows if row.error is None]
    for row in rows:
        if row.error is not None:
            outputs.failure(row, [row.error])
    try:
        results = _save(registry, job, obj, ready)
    except SalesforceError as error:
        results = [writes.SaveResult(None, False, [error]) for _ in ready]
    for row, result in zip(ready, results, strict=True):
        if result.success:
            created = result.created if result.created is not None else job.operation == "insert"
            outputs.success(row, result.id or row.record_id, created)
        else:
            row.record_id = row.record_id or (result.id or "")
            outputs.failure(row, result.errors)
    failed = len(rows) - sum(1 for r in results if r.success)
    with job.lock:
        job.processed += len(rows)
        job.failed += failed


def _parse_row(job: IngestJob, columns: list[Column], cells: list[str]) -> Row:
    row = Row(cells)
    if len(cells) != len(columns):
        row.error = SalesforceError(
            "INVALID_FIELD",
            f"Wrong number of columns: expected {len(columns)}, found {len(cells)}",
        )
        return row
    for column, cell in zip(columns, cells, strict=True):
        if cell == "":
            continue
        value: Any = None if cell == NULL_MARK else cell
        assert column.target is not None
        if column.parent is not None:
            row.values[column.name] = value  # replaced by the parent's id
        elif column.target.name == "Id" and job.operation != "upsert":
            row.record_id = cell
        else:
            row.values[column.target.name] = value
    if job.operation in ("update", "delete", "hardDelete") and not row.record_id:
        verb = "an update" if job.operation == "update" else "a delete"
        row.error = SalesforceError("MISSING_ARGUMENT", f"Id not specified in {verb} call")
    return row


def _resolve_parents(registry: JobRegistry, columns: list[Column], rows: list[Row]) -> None:
    """Swap `Rel.ExtField` values for parent ids, one query per lookup column and chunk."""
    conn = registry.org.store.reader()
    for column in columns:
        if column.parent is None:
            continue
        assert column.parent_key is not None and column.target is not None
        wanted = {
            str(row.values[column.name])
            for row in rows
            if row.error is None and row.values.get(column.name) is not None
        }
        found: dict[str, list[str]] = {}
        if wanted:
            key = quote(column.parent_key.name)
            marks = ", ".join("?" for _ in wanted)
            for parent_id, value in conn.execute(
                f'SELECT "Id", {key} FROM {quote(column.parent.name)} '
                f'WHERE {key} IN ({marks}) AND "IsDeleted" = 0',
                list(wanted),
            ):
                found.setdefault(str(value).lower(), []).append(parent_id)
        for row in rows:
            if row.error is not None or column.name not in row.values:
                continue
            value = row.values.pop(column.name)
            if value is None:
                row.values[column.target.name] = None
                continue
            matches = found.get(str(value).lower(), [])
            if len(matches) == 1:
                row.values[column.target.name] = matches[0]
                continue
            row.error = SalesforceError(
                "INVALID_FIELD",
                f"Foreign key external ID: {value} not found for field "
                f"{column.parent_key.name} in entity {column.parent.name}"
                if not matches
                else f"More than one record found for external ID: {value} "
                f"on field {column.parent_key.name} in entity {column.parent.name}",
                fields=[column.target.name],
            )


def _save(
    registry: JobRegistry, job: IngestJob, obj: SObjectDef, rows: list[Row]
) -> list[writes.SaveResult]:
    if not rows:
        return []
    org = registry.org
    session = job.session
    if job.operation == "insert":
        return writes.create(org, session, [(obj.name, row.values) for row in rows])
    if job.operation == "update":
        return writes.update(org, session, [(obj.name, row.record_id, row.values) for row in rows])
    if job.operation == "upsert":
        assert job.external_id_field is not None
        return writes.upsert(
            org, session, obj.name, job.external_id_field, [row.values for row in rows]
        )
    return writes.delete(org, session, [row.record_id for row in rows])


def _leave_unprocessed(job: IngestJob) -> None:
    """Copy every data row of the upload to the unprocessed results (job failed or aborted
    before processing)."""
    rows = _rows(job)
    try:
        header = next((h for h in rows if any(c.strip() for c in h)), None)
        if header is None:
            return
        job.columns = [cell.strip() for cell in header]
        with job.create_file(
            job.result_path("unprocessedrecords"), "w", encoding="utf-8", newline=""
        ) as handle:
            writer = csv_writer(handle, job.column_delimiter, job.line_ending)
            for cells in rows:
                if cells:
                    writer.writerow(cells)
    except (csv.Error, JobRemoved):
        return


# -- results ---------------------------------------------------------------------------------


def result_header(job: IngestJob, kind: str) -> bytes:
    buffer = io.StringIO()
    csv_writer(buffer, job.column_delimiter, job.line_ending).writerow(job.result_header(kind))
    return buffer.getvalue().encode("utf-8")


def result_ready(job: IngestJob) -> bool:
    """Results are served once the job ended and its worker closed the result files (a job
    aborted while running is Aborted at once, but its worker stops at the next chunk)."""
    return job.state in TERMINAL_STATES and not job.worker_running()


def list_body(registry: JobRegistry) -> dict[str, Any]:
    jobs = sorted(registry.jobs(IngestJob), key=lambda job: job.id)
    return {
        "done": True,
        "records": [
            {**job.info(full=False), "jobType": job.job_type}
            for job in jobs
            if isinstance(job, IngestJob)
        ],
        "nextRecordsUrl": None,
    }
