"""The benchmark report runs end to end on a tiny org and gives every figure it promises.

It asserts no duration: only that each section is there and its figures are positive numbers.
The tap runs too when its virtual environment is already installed (`.cache/tap-venv`). One
quick test renders convergence results that did not converge: the report shows the error.
"""

from __future__ import annotations

import re

import pytest
from bench import report, run_all, tap_bench

LEADS = 500
CHANGED = 100
CONVERGE = 100  # edits on each side; 200 is too many for 2 x 200 persons to fit: not run


def _cells(markdown: str, first_cell: str) -> list[str]:
    """The cells of the table row whose first cell starts with `first_cell`."""
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0].startswith(first_cell):
            return cells
    raise AssertionError(f"no table row starting {first_cell!r}:\n{markdown}")


def _bold(cell: str) -> float:
    """The figure of an API-economy cell, e.g. 1 in "**1** (read 291)"."""
    match = re.match(r"\*\*([\d,.]+)\*\*", cell)
    assert match, f"no figure in {cell!r}"
    return _number(match.group(1))


def _number(cell: str) -> float:
    match = re.fullmatch(r"[\d,]+(\.\d+)?", cell)
    assert match, f"not a number: {cell!r}"
    return float(cell.replace(",", ""))


@pytest.mark.slow
def test_report_on_a_tiny_org() -> None:
    tap = tap_bench.tap_ready()
    results = run_all.run(
        [LEADS],
        changes=[CHANGED],
        convergence=[CONVERGE, LEADS],
        tap="existing",
        command="pytest tests/test_bench_smoke.py",
    )
    markdown = report.render(results)

    sections = ("## Initial copy", "## API economy", "## Cost against size", "## Two-way")
    for section in (*sections, "## Reproduce"):
        assert section in markdown
    assert re.search(r"on .+, \d+ cores, [\d.]+ GiB RAM", markdown)  # the machine, by figures
    assert "Command: `pytest tests/test_bench_smoke.py`" in markdown

    copy_rows = [
        line.split("|")[1:-1]
        for line in markdown.splitlines()
        if line.startswith(f"| {LEADS} | leadsync |")
        or (tap and line.startswith(f"| {LEADS} | tap-salesforce | REST |"))
    ]
    assert len(copy_rows) == (2 if tap else 1), markdown
    for row in copy_rows:
        records, seconds, rate, memory, calls = (_number(c.strip()) for c in row[3:8])
        assert records > LEADS  # the leads plus the demo accounts and contacts
        assert seconds > 0 and rate > 0 and memory > 0 and calls > 0
    if tap:
        assert re.search(r"leadsync is \*\*[\d.]+x faster\*\*", markdown)
        assert "BULK (1.0)" in markdown

    idle = _cells(markdown, "calls per idle cycle")
    assert _bold(idle[1]) >= 1 and _number(idle[2]) == 25
    pulled = _cells(markdown, f"calls per {CHANGED} changed records pulled")
    assert _bold(pulled[1]) >= 1
    pushed = _cells(markdown, f"calls per {CHANGED} changed records pushed")
    assert pushed[1].startswith("pending") or _bold(pushed[1]) >= 1
    synced = _cells(markdown, "calls per Sync Person to SFDC")
    assert synced[1].startswith("pending") or _bold(synced[1]) >= 1

    size_rows = _section_rows(markdown, "## Cost against size")
    assert len(size_rows) == 1
    figures = [_number(c) for c in size_rows[0]]
    assert figures[0] >= LEADS and figures[2] >= 1 and figures[5] >= 1

    converge_rows = _section_rows(markdown, "## Two-way convergence")
    assert len(converge_rows) == 1  # LEADS edits a side do not fit twice in the org
    persons, edits, seconds, cycles, calls, rate = (_number(c) for c in converge_rows[0][:6])
    assert persons >= LEADS and edits == CONVERGE
    assert seconds > 0 and cycles >= 1 and calls >= 1 and rate > 0
    assert converge_rows[0][6] == (
        f"SF edits {CONVERGE}/{CONVERGE} agree, local edits {CONVERGE}/{CONVERGE} agree"
    )
    assert results["meta"]["convergence"] == [CONVERGE, LEADS]
    convergence = markdown.split("## Two-way convergence")[1].split("## Reproduce")[0]
    assert "Command: `pytest tests/test_bench_smoke.py`" in convergence


def _section_rows(markdown: str, heading: str) -> list[list[str]]:
    """The cells of a section's table rows (those starting with a number)."""
    section = markdown.split(heading)[1].split("\n## ")[0]
    return [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in section.splitlines()
        if re.match(r"\| [\d,]+ \|", line)
    ]


def _cycle(seconds: float, calls: int, pulled: int, pushed: int) -> dict[str, object]:
    return {
        "seconds": seconds,
        "api_calls": calls,
        "status": "Succeeded",
        "message": None,
        "pulled": pulled,
        "pushed": pushed,
        "failed": 0,
        "work": bool(pulled or pushed),
    }


def test_convergence_errors_are_shown_not_hidden() -> None:
    """A size that kept changing and whose sample differs reads as an error in its row."""
    meta = {
        "date": "2026-01-01 00:00:00 UTC",
        "command": "cmd",
        "machine": {"cpu": "cpu", "cores": "2", "ram": "1.0 GiB", "os": "os"},
        "versions": {"python": "CPython 3.11", "leadsync": "0", "sqlite": "3"},
        "tap_version": "not run",
    }
    check = {
        "pulled": {"checked": 200, "differ": 0, "examples": []},
        "pushed": {"checked": 200, "differ": 3, "examples": ["x"]},
    }
    stuck = [_cycle(1.0, 10, 5, 5)] * 3
    row = {"edits": 1000, "cycles": stuck, "converged": False, "seconds": 3.0, "api_calls": 30}
    row |= {
        "check": check,
        "error": "still changing after 3 cycles; pushed: 3 of the sample differ",
    }
    size = {
        "records": 10_000,
        "leadsync_copy": {"by_object": {"Lead": {"read": 10_000}, "Account": {"read": 9}}},
        "convergence": {"rows": [row]},
    }
    failed = {
        "records": 20_000,
        "leadsync_copy": {"by_object": {"Lead": {"read": 20_000}}},
        "convergence": {"rows": [], "error": "RuntimeError: worker exited 1"},
    }

    lines = report.convergence_section(meta, [size, failed])
    rows = _section_rows("\n".join(lines), "## Two-way convergence")

    assert rows[0][:6] == ["10,000", "1,000", "not converged (3.0)", "3", "30", "667"]
    assert "**local edits 197/200 agree**" in rows[0][6]
    assert "**error: still changing after 3 cycles" in rows[0][6]
    assert rows[0][7] == "-"  # no cycle found nothing left
    assert rows[1][:3] == ["20,000", "-", "RuntimeError: worker exited 1"]
    assert lines[-2].startswith("_Measured 2026-01-01") and "Command: `cmd`" in lines[-2]
