"""What the side-by-side benchmarks share: the emulator in its own process, the machine and the
versions, running a measured child process, the leadsync worker, and edits on both sides with
their sample check (push_bench uses those too).

The leadsync side runs in a child process of its own (`python -m bench.common copy|cycles|
converge ...`)
so that its peak memory is its own (`wait4`'s `ru_maxrss`), as is the tap's. API calls are read
from the emulator's limit counter through `/_emulator/status`, which is itself never counted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import importlib.metadata
import importlib.util
import json
import os
import platform
import resource
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:  # leadsync is imported in the worker only, where it is measured
    from leadsync.db import LeadDatabase
    from leadsync.salesforce.client import SalesforceClient

REPO_ROOT = Path(__file__).resolve().parents[1]
CLIENT_ID = "leadsync"
CLIENT_SECRET = "leadsync-secret"
PASSWORD = "password"
SYNC_USER = "sync@example.com"
ADMIN_USER = "admin@example.com"
# High enough that neither client's quota guard (the tap stops at 25% of the limit per run)
# ever changes what is measured.
API_LIMIT = 100_000_000


# -- the machine and the versions ----------------------------------------------------------------


def _proc_value(path: str, key: str) -> str:
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def machine() -> dict[str, str]:
    mem_kb = _proc_value("/proc/meminfo", "MemTotal").split()[0]
    ram = f"{int(mem_kb) / 2**20:.1f} GiB" if mem_kb.isdigit() else "?"
    return {
        "cpu": _proc_value("/proc/cpuinfo", "model name"),
        "cores": str(os.cpu_count()),
        "ram": ram,
        "os": platform.platform(),
    }


def package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def versions() -> dict[str, str]:
    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "leadsync": package_version("leadsync"),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": package_version("sqlalchemy"),
        "httpx": package_version("httpx"),
    }


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def push_available() -> bool:
    return importlib.util.find_spec("leadsync.sync.push") is not None


# -- the emulator in its own process -------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def peak_rss_mb_of(pid: int) -> float:
    """The kernel's high-water mark of a live process's resident memory (VmHWM)."""
    value = _proc_value(f"/proc/{pid}/status", "VmHWM").split()[0]
    return int(value) / 1024 if value.isdigit() else 0.0


@dataclass
class Emulator:
    url: str
    process: subprocess.Popen[bytes]
    seed_seconds: float

    def status(self) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/_emulator/status", timeout=60)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def api_used(self) -> int:
        return int(self.status()["apiUsage"]["used"])

    def peak_rss_mb(self) -> float:
        return peak_rss_mb_of(self.process.pid)


SEED_AGE = 900  # seconds


@contextmanager
def emulator(records: int, log: IO[bytes] | None = None) -> Iterator[Emulator]:
    """`leadsync emulator --records N` in its own process on a free port, seeded and serving."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "leadsync.cli", "emulator", "--port", str(port)]
    command += ["--records", str(records), "--api-limit", str(API_LIMIT)]
    # Seeded records stamped in the past: an org at rest, which no cycle's lookback reaches.
    command += ["--seed-age", str(SEED_AGE)]
    started = time.perf_counter()
    server = subprocess.Popen(command, stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the emulator process exited with {server.returncode}")
            try:
                if httpx.get(f"{url}/services/data/", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield Emulator(url, server, time.perf_counter() - started)
    finally:
        server.terminate()
        try:
            server.wait(timeout=120)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# -- a measured child process -------------------------------------------------------------------


@dataclass
class ChildRun:
    returncode: int
    seconds: float
    peak_rss_mb: float  # the child's own ru_maxrss, from wait4


def run_child(
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    stdout_lines: Callable[[bytes], None] | None = None,
    stdout_file: IO[bytes] | None = None,
    stderr_file: IO[bytes] | None = None,
) -> ChildRun:
    """Run `command`; time it and read its peak RSS from `wait4` (its own, not the total of
    every child this process ever waited for, which RUSAGE_CHILDREN would give)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE if stdout_lines else stdout_file or subprocess.DEVNULL,
        stderr=stderr_file or subprocess.DEVNULL,
    )
    if stdout_lines is not None:
        assert process.stdout is not None
        for line in process.stdout:
            stdout_lines(line)
        process.stdout.close()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return ChildRun(process.returncode, seconds, usage.ru_maxrss / 1024)


# -- the leadsync worker (runs in its own process) ----------------------------------------------


def _client(url: str, username: str, http: httpx.Client) -> Any:
    from leadsync.salesforce.auth import Credentials
    from leadsync.salesforce.client import SalesforceClient

    credentials = Credentials(
        login_url=url,
        username=username,
        password=PASSWORD,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    return SalesforceClient(credentials, http=http)


def _api_used(url: str, http: httpx.Client) -> int:
    return int(http.get(f"{url}/_emulator/status").json()["apiUsage"]["used"])


def _self_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _counts(result: Any) -> dict[str, dict[str, int]]:
    return {
        name: {"read": c.read, "new": c.new, "updated": c.updated, "failed": c.failed}
        for name, c in result.counts.items()
    }


def worker_copy(url: str, db_path: str) -> dict[str, Any]:
    """The initial copy into a fresh SQLite lead database."""
    from leadsync.db import LeadDatabase
    from leadsync.sync import Puller

    with httpx.Client(timeout=600) as http, LeadDatabase.open(f"sqlite:///{db_path}") as db:
        puller = Puller(db, _client(url, SYNC_USER, http))
        before = _api_used(url, http)
        started = time.perf_counter()
        result = puller.run()
        seconds = time.perf_counter() - started
        calls = _api_used(url, http) - before
    return {
        "records": sum(c["read"] for c in _counts(result).values()),
        "by_object": _counts(result),
        "seconds": seconds,
        "api_calls": calls,
        "client_api_calls": result.api_calls,
        "peak_rss_mb": _self_peak_mb(),
    }


def _change_leads(url: str, http: httpx.Client, count: int, tag: str) -> None:
    """Edit `count` leads as the admin, in collections of 200, as a user's edits arrive."""
    admin = _client(url, ADMIN_USER, http)
    edit_in_salesforce(admin, unconverted_lead_ids(admin, count), f"Bench {tag}")


# -- edits on both sides and their check (also used by push_bench) ------------------------------


def unconverted_lead_ids(admin: SalesforceClient, count: int) -> list[str]:
    """The first `count` unconverted leads by Id (converted ones cannot be edited)."""
    soql = f"SELECT Id FROM Lead WHERE IsConverted = false ORDER BY Id LIMIT {count}"
    return [str(r["Id"]) for r in admin.query(soql)]


def remote_value(tag: str, number: int) -> str:
    """The Title the `number`th lead edited in Salesforce gets."""
    return f"{tag} {number}"


def local_value(tag: str, number: int) -> str:
    """The City the `number`th person edited locally gets (keep tags short: 40 characters)."""
    return f"{tag} {number}"


def edit_in_salesforce(admin: SalesforceClient, ids: list[str], tag: str) -> None:
    """Set each lead's Title as the admin, in collections of 200, as a user's edits arrive."""
    from leadsync.salesforce import collections

    updates = [{"Id": i, "Title": remote_value(tag, n)} for n, i in enumerate(ids)]
    failed = [r for r in collections.update(admin, "Lead", updates) if not r.success]
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(ids)} lead updates failed: {failed[0]}")


def local_persons(db: LeadDatabase, count: int, exclude: set[str]) -> list[tuple[int, str]]:
    """(person id, lead Id) of `count` persons linked to leads not in `exclude`, read a page at
    a time so that only ids are kept (a million-person org has no room for every row)."""
    found: list[tuple[int, str]] = []
    offset, page = 0, 5_000
    while len(found) < count:
        persons = db.find_persons(sfdcType="Lead", limit=page, offset=offset)
        found += [
            (int(p["id"]), str(p["sfdcLeadId"]))
            for p in persons
            if p["sfdcLeadId"] and p["sfdcLeadId"] not in exclude
        ]
        if len(persons) < page:
            break
        offset += page
    return found[:count]


def edit_locally(db: LeadDatabase, persons: list[tuple[int, str]], tag: str) -> None:
    """Set each person's City through `update_person`. A bulk local edit (an import, a flow over
    a list) is many update_person calls in one transaction: a commit per 1,000 edits here."""
    for start in range(0, len(persons), 1000):
        with db.transaction():
            for n, (person_id, _) in enumerate(persons[start : start + 1000], start=start):
                db.update_person(person_id, {"city": local_value(tag, n)})


def _sample(count: int, size: int) -> list[int]:
    """`size` indexes spread evenly over range(count) (all of them if fewer)."""
    step = max(1, count // size)
    return list(range(0, count, step))[:size]


def _read_back(admin: SalesforceClient, ids: list[str], field: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for start in range(0, len(ids), 100):  # keeps each query's URL short
        quoted = ", ".join(f"'{i}'" for i in ids[start : start + 100])
        for record in admin.query(f"SELECT Id, {field} FROM Lead WHERE Id IN ({quoted})"):
            values[str(record["Id"])] = record[field]
    return values


def _side(
    expected: list[str], salesforce: list[Any], local: list[Any], ids: list[str]
) -> dict[str, Any]:
    differ = [
        f"{i}: Salesforce {sf!r}, local {here!r}, expected {want!r}"
        for i, want, sf, here in zip(ids, expected, salesforce, local, strict=True)
        if not sf == here == want
    ]
    return {"checked": len(ids), "differ": len(differ), "examples": differ[:3]}


def check_sample(
    db: LeadDatabase,
    admin: SalesforceClient,
    remote: list[str],
    local: list[tuple[int, str]],
    *,
    remote_tag: str,
    local_tag: str,
    size: int = 200,
) -> dict[str, Any]:
    """Both sides agree on a sample of each side's edits: the Salesforce value, read back as
    the admin, equals the local value and the value that was written (so an edit lost on both
    sides is a mismatch too). "pulled": Salesforce edits; "pushed": local edits."""
    pulled_at = _sample(len(remote), size)
    pulled_ids = [remote[n] for n in pulled_at]
    titles = _read_back(admin, pulled_ids, "Title")
    here = [(db.find_persons(sfdcLeadId=i) or [{}])[0].get("title") for i in pulled_ids]
    pushed_at = _sample(len(local), size)
    pushed = [local[n] for n in pushed_at]
    cities = _read_back(admin, [lead for _, lead in pushed], "City")
    return {
        "pulled": _side(
            [remote_value(remote_tag, n) for n in pulled_at],
            [titles.get(i) for i in pulled_ids],
            here,
            pulled_ids,
        ),
        "pushed": _side(
            [local_value(local_tag, n) for n in pushed_at],
            [cities.get(lead) for _, lead in pushed],
            [db.get_person(person)["city"] for person, _ in pushed],
            [lead for _, lead in pushed],
        ),
    }


def _measured(url: str, http: httpx.Client, work: Callable[[], Any]) -> tuple[Any, float, int]:
    before = _api_used(url, http)
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    return result, seconds, _api_used(url, http) - before


def worker_cycles(url: str, db_path: str, changes: list[int]) -> dict[str, Any]:
    """Idle and changed-record pull cycles over a copied database, then pushes."""
    from leadsync.db import LeadDatabase
    from leadsync.sync import Puller

    rows: list[dict[str, Any]] = []
    with httpx.Client(timeout=600) as http, LeadDatabase.open(f"sqlite:///{db_path}") as db:
        client = _client(url, SYNC_USER, http)
        puller = Puller(db, client)
        puller.run()  # warm up: the describes a long-running sync keeps cached
        for changed in [0, *changes]:
            if changed:
                _change_leads(url, http, changed, f"pull-{changed}")
            result, seconds, calls = _measured(url, http, puller.run)
            read = sum(c.read for c in result.counts.values())
            rows.append({"changed": changed, "read": read, "seconds": seconds, "api_calls": calls})
        push = _push_rows(url, http, db, client, changes)
    return {"pull": rows, "push": push}


def _push_rows(
    url: str, http: httpx.Client, db: Any, client: Any, changes: list[int]
) -> dict[str, Any]:
    """Pushed changes and Sync Person to SFDC, through `sync/push.py` once it exists."""
    if not push_available():
        return {"pending": "src/leadsync/sync/push.py does not exist yet"}
    try:
        from leadsync.sync.push import Pusher

        pusher = Pusher(db, client)
        rows = []
        for changed in changes:
            linked = db.find_persons(sfdcType="Lead", limit=changed)
            for number, person in enumerate(linked):
                db.update_person(person["id"], {"title": f"Pushed {changed}-{number}"})
            result, seconds, calls = _measured(url, http, pusher.run)
            written = sum(c.updated + c.new for c in result.counts.values())
            rows.append(
                {"changed": len(linked), "written": written, "seconds": seconds, "api_calls": calls}
            )
        sync_person = []
        for number in range(5):
            person = db.create_person(
                {
                    "email": f"bench.sync.person.{number}.{time.time_ns()}@bench.example",
                    "lastName": f"Synced {number}",
                    "company": "Bench Corp.",
                }
            )
            sync = functools.partial(pusher.sync_person, person["id"])
            _, seconds, calls = _measured(url, http, sync)
            sync_person.append({"seconds": seconds, "api_calls": calls})
        return {"rows": rows, "sync_person": sync_person}
    except Exception as exc:  # the push is still being written: report, do not crash the run
        return {"pending": f"push failed: {type(exc).__name__}: {str(exc)[:200]}"}


# -- two-way convergence ------------------------------------------------------------------------

MAX_CYCLES = 3  # cycles run at most; if the last still had work, it did not converge
SAMPLE = 200  # edits checked on each side


def _cycle_figures(result: Any, seconds: float, calls: int) -> dict[str, Any]:
    """What one `Syncer.run_cycle` did: records it wrote on each side and whether it had work.
    Skipped records (the look-back window re-read, the push's own echo) are no work."""
    pulled = pushed = failed = 0
    for report in result.objects:
        done = report.new + report.updated + report.deleted
        if report.operation == "Push updates":
            pushed += done
        else:
            pulled += done
        failed += report.failed
    return {
        "seconds": seconds,
        "api_calls": calls,
        "status": result.status,
        "message": result.message,
        "pulled": pulled,
        "pushed": pushed,
        "failed": failed,
        "work": bool(pulled or pushed or failed) or result.status != "Succeeded",
    }


def _cycles_until_idle(url: str, http: httpx.Client, syncer: Any) -> list[dict[str, Any]]:
    """Cycles until one has nothing left to do (that idle one included), at most MAX_CYCLES."""
    cycles: list[dict[str, Any]] = []
    while len(cycles) < MAX_CYCLES:
        result, seconds, calls = _measured(url, http, syncer.run_cycle)
        cycles.append(_cycle_figures(result, seconds, calls))
        if not cycles[-1]["work"] or result.status != "Succeeded":
            break
    return cycles


def _converge(
    url: str, http: httpx.Client, db: LeadDatabase, syncer: Any, edits: int
) -> dict[str, Any]:
    """`edits` leads edited in Salesforce and `edits` other persons locally, then cycles until
    both sides agree; checked on a sample of each side."""
    admin = _client(url, ADMIN_USER, http)
    row: dict[str, Any] = {"edits": edits}
    remote = unconverted_lead_ids(admin, edits)
    local = local_persons(db, edits, set(remote))
    row["edited"] = {"salesforce": len(remote), "local": len(local)}
    if min(len(remote), len(local)) < edits:
        row["error"] = f"only {len(remote):,} + {len(local):,} leads to edit"
        return row
    remote_tag, local_tag = f"Conv {edits} SF", f"Conv {edits} local"
    _, row["salesforce_edit_seconds"], _ = _measured(
        url, http, functools.partial(edit_in_salesforce, admin, remote, remote_tag)
    )
    _, row["local_edit_seconds"], _ = _measured(
        url, http, functools.partial(edit_locally, db, local, local_tag)
    )
    time.sleep(1.1)  # the edits' SystemModstamp is behind the next cycle's start
    cycles = _cycles_until_idle(url, http, syncer)
    working = [c for c in cycles if c["work"]]
    row["cycles"] = cycles
    row["converged"] = not cycles[-1]["work"]
    row["seconds"] = sum(c["seconds"] for c in working)
    row["api_calls"] = sum(c["api_calls"] for c in working)
    row["check"] = check_sample(
        db, admin, remote, local, remote_tag=remote_tag, local_tag=local_tag, size=SAMPLE
    )
    problems = [c["message"] or c["status"] for c in cycles if c["status"] != "Succeeded"]
    problems += [f"{c['failed']} records failed" for c in cycles if c["failed"]]
    if not row["converged"]:
        problems.append(f"still changing after {len(cycles)} cycles")
    for side in ("pulled", "pushed"):
        if row["check"][side]["differ"]:
            problems.append(f"{side}: {row['check'][side]['differ']} of the sample differ")
    if problems:
        row["error"] = "; ".join(problems)
    return row


def worker_converge(url: str, db_path: str, edits: list[int]) -> dict[str, Any]:
    """Two-way convergence over a copied database, per edit count on each side."""
    from leadsync.db import LeadDatabase
    from leadsync.sync.cycle import Syncer

    with httpx.Client(timeout=600) as http, LeadDatabase.open(f"sqlite:///{db_path}") as db:
        # One long-running syncer, as the runner keeps: its describes are cached by the warm-up
        # cycles, which also settle what earlier benchmarks left to pull or push.
        syncer = Syncer(db, _client(url, SYNC_USER, http))
        warm_up = _cycles_until_idle(url, http, syncer)
        rows = []
        for count in edits:
            try:
                rows.append(_converge(url, http, db, syncer, count))
            except Exception as exc:  # a failed size is a figure to report, not a lost run
                rows.append({"edits": count, "error": f"{type(exc).__name__}: {str(exc)[:300]}"})
    return {"warm_up": warm_up, "rows": rows, "peak_rss_mb": _self_peak_mb()}


def run_worker(
    mode: str, url: str, db_path: Path, changes: list[int] | None = None
) -> dict[str, Any]:
    """Run the leadsync worker in a child process; its JSON result plus its own peak RSS."""
    out = db_path.with_suffix(f".{mode}.json")
    command = [sys.executable, "-m", "bench.common", mode, "--url", url, "--db", str(db_path)]
    command += ["--out", str(out)]
    if changes:
        command += ["--changes", ",".join(str(c) for c in changes)]
    with open(db_path.with_suffix(f".{mode}.log"), "wb") as log:
        child = run_child(command, cwd=REPO_ROOT, stderr_file=log, stdout_file=log)
    if child.returncode != 0:
        tail = db_path.with_suffix(f".{mode}.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"leadsync {mode} worker exited {child.returncode}:\n{tail}")
    result: dict[str, Any] = json.loads(out.read_text())
    result["process_seconds"] = child.seconds
    result["process_peak_rss_mb"] = child.peak_rss_mb
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="leadsync benchmark worker (internal)")
    parser.add_argument("mode", choices=["copy", "cycles", "converge"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--changes", default="")
    args = parser.parse_args(argv)
    changes = [int(c) for c in args.changes.split(",") if c]
    if args.mode == "copy":
        result = worker_copy(args.url, args.db)
    elif args.mode == "converge":
        result = worker_converge(args.url, args.db, changes)
    else:
        result = worker_cycles(args.url, args.db, changes)
    Path(args.out).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
