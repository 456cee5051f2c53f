"""Reading ahead: items arrive in order, a reader's failure reaches the consumer, and
stopping early stops (and cleans up) the reader."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from leadsync.sync.prefetch import prefetch


class Broken(Exception):
    pass


def test_items_arrive_in_order_from_another_thread() -> None:
    threads: set[str] = set()

    def numbers() -> Iterator[int]:
        for n in range(50):
            threads.add(threading.current_thread().name)
            yield n

    assert list(prefetch(numbers(), depth=2)) == list(range(50))
    assert threads == {"leadsync-prefetch"}


def test_a_failure_in_the_reader_is_raised_in_the_consumer_after_earlier_items() -> None:
    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise Broken("page 3 could not be read")

    seen: list[int] = []
    with pytest.raises(Broken, match="page 3"):
        for item in prefetch(failing()):
            seen.append(item)
    assert seen == [1, 2]


def test_stopping_early_closes_the_source_in_the_reader() -> None:
    produced: list[int] = []
    closed = threading.Event()

    def endless() -> Iterator[int]:
        try:
            n = 0
            while True:
                produced.append(n)
                yield n
                n += 1
        finally:
            closed.set()  # where a Bulk job is deleted

    items = prefetch(endless(), depth=2)
    assert [next(items) for _ in range(3)] == [0, 1, 2]
    items.close()
    assert closed.is_set()
    assert len(produced) <= 3 + 2 + 1  # bounded: at most `depth` items read ahead
