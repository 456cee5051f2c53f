"""Every side-by-side benchmark in one command, written as a markdown report.

    .venv/bin/python -m bench.run_all --quick                     # 10,000 leads
    .venv/bin/python -m bench.run_all --out bench/REPORT.md       # 10,000, 100,000, 1,000,000

For each org size: the emulator is seeded in its own process; leadsync copies it into a fresh
SQLite database (a child process); unmodified tap-salesforce copies it (REST; BULK where the
org serves Bulk 1.0); then leadsync runs an idle cycle and cycles with 1,000 and 10,000
changed leads, and pushes through `sync/push.py` when it exists; then two-way convergence:
E leads edited in Salesforce and E other persons locally, cycles until both sides agree, for
each E of `--convergence` (default 1,000, 10,000, 100,000) with 2 E <= the org's persons.
Nothing here asserts on a duration; the report gives figures and ratios measured in the same
run.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import common, report, tap_bench

QUICK_SIZES = [10_000]
FULL_SIZES = [10_000, 100_000, 1_000_000]
CHANGES = [1_000, 10_000]
CONVERGENCE = [1_000, 10_000, 100_000]  # edits on each side


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_size(
    records: int,
    changes: list[int],
    tap: Path | None,
    tap_skip: str,
    workdir: Path,
    convergence: list[int] = CONVERGENCE,
) -> dict[str, Any]:
    # Other work on the machine slows every tool alike; the load is shown with the figures.
    size: dict[str, Any] = {"records": records, "load_before": os.getloadavg()[0]}
    with (
        open(workdir / f"emulator-{records}.log", "wb") as emulator_log,
        common.emulator(records, emulator_log) as server,
    ):
        log(f"{records:,} leads: emulator seeded and serving in {server.seed_seconds:.1f} s")
        size["emulator"] = {"seed_seconds": server.seed_seconds}
        db = workdir / f"leadsync-{records}.db"
        # leadsync first: the tap then reads a server whose caches are warm.
        size["leadsync_copy"] = common.run_worker("copy", server.url, db)
        log(f"  leadsync copy: {_brief(size['leadsync_copy'], 'process_seconds')}")
        if tap is not None:
            tapdir = workdir / f"tap-{records}"
            tapdir.mkdir()
            try:
                size["tap"] = tap_bench.run_tap(server, tap, tapdir)
                log(f"  tap-salesforce REST: {_brief(size['tap']['rest'], 'seconds')}")
            except (RuntimeError, OSError, ValueError) as exc:
                # A failing peer is a result to report, not a reason to lose leadsync's figures.
                size["tap"] = {"skipped": f"failed: {_first_line(exc)}"}
                log(f"  tap-salesforce failed: {exc}")
        else:
            size["tap"] = {"skipped": tap_skip}
        cycle_changes = [c for c in changes if c <= records]
        try:
            size["cycles"] = common.run_worker("cycles", server.url, db, cycle_changes)
            log(f"  cycles: {json.dumps(size['cycles']['pull'])}")
        except RuntimeError as exc:
            size["cycles"] = {"pull": [], "push": {}, "error": _first_line(exc)}
            log(f"  cycles failed: {exc}")
        size["convergence"] = _convergence(server.url, db, convergence, size["leadsync_copy"])
        size["emulator"]["peak_rss_mb"] = server.peak_rss_mb()
        db.unlink(missing_ok=True)
    size["load_after"] = os.getloadavg()[0]
    return size


def _convergence(url: str, db: Path, edits: list[int], copy: dict[str, Any]) -> dict[str, Any]:
    """Two-way convergence for each edit count whose both sides fit in the org."""
    persons = report.persons_in(copy)
    fitting = [e for e in edits if 2 * e <= persons]
    if not fitting:
        return {"rows": [], "skipped": f"no edit count of {edits} fits twice in {persons:,}"}
    try:
        result = common.run_worker("converge", url, db, fitting)
    except RuntimeError as exc:
        log(f"  convergence failed: {exc}")
        return {"rows": [], "error": _first_line(exc)}
    for row in result["rows"]:
        seconds = row.get("seconds")
        figures = f"{seconds:.1f} s, {row['api_calls']} calls" if seconds is not None else ""
        log(f"  convergence, {row['edits']:,} a side: {figures} {row.get('error', '')}".rstrip())
    return result


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[-1] if lines else ''}"[:300]


def _brief(figures: dict[str, Any], seconds_key: str) -> str:
    seconds = figures[seconds_key]
    return (
        f"{figures['records']:,} records in {seconds:.1f} s "
        f"({figures['records'] / seconds:,.0f}/s), {figures['api_calls']} calls"
    )


def run(
    sizes: list[int],
    *,
    changes: list[int] = CHANGES,
    convergence: list[int] = CONVERGENCE,
    tap: str = "auto",
    tap_max: int | None = None,
    command: str = "",
) -> dict[str, Any]:
    """Run every size; `tap` is "auto" (use or install), "existing" (only if installed), "no"."""
    started = time.perf_counter()
    executable = None if tap == "no" else tap_bench.tap_executable(install=tap == "auto")
    skip = "not run (--tap no)" if tap == "no" else "not run: the tap venv is not available"
    results: dict[str, Any] = {
        "meta": {
            "date": common.utc_now(),
            "command": command,
            "machine": common.machine(),
            "versions": common.versions(),
            "tap_version": tap_bench.tap_version() if executable else "not run",
            "changes": changes,
            "convergence": convergence,
        },
        "sizes": [],
    }
    with tempfile.TemporaryDirectory(prefix="leadsync-bench-") as tmp:
        for records in sizes:
            use_tap = executable if tap_max is None or records <= tap_max else None
            reason = skip if executable is None else f"not run: over --tap-max {tap_max}"
            results["sizes"].append(
                run_size(records, changes, use_tap, reason, Path(tmp), convergence)
            )
    results["meta"]["seconds"] = time.perf_counter() - started
    return results


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one org of 10,000 leads")
    parser.add_argument("--sizes", help="comma-separated org sizes (leads), overrides --quick")
    parser.add_argument("--out", default="bench/REPORT.md", help="the markdown report")
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument(
        "--tap",
        choices=["auto", "existing", "no"],
        default="auto",
        help="auto: install tap-salesforce if needed; existing: only if installed; no: skip",
    )
    parser.add_argument("--tap-max", type=int, help="skip the tap on orgs larger than this")
    parser.add_argument(
        "--convergence",
        help="comma-separated edits on each side for two-way convergence "
        "(default 1000,10000,100000; each runs where twice it fits in the org's persons)",
    )
    return parser.parse_args(argv)


def _counts(text: str) -> list[int]:
    return [int(c.replace("_", "")) for c in text.split(",") if c.strip()]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    default_sizes = QUICK_SIZES if args.quick else FULL_SIZES
    sizes = _counts(args.sizes) if args.sizes else default_sizes
    convergence = _counts(args.convergence) if args.convergence else CONVERGENCE
    command = shlex.join([".venv/bin/python", "-m", "bench.run_all", *sys.argv[1:]])
    results = run(
        sizes, convergence=convergence, tap=args.tap, tap_max=args.tap_max, command=command
    )
    text = report.render(results)
    Path(args.out).write_text(text)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    print(text)
    log(f"report written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
