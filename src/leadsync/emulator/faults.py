"""Fault injection for reliability tests: make chosen calls fail the way real orgs fail.

A rule fails the next `count` matching calls, or a `rate` share of them (seeded, so a test run
is reproducible), optionally only for one path pattern or one object.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = frozenset(
    {"unavailable", "lock", "limit", "slow", "drop", "invalid_session", "timeout"}
)
# Bounds that keep a rule printable as JSON and its delay within what a timer can wait.
MAX_COUNT = 2**53
MAX_DELAY = 3600.0


class FaultSpecError(ValueError):
    """A fault rule that cannot be understood."""


@dataclass
class FaultRule:
    kind: str
    count: int | None = None
    rate: float | None = None
    path: str | None = None
    object: str | None = None
    method: str | None = None
    delay: float = 2.0
    injected: int = 0
    _pattern: re.Pattern[str] | None = field(default=None, repr=False)

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        if self._pattern is not None and not self._pattern.search(path):
            return False
        if self.object:
            lowered = path.lower()
            needle = self.object.lower()
            if f"/{needle}/" not in lowered + "/" and f"/{needle}?" not in lowered:
                return False
        return True

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "count": self.count,
            "rate": self.rate,
            "path": self.path,
            "object": self.object,
            "method": self.method,
            "delay": self.delay,
            "injected": self.injected,
        }


class FaultInjector:
    def __init__(self, seed: int = 20261123) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self.total_injected = 0

    def add(self, spec: dict[str, Any]) -> FaultRule:
        kind = str(spec.get("kind", ""))
        if kind not in FAULT_KINDS:
            raise FaultSpecError(f"kind must be one of {sorted(FAULT_KINDS)}, got {kind!r}")
        count = spec.get("count")
        rate = spec.get("rate")
        if (count is None) == (rate is None):
            raise FaultSpecError("give exactly one of 'count' or 'rate'")
        if rate is not None and not 0 < float(rate) <= 1:
            raise FaultSpecError("rate must be in (0, 1]")
        if count is not None and not 1 <= int(count) <= MAX_COUNT:
            raise FaultSpecError(f"count must be between 1 and {MAX_COUNT}")
        delay = float(spec.get("delay", 2.0))
        # (NaN fails both comparisons; a huge delay would overflow the event loop's timer.)
        if not 0 <= delay <= MAX_DELAY:
            raise FaultSpecError(f"delay must be between 0 and {MAX_DELAY:g} seconds")
        path = spec.get("path")
        try:
            pattern = re.compile(path) if path else None
        except re.error as exc:
            raise FaultSpecError(f"path is not a valid regular expression: {exc}") from exc
        rule = FaultRule(
            kind=kind,
            count=None if count is None else int(count),
            rate=None if rate is None else float(rate),
            path=path,
            object=spec.get("object"),
            method=spec.get("method"),
            delay=delay,
            _pattern=pattern,
        )
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.as_dict() for r in self._rules]

    def take(self, method: str, path: str) -> FaultRule | None:
        """The rule that fails this call, if any (consuming one of its counted failures)."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path):
                    continue
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count <= 0:
                        self._rules.remove(rule)
                elif rule.rate is not None and self._random.random() >= rule.rate:
                    continue
                rule.injected += 1
                self.total_injected += 1
                return rule
        return None
