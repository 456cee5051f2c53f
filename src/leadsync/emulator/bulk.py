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
from typing import IO, TYPE_CHECKING, Any

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


def job_not_found() -> SalesforceError:
    return SalesforceError("NOT_FOUND", "The requested resource does not exist", 404)


class JobRemoved(Exception):
    """Raised in a job's worker when the job was deleted under it: the worker just stops."""


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
        # Guards state changes and every opening of the job's files against `remove`, so a
        # file is either opened before the job is deleted (and stays readable: POSIX keeps
        # an unlinked file's data while it is open) or not at all.
        self.lock = threading.RLock()
        self.removed = False
        self.done = threading.Event()
        self.idle = threading.Event()  # no worker thread running for this job
        self.idle.set()
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

    # -- files ------------------------------------------------------------------------------

    def open_file(self, path: Path) -> IO[bytes] | None:
        """`path` open for reading, None when it was never written; a deleted job is 404.

        Open files before answering with anything that depends on them (a Content-Length):
        once open, a concurrent DELETE cannot take the data away.
        """
        with self.lock:
            if self.removed:
                raise job_not_found()
            try:
                return open(path, "rb")
            except FileNotFoundError:
                return None

    def create_file(self, path: Path, mode: str = "wb", **options: Any) -> IO[Any]:
        """`path` created for writing by the job's worker (or upload); JobRemoved if the job
        was deleted, so nothing is written into a directory being removed."""
        with self.lock:
            if self.removed:
                raise JobRemoved(self.id)
            return open(path, mode, **options)

    def worker_running(self) -> bool:
        return not self.idle.is_set()


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

    def close(self) -> None:
        """Delete the jobs' working directory now rather than when the registry is collected."""
        self._cleanup()

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
            raise job_not_found()
        return job

    def remove(self, job: BulkJob) -> None:
        """Forget the job, stop it and delete its files. Handles already open (a result page
        being sent) keep reading; later opens see the job as not found."""
        with self._lock:
            self._jobs.pop(job.id, None)
        with job.lock:
            job.removed = True
            if job.state not in TERMINAL_STATES:
                job.set_state("Aborted", self._now())
            job.remove_files()

    def jobs(self, kind: type[BulkJob]) -> list[BulkJob]:
        with self._lock:
            return [job for job in self._jobs.values() if isinstance(job, kind)]

    def start(self, job: BulkJob, work: Callable[[], None]) -> None:
        """Run `work` for `job` in a daemon thread; a crash fails the job, never the server."""

        def run() -> None:
            self._may_run.wait()
            # Busy from here: `work` writes files only after it moved the job to InProgress,
            # which fails for a job already aborted, so a queued worker of an aborted job
            # never writes anything.
            job.idle.clear()
            try:
                job.started_at = time.monotonic()
                work()
            except JobRemoved:
                pass  # deleted while it ran: already Aborted, its files gone
            except SalesforceError as error:
                job.set_state("Failed", self._now(), error=error.message)
            except Exception as error:
                if not job.removed:
                    log.exception("bulk job %s crashed", job.id)
                job.set_state("Failed", self._now(), error=f"InternalServerError : {error}")
            finally:
                job.idle.set()

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
    header: bytes, handle: IO[bytes] | None, start: int = 0, end: int | None = None
) -> Iterator[bytes]:
    """`header`, then bytes [start, end) of the open `handle` in 1 MB reads; closes it.

    The handle is opened by the caller before the response starts (see `BulkJob.open_file`).
    Running out of data before `end` is an error: the connection is then dropped rather than
    ended short of its Content-Length as if all was well.
    """
    try:
        yield header
        if handle is None:
            return
        handle.seek(start)
        remaining = -1 if end is None else end - start
        while remaining != 0:
            size = READ_CHUNK if remaining < 0 else min(READ_CHUNK, remaining)
            data = handle.read(size)
            if not data:
                if remaining > 0:
                    raise OSError(f"result file ended {remaining} bytes early")
                return
            if remaining > 0:
                remaining -= len(data)
            yield data
    finally:
        if handle is not None:
            handle.close()
