"""The markdown report of a `bench.run_all` run, from its results (a JSON-able dict).

Every table is followed by the machine, the versions, the date and the command that produced
it, because absolute times vary between machines and runs; comparisons are ratios between
leadsync and the peer measured in the same run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

MARKETO_SOURCE = (
    'Marketo figures: `/work/shared/reference/marketo-sync.md` §10 "SFDC API usage by the '
    'sync" (nation.marketo.com KB "How Marketo Uses the Salesforce API", 2015): 25 calls per '
    "cycle just to check for changes; 200 records per write/read call; 7,200 calls a day as "
    "the baseline at a 5-min cadence; Sync Person in a trigger campaign >= 1 call per lead."
)
MARKETO_IDLE = 25
MARKETO_PER_CALL = 200
MARKETO_DAY = 7_200
CYCLES_PER_DAY = 24 * 60 // 5  # a 5-minute cadence, as in Marketo's figure


def _n(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _rate(records: int, seconds: float) -> str:
    return _n(records / seconds) if seconds > 0 else "-"


def _ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.1f}x" if theirs > 0 else "-"


def _footer(meta: dict[str, Any]) -> str:
    m, v = meta["machine"], meta["versions"]
    return (
        f"_Measured {meta['date']} on {m['cpu']}, {m['cores']} cores, {m['ram']} RAM; "
        f"{v['python']}, leadsync {v['leadsync']}, tap-salesforce {meta['tap_version']}, "
        f"SQLite {v['sqlite']}. Command: `{meta['command']}`_"
    )


def header(meta: dict[str, Any]) -> list[str]:
    m, v = meta["machine"], meta["versions"]
    return [
        "# leadsync benchmarks",
        "",
        f"- date: {meta['date']} (run took {_n(meta.get('seconds', 0.0), 0)} s)",
        f"- command: `{meta['command']}`",
        f"- machine: {m['cpu']}, {m['cores']} cores, {m['ram']} RAM, {m['os']}",
        f"- versions: {', '.join(f'{k} {val}' for k, val in v.items())}, "
        f"tap-salesforce {meta['tap_version']} (own venv `.cache/tap-venv`)",
        "- the org: `leadsync emulator --records N` in its own process (N leads plus the demo "
        "users, accounts and contacts); leadsync and the tap read the same server in the same "
        "run. API calls are read from the emulator's daily limit counter.",
        "",
    ]


def copy_section(meta: dict[str, Any], sizes: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## Initial copy: leadsync vs tap-salesforce",
        "",
        "leadsync writes every record into a SQLite lead database; the tap only prints Singer "
        "messages (counted, then discarded). Wall time is each tool's whole process (start-up, "
        "login and describes included; the tap's discovery is listed apart); peak memory is "
        "each process's own `ru_maxrss`.",
        "",
        "| leads in org | tool | mode | records | wall s | records/s | peak RSS MB | API calls |",
        "|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    ratios = []
    for size in sizes:
        n = _n(size["records"])
        ours = size["leadsync_copy"]
        lines.append(
            f"| {n} | leadsync | REST + Bulk 2.0 (auto) | {_n(ours['records'])} | "
            f"{ours['process_seconds']:.1f} | {_rate(ours['records'], ours['process_seconds'])} "
            f"| {ours['process_peak_rss_mb']:.0f} | {ours['api_calls']} |"
        )
        tap = size.get("tap", {})
        if "rest" in tap:
            rest = tap["rest"]
            lines.append(
                f"| {n} | tap-salesforce | REST | {_n(rest['records'])} | {rest['seconds']:.1f} "
                f"| {_rate(rest['records'], rest['seconds'])} | {rest['peak_rss_mb']:.0f} | "
                f"{rest['api_calls']} |"
            )
            discover = tap["discover"]
            lines.append(
                f"| {n} | tap-salesforce | discovery (once) | - | {discover['seconds']:.1f} | - "
                f"| - | {discover['api_calls']} |"
            )
            bulk = tap.get("bulk", {})
            if "records" in bulk:
                lines.append(
                    f"| {n} | tap-salesforce | BULK (1.0) | {_n(bulk['records'])} | "
                    f"{bulk['seconds']:.1f} | {_rate(bulk['records'], bulk['seconds'])} | "
                    f"{bulk['peak_rss_mb']:.0f} | {bulk['api_calls']} |"
                )
            else:
                reason = bulk.get("not_available", "not run")
                lines.append(
                    f"| {n} | tap-salesforce | BULK (1.0) | not available: {reason} | | | | |"
                )
            ratios.append((size["records"], ours, tap))
        else:
            lines.append(f"| {n} | tap-salesforce | - | {tap.get('skipped', 'not run')} | | | | |")
    lines.append("")
    if ratios:
        lines += ["Ratios in the same run (leadsync / tap-salesforce REST):", ""]
        for records, ours, tap in ratios:
            rest = tap["rest"]
            ours_rate = ours["records"] / ours["process_seconds"]
            tap_rate = rest["records"] / rest["seconds"] if rest["seconds"] else 0.0
            lines.append(
                f"- {_n(records)} leads: leadsync is **{_ratio(ours_rate, tap_rate)} faster** "
                f"in records/s (goal >= 3x) while writing a database; peak memory "
                f"{_ratio(ours['process_peak_rss_mb'], rest['peak_rss_mb'])} the tap's; "
                f"API calls {ours['api_calls']} vs {rest['api_calls']} "
                f"(+{tap['discover']['api_calls']} for the tap's discovery)."
            )
        lines.append("")
    for size in sizes:
        tap = size.get("tap", {})
        if "objects" in tap:
            missing = sorted(set(size["leadsync_copy"]["by_object"]) - set(tap["objects"]))
            if missing:
                lines.append(
                    f"- {_n(size['records'])} leads: objects leadsync copies that the tap did not "
                    f"discover (so it did not copy them): {', '.join(missing)}."
                )
    load = [
        f"{_n(s['records'])} leads: {s['load_before']:.1f} -> {s['load_after']:.1f}"
        for s in sizes
        if "load_before" in s
    ]
    if load:
        lines += [
            "",
            f"Machine load average (1 min) before -> after each size: {'; '.join(load)}"
            " (other work on the machine slows both tools alike).",
            "",
        ]
    probes = {s["tap"]["bulk_probe"] for s in sizes if "bulk_probe" in s.get("tap", {})}
    for probe in sorted(probes):
        lines.append(f"Bulk for the tap: its BULK mode is Bulk API 1.0; probe: {probe}.")
    memory = [
        f"{_n(s['records'])} leads: {s['leadsync_copy']['process_peak_rss_mb']:.0f} MB"
        for s in sizes
    ]
    lines += ["", f"leadsync peak memory against the org's size: {'; '.join(memory)}.", ""]
    return [*lines, _footer(meta), ""]


def _pull_row(size: dict[str, Any], changed: int) -> dict[str, Any] | None:
    for row in size["cycles"]["pull"]:
        if row["changed"] == changed:
            found: dict[str, Any] = row
            return found
    return None


def _push_row(size: dict[str, Any], changed: int) -> dict[str, Any] | None:
    for row in size["cycles"]["push"].get("rows", []):
        # A 10,000-lead org has 9,997 leads to edit (3 are converted).
        if changed * 0.99 <= row["changed"] <= changed:
            found: dict[str, Any] = row
            return found
    return None


def _pull_cell(size: dict[str, Any], changed: int) -> str:
    row = _pull_row(size, changed)
    if row is None:
        return str(size["cycles"].get("error", "-"))
    return f"**{row['api_calls']}** (read {_n(row['read'])} in {row['seconds']:.1f} s)"


def _push_cell(size: dict[str, Any], changed: int) -> str:
    push = size["cycles"]["push"]
    if "pending" in push:
        return f"pending ({push['pending']})"
    row = _push_row(size, changed)
    if row is None:
        return "-"
    return f"**{row['api_calls']}** (wrote {_n(row['written'])} in {row['seconds']:.1f} s)"


def _sync_person_cell(size: dict[str, Any]) -> str:
    persons = size["cycles"]["push"].get("sync_person") or []
    if not persons:
        return "pending"
    calls = sum(p["api_calls"] for p in persons) / len(persons)
    return f"**{calls:.1f}** (mean of {len(persons)})"


def economy_section(meta: dict[str, Any], sizes: list[dict[str, Any]]) -> list[str]:
    changes = meta.get("changes", [1_000, 10_000])
    heads = " | ".join(f"leadsync, {_n(s['records'])} leads" for s in sizes)
    lines = [
        "## API economy",
        "",
        "After each initial copy (one warm-up cycle first, so describes are cached as in a "
        "long-running sync). Changed leads are edited by the admin through the REST API before "
        "the cycle, and pushed changes are local edits of linked persons (`update_person`) "
        "pushed by `Pusher.run()`; the admin's calls are not counted. A cycle's change check "
        "is one `/composite` call for up to 15 objects: five asked with their changes query, "
        "the others with Salesforce's replication resources (`updated`, `deleted`); an object "
        "with changes is queried after it (`sync/change_check.py`).",
        "",
        f"| measure | {heads} | Marketo (documented) |",
        "|---|" + "---:|" * (len(sizes) + 1),
    ]

    def row(measure: str, cells: list[str], marketo: str) -> None:
        lines.append(f"| {measure} | {' | '.join(cells)} | {marketo} |")

    idle = [_pull_row(s, 0) for s in sizes]
    row(
        "calls per idle cycle (goal 1)",
        [f"**{r['api_calls']}** (read {_n(r['read'])})" if r else "-" for r in idle],
        str(MARKETO_IDLE),
    )
    row(
        f"calls a day at rest (5-min cadence, {CYCLES_PER_DAY} cycles)",
        [_n(r["api_calls"] * CYCLES_PER_DAY) if r else "-" for r in idle],
        _n(MARKETO_DAY),
    )
    for changed in changes:
        row(
            f"calls per {_n(changed)} changed records pulled",
            [_pull_cell(s, changed) for s in sizes],
            f"{_n(_marketo_calls(changed))} (at {MARKETO_PER_CALL} per call)",
        )
    for changed in changes:
        row(
            f"calls per {_n(changed)} changed records pushed",
            [_push_cell(s, changed) for s in sizes],
            f"{_n(_marketo_calls(changed))} (at {MARKETO_PER_CALL} per call)",
        )
    row("calls per Sync Person to SFDC", [_sync_person_cell(s) for s in sizes], ">= 1")
    return [*lines, "", MARKETO_SOURCE, "", _footer(meta), ""]


def _marketo_calls(records: int) -> int:
    return -(-records // MARKETO_PER_CALL)


def size_section(meta: dict[str, Any], sizes: list[dict[str, Any]]) -> list[str]:
    step = meta.get("changes", [1_000])[0]
    label = f"{_n(step)}-change"
    lines = [
        "## Cost against size",
        "",
        f"An idle cycle and a {label} cycle over orgs of growing size (goal: flat). "
        "Records read include the look-back window the cycle re-reads (5 minutes before the "
        "watermark), so recent changes are read again and skipped. The org is seeded as if "
        "15 minutes ago (`leadsync emulator --seed-age 900`), out of every window: the idle "
        "cycle measures an org at rest.",
        "",
        f"| persons in org | idle s | idle calls | idle records read | {label} s | "
        f"{label} calls | {label} records read |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        idle, changed = _pull_row(size, 0), _pull_row(size, step)
        if idle is None or changed is None:
            continue
        persons = persons_in(size["leadsync_copy"])
        lines.append(
            f"| {_n(persons)} | {idle['seconds']:.2f} | {idle['api_calls']} | {_n(idle['read'])} "
            f"| {changed['seconds']:.2f} | {changed['api_calls']} | {_n(changed['read'])} |"
        )
    return [*lines, "", _footer(meta), ""]


def persons_in(copy: dict[str, Any]) -> int:
    """Persons the initial copy stored: its leads and contacts."""
    return sum(
        counts["read"] for name, counts in copy["by_object"].items() if name in ("Lead", "Contact")
    )


def _check_cell(check: dict[str, Any] | None) -> str:
    if not check:
        return "-"
    cells = []
    for side, label in (("pulled", "SF edits"), ("pushed", "local edits")):
        figures = check[side]
        agree = figures["checked"] - figures["differ"]
        cell = f"{label} {agree}/{figures['checked']} agree"
        cells.append(cell if not figures["differ"] else f"**{cell}**")
    return ", ".join(cells)


def _convergence_row(persons: int, row: dict[str, Any]) -> str:
    edits = _n(row["edits"])
    if "seconds" not in row:  # nothing edited, or the worker failed before cycling
        return f"| {_n(persons)} | {edits} | error: {row.get('error', '-')} | | | | | |"
    cycles = row["cycles"]
    seconds = f"{row['seconds']:.2f}" if row["seconds"] < 1 else f"{row['seconds']:.1f}"
    if not row["converged"]:
        seconds = f"not converged ({seconds})"
    check = _check_cell(row.get("check"))
    if "error" in row:
        check = f"{check}; **error: {row['error']}**"
    idle = cycles[-1] if not cycles[-1]["work"] else None
    confirm = f"{idle['seconds']:.1f} s, {idle['api_calls']} calls" if idle else "-"
    return (
        f"| {_n(persons)} | {edits} | {seconds} | {sum(c['work'] for c in cycles)} "
        f"| {row['api_calls']} | {_rate(2 * row['edits'], row['seconds'])} | {check} "
        f"| {confirm} |"
    )


def convergence_section(meta: dict[str, Any], sizes: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## Two-way convergence",
        "",
        "After the cycles above, on the same database: E leads edited in Salesforce (Title, by "
        "the admin in collections of 200; those calls are not counted) and E other persons "
        "edited locally (City, `update_person`, a commit per 1,000), for each E with 2 E <= the "
        "org's persons. Then leadsync runs cycles as the runner does (`Syncer.run_cycle`: pull, "
        "then push) until a cycle has nothing left to do, at most 3. Wall seconds, cycles and "
        "API calls are those of the cycles that did work; records/s is 2 E over those seconds. "
        "The last column is the cycle that found nothing left: it still pages through the "
        "look-back window, which holds the edits and the push's own writes, and skips them. "
        "The check reads a sample of each side's edits (200, or all if fewer) back from "
        "Salesforce as the admin and from the lead database: both must hold the value written. "
        "A cycle that fails, work left after 3 cycles or a sample that differs is shown as an "
        "error in the row.",
        "",
        "| persons in org | edits a side | wall s to converge | cycles | API calls | records/s "
        "| sample check | confirming idle cycle |",
        "|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for size in sizes:
        persons = persons_in(size["leadsync_copy"])
        convergence = size.get("convergence") or {}
        for row in convergence.get("rows", []):
            lines.append(_convergence_row(persons, row))
        if not convergence.get("rows"):
            reason = convergence.get("error") or convergence.get("skipped") or "not run"
            lines.append(f"| {_n(persons)} | - | {reason} | | | | | |")
    return [*lines, "", _footer(meta), ""]


def reproduce_section(meta: dict[str, Any]) -> list[str]:
    return [
        "## Reproduce",
        "",
        "```",
        ".venv/bin/python -m bench.run_all --quick      # 10,000 leads, a few minutes",
        ".venv/bin/python -m bench.run_all              # 10,000, 100,000 and 1,000,000 leads",
        f"{meta['command']}",
        "```",
        "",
        "The first run installs tap-salesforce into `.cache/tap-venv` (needs PyPI).",
        "",
    ]


def render(results: dict[str, Any]) -> str:
    meta, sizes = results["meta"], results["sizes"]
    lines = header(meta)
    lines += copy_section(meta, sizes)
    lines += economy_section(meta, sizes)
    lines += size_section(meta, sizes)
    lines += convergence_section(meta, sizes)
    lines += reproduce_section(meta)
    lines += [
        "<details><summary>Raw figures (JSON)</summary>",
        "",
        "```json",
        json.dumps(results, indent=1, sort_keys=True),
        "```",
        "</details>",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Re-render a report from the raw results: `python -m bench.report results.json`."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m bench.report RESULTS.json", file=sys.stderr)
        return 2
    print(render(json.loads(Path(args[0]).read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
