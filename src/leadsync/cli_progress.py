"""Progress bars for the initial copy, for a person at a terminal (the CLI and the demo)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .sync.pull import Puller


@contextmanager
def copy_progress(puller: Puller, console: Console, *, enabled: bool = True) -> Iterator[None]:
    """One bar per object while `puller` copies (records stored of the total expected);
    the bars go when the block ends. Off when `enabled` is False (logs, pipes)."""
    if not enabled:
        yield
        return
    bars = Progress(
        TextColumn("  copying {task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def progress(name: str, stored: int, total: int | None) -> None:
        if name not in tasks:
            tasks[name] = bars.add_task(name, total=total)
        bars.update(tasks[name], completed=stored, total=total)

    previous = puller.progress
    puller.progress = progress
    try:
        with bars:
            yield
    finally:
        puller.progress = previous
