"""Pull benchmark: the initial copy of a seeded emulator org into a fresh SQLite lead database.
Run on purpose (not a test); it prints figures and never asserts on durations.

    .venv/bin/python -m bench.pull_bench --records 100000

The org is served in-process through starlette's TestClient (as tests/sync does), so the
figures include the emulator's own work (Bulk CSV generation) competing for the same process.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from starlette.testclient import TestClient

from leadsync.db import LeadDatabase
from leadsync.emulator.app import create_app
from leadsync.emulator.org import Org
from leadsync.emulator.seed import seed_demo
from leadsync.salesforce.auth import Credentials
from leadsync.salesforce.client import SalesforceClient
from leadsync.sync import Puller

DEMO_SECRET = "leadsync-secret"


def _credentials() -> Credentials:
    return Credentials(
        login_url="http://testserver",
        username="sync@example.com",
        password="password",
        client_id="leadsync",
        client_secret=DEMO_SECRET,
    )


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    command = [Path(sys.executable).name, "-m", "bench.pull_bench", *sys.argv[1:]]
    print(f"command: {' '.join(command)}")
    print(f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()}")
    versions = f"sqlalchemy {importlib.metadata.version('sqlalchemy')}"
    print(f"python {platform.python_version()} {versions} sqlite {sqlite3.sqlite_version}")
    org = Org()
    started = time.perf_counter()
    seed_demo(org, records=args.records)
    print(f"seed: {args.records:,} leads in {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory() as tmp, TestClient(create_app(org)) as http:
        db = LeadDatabase.open(f"sqlite:///{Path(tmp) / 'leadsync.db'}")
        puller = Puller(db, SalesforceClient(_credentials(), http=http))
        started = time.perf_counter()
        result = puller.run()
        elapsed = time.perf_counter() - started
        read = sum(c.read for c in result.counts.values())
        for name, counts in result.counts.items():
            print(f"  {name}: read {counts.read:,} new {counts.new:,} failed {counts.failed}")
        print(f"copy: {read:,} records in {elapsed:.1f} s = {read / elapsed:,.0f} records/s")
        print(f"api calls: {result.api_calls}; peak RSS {_peak_rss_mb():,.0f} MB (seed included)")
        db.close()
    org.close()


if __name__ == "__main__":
    main()
