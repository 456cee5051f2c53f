"""Pull benchmark: the initial copy of a seeded emulator org into a fresh lead database, then an
idle cycle and a cycle with changed leads over the same org. Run on purpose (not a test); it
prints figures and never asserts on durations.

    .venv/bin/python -m bench.pull_bench                                # 1,000,000 leads, both DBs
    .venv/bin/python -m bench.pull_bench --records 100000 --database sqlite
    .venv/bin/python -m bench.pull_bench --profile copy.prof            # cProfile of the copy

The org runs in its own `leadsync emulator` process (as users run it), so the figures are the
engine's: the emulator does not compete for this process's GIL. Peak RSS is this process's
(`ru_maxrss`; the emulator is a child and is not counted). PostgreSQL runs use a database of
their own (`leadsync_bench_<random>`) on the local server, dropped at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.metadata
import os
import platform
import resource
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from leadsync.db import LeadDatabase
from leadsync.salesforce import collections
from leadsync.salesforce.auth import Credentials
from leadsync.salesforce.client import SalesforceClient
from leadsync.sync import Puller, PullResult

DEMO_SECRET = "leadsync-secret"
POSTGRES_ADMIN_URL = os.environ.get(
    "LEADSYNC_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _credentials(url: str, username: str) -> Credentials:
    return Credentials(
        login_url=url,
        username=username,
        password="password",
        client_id="leadsync",
        client_secret=DEMO_SECRET,
    )


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@contextmanager
def emulator(records: int) -> Iterator[str]:
    """A `leadsync emulator --records N` process on a free port; yields its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "leadsync.cli", "emulator", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--records", str(records), "--seed-age", str(SEED_AGE)],
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        while server.poll() is None:
            try:
                if httpx.get(f"{url}/services/data/", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"the emulator process exited with {server.returncode}")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=60)


@contextmanager
def database(kind: str, tmp: Path) -> Iterator[LeadDatabase]:
    if kind == "sqlite":
        db = LeadDatabase.open(f"sqlite:///{tmp / 'leadsync.db'}")
        try:
            yield db
        finally:
            db.close()
        return
    name = f"leadsync_bench_{secrets.token_hex(6)}"
    libpq = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql")
    admin = psycopg.connect(libpq.render_as_string(hide_password=False), autocommit=True)
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            db = LeadDatabase.open(make_url(POSTGRES_ADMIN_URL).set(database=name))
            try:
                yield db
            finally:
                db.close()
        finally:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


class Progress:
    """The copy's progress hook: prints every `every` records, and each object's copy time."""

    def __init__(self, every: int) -> None:
        self.every, self.next = every, every
        self.name, self.began = "", time.perf_counter()

    def __call__(self, name: str, stored: int, total: int | None) -> None:
        now = time.perf_counter()
        if name != self.name:
            self.name, self.began, self.next = name, now, self.every
        if stored >= self.next:
            print(f"    {name}: {stored:,} / {total or 0:,} stored, {now - self.began:.1f} s")
            self.next = stored + self.every
        if stored == total:
            print(f"    {name}: {stored:,} copied in {now - self.began:.2f} s", flush=True)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# The seed is stamped this many seconds in the past (`leadsync emulator --seed-age`): an org at
# rest, which no lookback window reaches.
SEED_AGE = 900


def timed(work: Callable[[], PullResult]) -> tuple[PullResult, float, float]:
    """The result, wall seconds and CPU seconds of this process (all threads): on a shared
    machine the CPU time says what the engine costs whatever else runs."""
    started, cpu = time.perf_counter(), _cpu_seconds()
    result = work()
    return result, time.perf_counter() - started, _cpu_seconds() - cpu


def report(label: str, result: PullResult, seconds: float, cpu: float) -> None:
    read = sum(c.read for c in result.counts.values())
    rate = f" = {read / seconds:,.0f} records/s" if read else ""
    print(
        f"  {label}: {read:,} records in {seconds:.2f} s{rate} (CPU {cpu:.2f} s);"
        f" api calls {result.api_calls}"
    )
    for name, counts in result.counts.items():
        if counts.read:
            print(
                f"    {name}: read {counts.read:,} new {counts.new:,} updated {counts.updated:,}"
                f" skipped {counts.skipped:,} failed {counts.failed}"
            )


def change_leads(url: str, count: int) -> None:
    """Edit `count` leads as the admin (collections of 200), the way a user's edits arrive."""
    with httpx.Client(timeout=600) as http:
        admin = SalesforceClient(_credentials(url, "admin@example.com"), http=http)
        ids = [r["Id"] for r in admin.query(f"SELECT Id FROM Lead ORDER BY Id LIMIT {count}")]
        updates = [{"Id": i, "Title": f"Changed {n}"} for n, i in enumerate(ids)]
        failed = [r for r in collections.update(admin, "Lead", updates) if not r.success]
        if failed:
            raise RuntimeError(f"{len(failed)} lead updates failed: {failed[0]}")


def run(kind: str, url: str, args: argparse.Namespace) -> None:
    print(f"[{kind}]")
    with (
        tempfile.TemporaryDirectory() as tmp,
        database(kind, Path(tmp)) as db,
        httpx.Client(timeout=600) as http,
    ):
        client = SalesforceClient(_credentials(url, "sync@example.com"), http=http)
        puller = Puller(db, client, progress=Progress(args.progress_every))
        profile = cProfile.Profile() if args.profile else None
        if profile is not None:
            profile.enable()
        result, seconds, cpu = timed(puller.run)
        if profile is not None:
            profile.disable()
            profile.dump_stats(f"{args.profile}.{kind}")
            print(f"  profile: {args.profile}.{kind}")
        report("copy", result, seconds, cpu)
        print(f"  load average during the run: {os.getloadavg()[0]:.1f} (cpus={os.cpu_count()})")
        print(f"  peak RSS of this process: {_peak_rss_mb():,.0f} MB")
        if args.no_cycles:
            return
        # Every cycle re-reads a 5-minute lookback window before its watermark (and the
        # replication resources round its start down to the minute): the first cycle re-reads
        # what changed in the minutes before the copy began (a previous database's changed
        # leads), recognises it and skips it. The idle cycle runs once the window has passed
        # the org's last change, so that it measures an idle org.
        report("first cycle after the copy", *timed(puller.run))
        quiet = puller.settings.lookback.total_seconds() + 60
        wait = args.changed_at + quiet - time.time()
        if wait > 0:
            print(f"  waiting {wait:.0f} s for the lookback window to pass the last change")
            time.sleep(wait)
        puller.run()  # the window the wait moved past, read once more (skipped)
        report("idle cycle", *timed(puller.run))
        change_leads(url, args.changed)
        args.changed_at = time.time()
        report(f"cycle with {args.changed:,} changed leads", *timed(puller.run))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--changed", type=int, default=1_000, help="leads changed for a cycle")
    parser.add_argument("--no-cycles", action="store_true", help="only the initial copy")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the copy into FILE.<db>")
    parser.add_argument("--progress-every", type=int, default=200_000)
    args = parser.parse_args()
    command = [Path(sys.executable).name, "-m", "bench.pull_bench", *sys.argv[1:]]
    print(f"command: {' '.join(command)}")
    print(f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()}")
    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}"
        for name in ("sqlalchemy", "psycopg", "httpx", "orjson")
    )
    print(f"python {platform.python_version()}, {versions}, sqlite {sqlite3.sqlite_version}")
    started = time.perf_counter()
    with emulator(args.records) as url:
        args.changed_at = time.time() - SEED_AGE  # the seed is stamped SEED_AGE ago
        print(
            f"emulator: {args.records:,} leads seeded and serving in "
            f"{time.perf_counter() - started:.1f} s"
        )
        kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
        for kind in kinds:
            run(kind, url, args)


if __name__ == "__main__":
    main()
