"""The org's daily API request budget, counted as Salesforce counts it."""

from __future__ import annotations

import threading
import time

from .clock import Clock
from .errors import SalesforceError
from .store import Store


class ApiCounter:
    """Counts API requests per UTC day: a `/composite` or collections call is one request, a
    `/composite/batch` call one per sub-request it runs (`api/composite.py`).

    `consume` and `header` run on the server's event loop for every call, so they never wait
    for the store's writer lock: a long write in a worker thread (an ingest chunk, an
    allOrNone composite) would otherwise freeze every connection. The count is saved every
    100 calls when the writer is free, else at a later call, and always by `flush`.
    """

    def __init__(self, store: Store, clock: Clock, maximum: int) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self.maximum = maximum
        self._day = self._today()
        row = (
            store.reader()
            .execute("SELECT used FROM _emu_api_usage WHERE day = ?", (self._day,))
            .fetchone()
        )
        self._used = int(row[0]) if row else 0
        self._unsaved = 0

    def _today(self) -> str:
        return time.strftime("%Y-%m-%d", time.gmtime(self._clock.now()))

    def _roll(self) -> None:
        day = self._today()
        if day != self._day:
            self._flush(wait=False)  # the past day's count is informational only
            self._day = day
            self._used = 0
            self._unsaved = 0

    @property
    def used(self) -> int:
        with self._lock:
            self._roll()
            return self._used

    def consume(self) -> int:
        """Count one request, or refuse it with REQUEST_LIMIT_EXCEEDED once the budget is spent."""
        with self._lock:
            self._roll()
            if self._used >= self.maximum:
                raise SalesforceError(
                    "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", 403
                )
            self._used += 1
            self._unsaved += 1
            if self._unsaved >= 100:
                self._flush(wait=False)
            return self._used

    def set_used(self, used: int) -> None:
        with self._lock:
            self._roll()
            self._used = used
            self._unsaved = max(self._unsaved, 100)  # saved by the next call if not now
            self._flush(wait=False)

    def header(self) -> str:
        return f"api-usage={self.used}/{self.maximum}"

    def _flush(self, *, wait: bool) -> None:
        writing = self._store.write() if wait else self._store.try_write()
        with writing as conn:
            if conn is None:
                return  # the writer is busy: try again at a later call
            conn.execute(
                "INSERT INTO _emu_api_usage (day, used) VALUES (?, ?) "
                "ON CONFLICT(day) DO UPDATE SET used = excluded.used",
                (self._day, self._used),
            )
        self._unsaved = 0

    def flush(self) -> None:
        """Save the count now, waiting for the writer (not for the event loop)."""
        with self._lock:
            self._flush(wait=True)
