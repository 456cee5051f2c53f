"""Emulator benchmark: seed speed, Bulk 2.0 query, REST queryAll paging, collections writes,
and peak memory at two org sizes. Run on purpose (not a test); it prints figures and never
asserts on durations.

    .venv/bin/python -m bench.emulator_bench                 # 1,000,000 leads (and 100,000)
    .venv/bin/python -m bench.emulator_bench --records 200000 --no-tracemalloc

The org is served by uvicorn in a background thread of this process (`ServerThread`) and
driven over HTTP with httpx, the way any client drives it. Client and server share the
process, so the figures include the client's own parsing and compete for the same GIL.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import os
import platform
import resource
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import orjson

from leadsync.emulator.org import Org
from leadsync.emulator.seed import seed_org
from leadsync.emulator.server import ServerThread

API = "/services/data/v62.0"
FIELDS = "Id, FirstName, LastName, Email, Company, Status, LeadSource, SystemModstamp"
SOQL = f"SELECT {FIELDS} FROM Lead"
GOALS = {"bulk": 100_000, "rest": 30_000, "collections": 10_000}


@dataclass
class Phase:
    name: str
    rows: int = 0
    seconds: float = 0.0
    rss_peak_mb: float = 0.0
    rss_growth_mb: float = 0.0
    traced_peak_mb: float | None = None
    note: str = ""

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


@dataclass
class SizeReport:
    records: int
    phases: list[Phase] = field(default_factory=list)
    server_peak_rss_mb: float | None = None


# -- memory -------------------------------------------------------------------------------------


def current_rss_mb(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb_of(pid: int) -> float:
    """The kernel's high-water mark of a process's resident memory (VmHWM)."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def max_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RssSampler:
    """Peak resident memory of this process during a phase (ru_maxrss only ever grows)."""

    def __init__(self, pid: int | str = "self", interval: float = 0.02) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0.0
        self.start = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, current_rss_mb(self.pid))
            time.sleep(self.interval)

    def __enter__(self) -> RssSampler:
        self.start = self.peak = current_rss_mb(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, current_rss_mb(self.pid))


@contextlib.contextmanager
def traced() -> Iterator[list[float]]:
    """tracemalloc's peak (MB) for the block, in a one-element list filled on exit."""
    result: list[float] = []
    tracemalloc.start()
    try:
        yield result
    finally:
        result.append(tracemalloc.get_traced_memory()[1] / 2**20)
        tracemalloc.stop()


# -- the phases -----------------------------------------------------------------------------------


def login(http: httpx.Client, org: Org | None) -> str:
    response = http.post(
        "/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": "leadsync",
            "client_secret": "leadsync-secret",
            "username": "sync@example.com",
            "password": "password",
        },
    )
    if response.status_code == 200 or org is None:
        response.raise_for_status()
        return str(response.json()["access_token"])
    user = org.find_user("sync@example.com")
    assert user is not None
    return org.sessions.issue(user.id, user.username, user.profile, "leadsync").token


def bulk_query(http: httpx.Client, max_rows: int | None = None) -> int:
    """Create a queryAll job on Lead, wait for it, download every page; returns rows."""
    job = http.post(f"{API}/jobs/query", json={"operation": "queryAll", "query": SOQL})
    job.raise_for_status()
    job_id = job.json()["id"]
    while True:
        state = http.get(f"{API}/jobs/query/{job_id}").json()["state"]
        if state == "JobComplete":
            break
        if state in ("Failed", "Aborted"):
            raise RuntimeError(f"bulk job {job_id} ended {state}")
        time.sleep(0.05)
    rows = 0
    locator: str | None = None
    while True:
        params = {"locator": locator} if locator else {}
        with http.stream("GET", f"{API}/jobs/query/{job_id}/results", params=params) as page:
            page.raise_for_status()
            lines = sum(chunk.count(b"\n") for chunk in page.iter_bytes())
            locator = page.headers.get("Sforce-Locator")
        rows += lines - 1  # the header line
        if not locator or locator == "null" or (max_rows and rows >= max_rows):
            break
    http.delete(f"{API}/jobs/query/{job_id}")
    return rows


def rest_query_all(http: httpx.Client, max_rows: int) -> int:
    """Page through queryAll with batchSize 2000 until `max_rows` rows or the end."""
    headers = {"Sforce-Query-Options": "batchSize=2000"}
    response = http.get(f"{API}/queryAll", params={"q": SOQL}, headers=headers)
    rows = 0
    while True:
        response.raise_for_status()
        body = orjson.loads(response.content)
        rows += len(body["records"])
        if body["done"] or rows >= max_rows:
            return rows
        response = http.get(body["nextRecordsUrl"], headers=headers)


def collections_create(http: httpx.Client, calls: int, tag: str) -> int:
    """`calls` POST /composite/sobjects of 200 new leads each; returns records created."""
    created = 0
    for call in range(calls):
        records = [
            {
                "attributes": {"type": "Lead"},
                "FirstName": "Bench",
                "LastName": f"Writer {call}-{n}",
                "Company": "Benchmark Corp.",
                "Email": f"bench.{tag}.{call}.{n}@bench.example",
                "Phone": "+1 415 555 0100",
                "LeadSource": "Web",
            }
            for n in range(200)
        ]
        response = http.post(
            f"{API}/composite/sobjects", json={"allOrNone": False, "records": records}
        )
        response.raise_for_status()
        created += sum(1 for result in response.json() if result["success"])
    return created


def timed(phase: Phase, work: Callable[[], int], pid: int | str = "self") -> Phase:
    """Run one phase; a failing phase is reported, and the benchmark goes on.

    Memory is sampled from the process that serves the org (`pid`)."""
    with RssSampler(pid) as sampler:
        started = time.perf_counter()
        try:
            phase.rows = work()
        except (httpx.HTTPError, RuntimeError, KeyError, ValueError) as exc:
            phase.note = f"FAILED: {type(exc).__name__}: {' '.join(str(exc).split())[:120]}"
        phase.seconds = time.perf_counter() - started
    phase.rss_peak_mb = sampler.peak
    phase.rss_growth_mb = sampler.peak - sampler.start
    if phase.note.startswith("FAILED"):
        print(f"  {phase.name}: {phase.note}", flush=True)
    return phase


def run_size(records: int, args: argparse.Namespace) -> SizeReport:
    if args.server == "process":
        return run_size_in_process_server(records, args)
    report = SizeReport(records)
    org = Org()
    try:
        report.phases.append(timed(Phase("seed (leads)"), lambda: seed_leads(org, records)))
        with ServerThread(org) as server, httpx.Client(base_url=server.url, timeout=600) as http:
            http.headers["Authorization"] = f"Bearer {login(http, org)}"
            report.phases += client_phases(http, records, args, "self")
            if args.tracemalloc:
                report.phases += traced_phases(http, records, args)
    finally:
        org.close()
    return report


def seed_leads(org: Org, records: int) -> int:
    seed_org(org, "demo", records=records)
    return records


def client_phases(
    http: httpx.Client, records: int, args: argparse.Namespace, pid: int | str
) -> list[Phase]:
    rest_rows = min(records, args.rest_rows)
    return [
        timed(Phase("bulk 2.0 queryAll"), lambda: bulk_query(http), pid),
        timed(
            Phase("rest queryAll (batchSize 2000)"), lambda: rest_query_all(http, rest_rows), pid
        ),
        timed(
            Phase("collections create (200/call)"),
            lambda: collections_create(http, args.collections_calls, str(records)),
            pid,
        ),
    ]


def traced_phases(http: httpx.Client, records: int, args: argparse.Namespace) -> list[Phase]:
    rest_rows = min(records, args.rest_rows)
    phases = []
    for name, work in (
        ("bulk 2.0 queryAll [traced]", lambda: bulk_query(http)),
        ("rest queryAll [traced]", lambda: rest_query_all(http, rest_rows)),
    ):
        phase = Phase(name, note="tracemalloc on: slower, memory only")
        with traced() as peak:
            timed(phase, work)
        phase.traced_peak_mb = peak[0]
        phases.append(phase)
    return phases


def run_size_in_process_server(records: int, args: argparse.Namespace) -> SizeReport:
    """The same phases against `leadsync emulator` in its own process (no shared GIL)."""
    report = SizeReport(records)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "leadsync.cli", "emulator", "--port", str(port)]
    started = time.perf_counter()
    server = subprocess.Popen(
        [*command, "--records", str(records)], stdout=subprocess.PIPE, text=True
    )
    try:
        seed = Phase("seed + start (process)", rows=records)
        with RssSampler(server.pid) as sampler:
            wait_for(url, server)
        seed.seconds = time.perf_counter() - started
        seed.rss_peak_mb = sampler.peak
        report.phases.append(seed)
        with httpx.Client(base_url=url, timeout=600) as http:
            http.headers["Authorization"] = f"Bearer {login(http, None)}"
            report.phases += client_phases(http, records, args, server.pid)
        report.server_peak_rss_mb = peak_rss_mb_of(server.pid)
    finally:
        server.terminate()
        server.communicate(timeout=60)
    return report


def wait_for(url: str, server: subprocess.Popen[str]) -> None:
    while server.poll() is None:
        try:
            if httpx.get(f"{url}/services/data/", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"the emulator process exited with {server.returncode}")


# -- output ---------------------------------------------------------------------------------------


def versions() -> str:
    names = ["leadsync", "starlette", "uvicorn", "httpx", "orjson", "lark"]
    found = []
    for name in names:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} ?")
    return ", ".join([*found, f"sqlite {sqlite3.sqlite_version}"])


def print_header(args: argparse.Namespace) -> None:
    print("leadsync emulator benchmark")
    print(f"  command:  {' '.join([os.path.basename(sys.executable), *sys.argv])}")
    print(f"  machine:  {os.cpu_count()} CPUs, {platform.platform()}, {platform.machine()}")
    print(f"  python:   {platform.python_implementation()} {platform.python_version()}")
    print(f"  packages: {versions()}")
    print(f"  sizes:    {', '.join(f'{n:,}' for n in args.sizes)} leads; server: {args.server}")
    print()


def print_report(report: SizeReport) -> None:
    print(f"org with {report.records:,} leads")
    print(
        f"  {'phase':34} {'rows':>10} {'seconds':>8} {'rows/s':>10} {'peak RSS MB':>12}"
        f" {'traced MB':>10}  goal"
    )
    for phase in report.phases:
        goal = ""
        for key, value in GOALS.items():
            if phase.note.startswith("FAILED"):
                goal = "FAILED"
            elif phase.name.startswith(key) and phase.traced_peak_mb is None:
                goal = f">= {value:,}/s {'met' if phase.rate >= value else 'NOT met'}"
        traced_mb = (
            f"{phase.traced_peak_mb:10.1f}" if phase.traced_peak_mb is not None else " " * 10
        )
        print(
            f"  {phase.name:34} {phase.rows:>10,} {phase.seconds:>8.2f} {phase.rate:>10,.0f}"
            f" {phase.rss_peak_mb:>12.1f} {traced_mb}  {goal}"
        )
    if report.server_peak_rss_mb is not None:
        print(f"  server process peak RSS (VmHWM): {report.server_peak_rss_mb:.1f} MB")
    else:
        print(f"  process max RSS so far (ru_maxrss): {max_rss_mb():.1f} MB")
    print()
    sys.stdout.flush()


def print_memory_summary(reports: list[SizeReport]) -> None:
    if len(reports) < 2:
        return
    print("memory while querying (must stay flat as the org grows):")
    for name in ("bulk 2.0 queryAll", "rest queryAll"):
        cells = []
        for report in reports:
            phases = [p for p in report.phases if p.name.startswith(name)]
            traced_runs = [p for p in phases if p.traced_peak_mb is not None]
            if traced_runs:
                cells.append(
                    f"{report.records:,} leads: {traced_runs[0].traced_peak_mb:.1f} MB traced"
                )
            elif phases:
                cells.append(
                    f"{report.records:,} leads: RSS +{phases[0].rss_growth_mb:.1f} MB"
                    " during the phase"
                )
        print(f"  {name:20} " + "; ".join(cells))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="leads in the big org")
    parser.add_argument(
        "--small-factor", type=int, default=10, help="the small org has records/FACTOR leads"
    )
    parser.add_argument("--rest-rows", type=int, default=200_000, help="REST rows to page through")
    parser.add_argument("--collections-calls", type=int, default=50)
    parser.add_argument("--no-tracemalloc", dest="tracemalloc", action="store_false")
    parser.add_argument(
        "--server",
        choices=["thread", "process"],
        default="thread",
        help="serve the org from a thread of this process (default) or a `leadsync emulator` "
        "process (no shared GIL; no tracemalloc figures)",
    )
    args = parser.parse_args(argv)
    small = max(1, args.records // max(1, args.small_factor))
    args.sizes = [small, args.records] if small < args.records else [args.records]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print_header(args)
    reports = []
    for size in args.sizes:
        report = run_size(size, args)
        print_report(report)
        reports.append(report)
    print_memory_summary(reports)
    return 0


if __name__ == "__main__":
    sys.exit(main())
