"""The embedded session store: an LRU of replay entries in process memory, with a TTL."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence

#: What an entry costs beyond its key and value bytes (dict slot, tuple, bytes headers).
ENTRY_OVERHEAD_BYTES = 200


class MemorySessionStore:
    """Bounded by entry count and by bytes (least recently used go first); every hit
    refreshes the entry's TTL (sliding expiry); `sweep()` drops expired entries unread."""

    def __init__(
        self,
        max_entries: int = 200_000,
        max_bytes: int = 64 * 2**20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries: OrderedDict[str, tuple[float, int, bytes]] = OrderedDict()
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._clock = clock
        self.bytes = 0

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        now = self._clock()
        values: list[bytes | None] = []
        for key in keys:
            found = self._entries.get(key)
            if found is None or found[0] <= now:
                if found is not None:
                    self._drop(key)
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
            if key in self._entries:
                self._drop(key)
            self._entries[key] = (expires, ttl_seconds, value)
            self.bytes += _cost(key, value)
        while self._entries and (
            len(self._entries) > self._max_entries or self.bytes > self._max_bytes
        ):
            key, (_, _, value) = self._entries.popitem(last=False)
            self.bytes -= _cost(key, value)

    async def sweep(self) -> None:
        """Drop expired entries. Least recently used come first and, with one TTL for all
        (the service's), expire first, so the sweep stops at the first live one."""
        now = self._clock()
        while self._entries:
            key, (expires, _, _) = next(iter(self._entries.items()))
            if expires > now:
                return
            self._drop(key)

    async def ping(self) -> bool:
        return True

    async def aclose(self) -> None:
        return None

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, key: str) -> None:
        _, _, value = self._entries.pop(key)
        self.bytes -= _cost(key, value)


def _cost(key: str, value: bytes) -> int:
    return len(key) + len(value) + ENTRY_OVERHEAD_BYTES
