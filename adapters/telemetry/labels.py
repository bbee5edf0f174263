"""Bounded label values: metrics stay cheap however many users, teams or models appear."""

from __future__ import annotations

import threading

OTHER = "other"
MAX_VALUE_CHARS = 64


class BoundedValues:
    """The first `cap` distinct values pass through; later new ones become `other`.

    Values are cut to 64 characters, and empty ones read `unknown`. A value once admitted
    stays admitted for the life of the process, so a series never flips to `other`.
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str | None) -> str:
        value = (value or "unknown")[:MAX_VALUE_CHARS]
        if value in self._seen:
            return value
        with self._lock:
            if value in self._seen:
                return value
            if len(self._seen) >= self.cap:
                return OTHER
            self._seen.add(value)
            return value
