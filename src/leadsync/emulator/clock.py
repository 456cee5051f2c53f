"""The org's clock: real time by default, frozen or shifted on demand for reproducible tests."""

from __future__ import annotations

import threading
import time


class Clock:
    """Whole-second time, as Salesforce stamps records."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen: float | None = None

    def now_float(self) -> float:
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return time.time() + self._offset

    @property
    def frozen(self) -> bool:
        with self._lock:
            return self._frozen is not None

    def now(self) -> int:
        return int(self.now_float())

    def freeze(self, at: float | None = None) -> None:
        with self._lock:
            self._frozen = time.time() + self._offset if at is None else at

    def unfreeze(self) -> None:
        with self._lock:
            if self._frozen is not None:
                self._offset = self._frozen - time.time()
            self._frozen = None

    def reset(self) -> None:
        """Back to real time, running."""
        with self._lock:
            self._frozen = None
            self._offset = 0.0

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen is not None:
                self._frozen += seconds
            else:
                self._offset += seconds
