"""Bulk API 2.0: the per-org job registry and what query and ingest jobs share.

Jobs live in memory (a restarted org has no jobs, as if they had expired); their data lives in
temporary files under one directory per org, removed with the registry. Each job runs in its own
daemon thread so that creating or closing a job answers at once, as Salesforce does.

    bulk.py          registry, job base class, CSV dialects, locators
    bulk_query.py    query jobs: result file with a row index, pages served from any row
    bulk_ingest.py   ingest jobs: uploads, processing through `writes`, result files
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import csv
import logging
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import SalesforceError
from .ids import KEY_PREFIXES
from .values import format_datetime_json

if TYPE_CHECKING:
    from .org import Org
    from .sessions import Session

log = logging.getLogger("leadsync.emulator.bulk")

DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
TERMINAL_STATES = frozenset({"JobComplete", "Failed", "Aborted"})
EXTENSION_KEY = "bulk_jobs"


def job_state_error(message: str) -> SalesforceError:
    return SalesforceError("INVALIDJOBSTATE", message, 400)


def invalid_job(message: str) -> SalesforceError:
    return SalesforceError("INVALIDJOB", message, 400)


def choose(options: dict[str, str], value: Any, name: str, default: str) -> str:
    """Validate an enum-valued job property (Salesforce rejects unknown enum values)."""
    if value is None:
        return default
    if not isinstance(value, str) or value not in options:
        raise SalesforceError(
            "JSON_PARSER_ERROR",
            f"Cannot deserialize value of type `{name}` from String {value!r}: "
            f"value not one of declared Enum instance names: [{', '.join(options)}]",
        )
    return value


def csv_writer(target: Any, delimiter: str, line_ending: str) -> Any:
    """A writer in Bulk 2.0's dialect: every value double-quoted, quotes doubled."""
    return csv.writer(
        target,
        delimiter=DELIMITERS[delimiter],
        lineterminator=LINE_ENDINGS[line_ending],
        quoting=csv.QUOTE_ALL,
    )


def encode_locator(row: int) -> str:
    return base64.urlsafe_b64encode(str(row).encode()).decode().rstrip("=")


def decode_locator(locator: str) -> int | None:
    """The row a locator points at, or None for anything we did not hand out."""
    text = locator.strip()
    if not text or len(text) > 24:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        row = int(raw.decode("ascii"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return row if row >= 0 else None


class BulkJob:
    """State shared by query and ingest jobs. Subclasses add their counters and files."""

    job_type = ""

    def __init__(
        self,
        *,
        job_id: str,
        operation: str,
        object_name: str,
        session: Session,
        created: int,
        api_version: str,
        column_delimiter: str,
        line_ending: str,
        workdir: Path,
    ) -> None:
        self.id = job_id
        self.operation = operation
        self.object_name = object_name
        self.session = session
        self.created = created
        self.modstamp = created
        self.api_version = api_version
        self.column_delimiter = column_delimiter
        self.line_ending = line_ending
        self.workdir = workdir
        self.state = "Open"
        self.error_message: str | None = None
        self.processed = 0
        self.lock = threading.RLock()
        self.done = threading.Event()
        self.started_at: float | None = None
        self.finished_at: float | None = None

    # -- state ------------------------------------------------------------------------------

    def set_state(self, state: str, now: int, error: str | None = None) -> bool:
        """Move to `state` unless the job already ended (an abort wins over a late finish)."""
        with self.lock:
            if self.state in TERMINAL_STATES:
                return False
            self.state = state
            self.modstamp = now
            if error is not None:
                self.error_message = error
            if state in TERMINAL_STATES:
                self.finished_at = time.monotonic()
                self.done.set()
            return True

    @property
    def aborted(self) -> bool:
        return self.state == "Aborted"

    def processing_millis(self) -> int:
        if self.started_at is None:
            return 0
        end = self.finished_at if self.finished_at is not None else time.monotonic()
        return int((end - self.started_at) * 1000)

    # -- wire shapes ------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """The job info every Bulk 2.0 resource starts with, in Salesforce's key order."""
        return {
            "id": self.id,
            "operation": self.operation,
            "object": self.object_name,
            "createdById": self.session.user_id,
            "createdDate": format_datetime_json(self.created),
            "systemModstamp": format_datetime_json(self.modstamp),
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.api_version),
        }

    def dialect(self) -> dict[str, Any]:
        return {"lineEnding": self.line_ending, "columnDelimiter": self.column_delimiter}

    def remove_files(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


class JobRegistry:
    """The org's Bulk 2.0 jobs, their working directory and their worker threads."""

    def __init__(self, org: Org) -> None:
        self._org = weakref.ref(org)
        self._jobs: dict[str, BulkJob] = {}
        self._lock = threading.Lock()
        self.root = Path(tempfile.mkdtemp(prefix="leadsync-bulk-"))
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self.root), True)
        # Cleared by `hold()` so tests can observe jobs before they run.
        self._may_run = threading.Event()
        self._may_run.set()

    @property
    def org(self) -> Org:
        org = self._org()
        if org is None:
            raise RuntimeError("the org of this bulk registry is gone")
        return org

    def new_id(self) -> tuple[str, Path]:
        store = self.org.store
        with store.write() as conn:
            [job_id] = store.allocate_ids(conn, KEY_PREFIXES["BulkJob"], 1)
        workdir = self.root / job_id
        workdir.mkdir()
        return job_id, workdir

    def add(self, job: BulkJob) -> None:
        with self._lock:
            self._jobs[job.id] = job

    def get(self, job_id: str, kind: type[BulkJob]) -> BulkJob:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or not isinstance(job, kind):
            raise SalesforceError("NOT_FOUND", "The requested resource does not exist", 404)
        return job

    def remove(self, job: BulkJob) -> None:
        with self._lock:
            self._jobs.pop(job.id, None)
        with job.lock:
            if job.state not in TERMINAL_STATES:
                job.set_state("Aborted", self.org.clock.now())
        job.remove_files()

    def jobs(self, kind: type[BulkJob]) -> list[BulkJob]:
        with self._lock:
            return [job for job in self._jobs.values() if isinstance(job, kind)]

    def start(self, job: BulkJob, work: Callable[[], None]) -> None:
        """Run `work` for `job` in a daemon thread; a crash fails the job, never the server."""

        def run() -> None:
            self._may_run.wait()
            job.started_at = time.monotonic()
            try:
                work()
            except SalesforceError as error:
                job.set_state("Failed", self._now(), error=error.message)
            except Exception as error:
                log.exception("bulk job %s crashed", job.id)
                job.set_state("Failed", self._now(), error=f"InternalServerError : {error}")

        threading.Thread(target=run, name=f"bulk-{job.id}", daemon=True).start()

    def _now(self) -> int:
        org = self._org()
        return org.clock.now() if org is not None else int(time.time())

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Keep new and queued jobs from starting until the block ends (tests use this to see
        a job that has not finished yet)."""
        self._may_run.clear()
        try:
            yield
        finally:
            self._may_run.set()


def registry(org: Org) -> JobRegistry:
    found = org.extensions.get(EXTENSION_KEY)
    if isinstance(found, JobRegistry):
        return found
    with _REGISTRY_LOCK:
        found = org.extensions.get(EXTENSION_KEY)
        if not isinstance(found, JobRegistry):
            found = JobRegistry(org)
            org.extensions[EXTENSION_KEY] = found
    return found


_REGISTRY_LOCK = threading.Lock()


READ_CHUNK = 1 << 20


def file_chunks(
    header: bytes, path: Path | None, start: int = 0, end: int | None = None
) -> Iterator[bytes]:
    """`header`, then bytes [start, end) of `path` in 1 MB reads (a missing file is empty)."""
    yield header
    if path is None:
        return
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the with below
    except FileNotFoundError:
        return  # deleted meanwhile: the client gets the header only
    with handle:
        handle.seek(start)
        remaining = -1 if end is None else end - start
        while remaining != 0:
            size = READ_CHUNK if remaining < 0 else min(READ_CHUNK, remaining)
            data = handle.read(size)
            if not data:
                return
            if remaining > 0:
                remaining -= len(data)
            yield data
