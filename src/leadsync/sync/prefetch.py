"""Reading ahead of the store: a bounded queue fed by a reader thread.

In an initial copy, fetching and decoding the next batch (HTTP, CSV, converting values) and
storing the current one (the database driver, which releases the GIL while it writes) can
overlap. The queue holds at most `depth` batches, so memory stays flat however big the org.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import TypeVar

T = TypeVar("T")
_POLL = 0.1  # seconds: how often a blocked reader checks whether the consumer went away


class _End:
    """Queued after the last item, with the reader's exception if it failed."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def prefetch(items: Iterator[T], depth: int = 2) -> Generator[T, None, None]:
    """Yield what `items` yields, produced by a thread running up to `depth` items ahead.

    An exception in the reader is raised here, in the consumer, with its traceback. Closing
    this generator (or leaving a loop over it early) stops the reader and closes `items` in the
    reader's own thread, so its cleanup (deleting a Bulk job) still runs."""
    slots: queue.Queue[T | _End] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: T | _End) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_End())
        except BaseException as exc:  # handed to the consumer, which raises it
            put(_End(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=read, name="leadsync-prefetch", daemon=True)
    reader.start()
    try:
        while True:
            item = slots.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        stop.set()
        reader.join()
