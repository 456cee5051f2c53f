"""Push benchmark: a two-way cycle with edits on both sides, and Sync Person to SFDC latency.
Run on purpose (not a test); it prints figures and never asserts on durations.

    .venv/bin/python -m bench.push_bench              # 100,000 persons, 10,000 edits a side
    .venv/bin/python -m bench.push_bench --records 20000 --edits 2000 --database postgresql
    .venv/bin/python -m bench.push_bench --profile /tmp/push-prof   # cProfile dumps per phase

The org runs in its own `leadsync emulator` process (bench/pull_bench.py's helper). Steps:
copy the org into a fresh lead database (not timed here: see pull_bench), edit `--edits` leads
in Salesforce (collections, as the admin) and `--edits` other persons locally, then time one
cycle (pull, then push) until both sides agree, and check a sample of each side. Then
`--latency-samples` Sync Person to SFDC calls on linked leads, each after a local edit.
"""

from __future__ import annotations

import argparse
import cProfile
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from leadsync.db import LeadDatabase
from leadsync.salesforce.client import SalesforceClient
from leadsync.sync import Puller
from leadsync.sync.push import Pusher, PushSettings

from .common import (
    check_sample,
    edit_in_salesforce,
    edit_locally,
    local_persons,
    unconverted_lead_ids,
)
from .pull_bench import _credentials, database, emulator


def _client(url: str, username: str) -> SalesforceClient:
    return SalesforceClient(_credentials(url, username), http=httpx.Client(timeout=300))


@contextmanager
def _timed(label: str, profile: Path | None = None) -> Iterator[list[float]]:
    """Wall and CPU seconds of the block (this process; the emulator is another process),
    filled into the yielded list as [wall, cpu]; with `profile`, a cProfile of the block."""
    spent: list[float] = []
    profiler = cProfile.Profile() if profile is not None else None
    wall, cpu = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    try:
        yield spent
    finally:
        if profiler is not None and profile is not None:
            profiler.disable()
            profile.mkdir(parents=True, exist_ok=True)
            profiler.dump_stats(profile / f"{label}.prof")
        spent += [time.perf_counter() - wall, time.process_time() - cpu]


def run(kind: str, url: str, args: argparse.Namespace) -> None:
    sync = _client(url, "sync@example.com")
    admin = _client(url, "admin@example.com")
    profile = Path(args.profile) if args.profile else None
    with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as db:
        puller = Puller(db, sync)
        with _timed("copy") as spent:
            puller.run()
        print(f"  copy of the org: {spent[0]:.1f} s (CPU {spent[1]:.1f} s)")
        pusher = Pusher(db, sync, settings=PushSettings(bulk_threshold=args.bulk_threshold))
        persons = db.find_persons(sfdcType="Lead", limit=2 * args.edits + args.latency_samples)
        remote = unconverted_lead_ids(admin, args.edits)
        local = local_persons(db, args.edits, set(remote))
        # Values of this run's own (the org is shared by --database both): a value equal to
        # the baseline is no change to pull.
        remote_tag, local_tag = f"SF title {kind}", f"Local city {kind}"
        began = time.perf_counter()
        edit_in_salesforce(admin, remote, remote_tag)
        print(f"  {len(remote):,} Salesforce edits: {time.perf_counter() - began:.1f} s")
        with _timed("edits", profile) as spent:
            edit_locally(db, local, local_tag)
        print(f"  {len(local):,} local edits: {spent[0]:.1f} s (CPU {spent[1]:.1f} s)")
        time.sleep(1.1)  # the edits' SystemModstamp is behind the next cycle's start
        calls = sync.usage.calls
        with _timed("pull", profile) as pull_spent:
            pulled = puller.run()
        with _timed("push", profile) as push_spent:
            pushed = pusher.run()
        wall, cpu = pull_spent[0] + push_spent[0], pull_spent[1] + push_spent[1]
        print(
            f"  cycle: {wall:.2f} s to converge, CPU {cpu:.2f} s (pull {pull_spent[0]:.2f} s, "
            f"CPU {pull_spent[1]:.2f} s, {pulled.of('Lead').updated:,} leads updated; push "
            f"{push_spent[0]:.2f} s, CPU {push_spent[1]:.2f} s, {pushed.of('Lead').updated:,} "
            f"leads sent); {sync.usage.calls - calls} API calls  [goal <= 15 s]"
        )
        check = check_sample(db, admin, remote, local, remote_tag=remote_tag, local_tag=local_tag)
        agree = {side: check[side]["checked"] - check[side]["differ"] for side in check}
        print(
            f"  both sides agree on the samples: pushed {agree['pushed']}/"
            f"{check['pushed']['checked']}, pulled {agree['pulled']}/{check['pulled']['checked']}"
        )
        for example in check["pushed"]["examples"] + check["pulled"]["examples"]:
            print(f"    differs: {example}")
        edited = {person for person, _ in local}
        latency = [p for p in persons if p["id"] not in edited][-args.latency_samples :]
        _latency(db, pusher, latency)


def _latency(db: LeadDatabase, pusher: Pusher, persons: list[dict[str, object]]) -> None:
    if not persons:
        return
    pusher.sync_person(int(str(persons[0]["id"])))  # warm the describe cache
    times: list[float] = []
    cpu: list[float] = []
    for n, person in enumerate(persons[1:]):
        db.update_person(int(str(person["id"])), {"title": f"Synced {n}"})
        began, began_cpu = time.perf_counter(), time.process_time()
        pusher.sync_person(int(str(person["id"])))
        times.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
    print(
        f"  Sync Person to SFDC ({len(times)} linked leads): wall p50 {_p(times, 50):.1f} ms, "
        f"p99 {_p(times, 99):.1f} ms; CPU p50 {_p(cpu, 50):.1f} ms, p99 {_p(cpu, 99):.1f} ms"
        f"  [goal p99 <= 100 ms]"
    )


def _p(values: list[float], percent: int) -> float:
    ordered = sorted(values)
    if percent == 50:
        return statistics.median(ordered)
    return ordered[min(len(ordered) - 1, int(len(ordered) * percent / 100))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--edits", type=int, default=10_000)
    parser.add_argument("--latency-samples", type=int, default=300)
    parser.add_argument("--bulk-threshold", type=int, default=PushSettings().bulk_threshold)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--profile", help="directory for cProfile dumps of edits, pull and push")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    with emulator(args.records) as url:
        for kind in kinds:
            print(f"{kind}: {args.records:,} records, {args.edits:,} edits on each side")
            run(kind, url, args)


if __name__ == "__main__":
    main()
