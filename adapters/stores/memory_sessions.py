"""The embedded session store: an LRU of replay entries in process memory, with a TTL."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence


class MemorySessionStore:
    """Bounded by entry count; every hit refreshes the entry's TTL (sliding expiry)."""

    def __init__(self, max_entries: int = 200_000, clock: Callable[[], float] = time.monotonic):
        self._entries: OrderedDict[str, tuple[float, int, bytes]] = OrderedDict()
        self._max_entries = max_entries
        self._clock = clock

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        now = self._clock()
        values: list[bytes | None] = []
        for key in keys:
            found = self._entries.get(key)
            if found is None or found[0] <= now:
                if found is not None:
                    del self._entries[key]
                values.append(None)
                continue
            _, ttl, value = found
            self._entries[key] = (now + ttl, ttl, value)
            self._entries.move_to_end(key)
            values.append(value)
        return values

    async def put_many(self, items: Mapping[str, bytes], ttl_seconds: int) -> None:
        expires = self._clock() + ttl_seconds
        for key, value in items.items():
            self._entries[key] = (expires, ttl_seconds, value)
            self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def ping(self) -> bool:
        return True

    async def aclose(self) -> None:
        return None

    def __len__(self) -> int:
        return len(self._entries)
