"""The benchmark report runs end to end on a tiny org and gives every figure it promises.

It asserts no duration: only that each section is there and its figures are positive numbers.
The tap runs too when its virtual environment is already installed (`.cache/tap-venv`).
"""

from __future__ import annotations

import re

import pytest
from bench import report, run_all, tap_bench

pytestmark = pytest.mark.slow

LEADS = 500
CHANGED = 100


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


def test_report_on_a_tiny_org() -> None:
    tap = tap_bench.tap_ready()
    results = run_all.run(
        [LEADS], changes=[CHANGED], tap="existing", command="pytest tests/test_bench_smoke.py"
    )
    markdown = report.render(results)

    for section in ("## Initial copy", "## API economy", "## Cost against size", "## Reproduce"):
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

    size_rows = [
        line
        for line in markdown.split("## Cost against size")[1].splitlines()
        if re.match(r"\| [\d,]+ \|", line)
    ]
    assert len(size_rows) == 1
    figures = [_number(c.strip()) for c in size_rows[0].split("|")[1:-1]]
    assert figures[0] >= LEADS and figures[2] >= 1 and figures[5] >= 1
