"""Embedded state stays bounded without anyone reading it: bytes cap, background sweeps."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from adapters.stores.file_originals import FileOriginalStore
from adapters.stores.memory_sessions import ENTRY_OVERHEAD_BYTES, MemorySessionStore
from adapters.sweeper import sweep_periodically


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_memory_sessions_are_bounded_in_bytes_least_recent_first() -> None:
    entry = 1000 + 1 + ENTRY_OVERHEAD_BYTES
    store = MemorySessionStore(max_bytes=3 * entry)
    asyncio.run(store.put_many({k: b"x" * 1000 for k in "abc"}, ttl_seconds=60))
    asyncio.run(store.get_many(["a"]))  # a is now the most recent
    asyncio.run(store.put_many({"d": b"y" * 1000}, ttl_seconds=60))
    assert asyncio.run(store.get_many(list("abcd"))) == [b"x" * 1000, None, b"x" * 1000,
                                                         b"y" * 1000]  # fmt: skip
    assert store.bytes == 3 * entry
    asyncio.run(store.put_many({"huge": b"z" * 10_000}, ttl_seconds=60))  # alone over the cap
    assert len(store) == 0 and store.bytes == 0


def test_rewriting_a_key_does_not_count_it_twice() -> None:
    store = MemorySessionStore(max_bytes=10_000)
    for _ in range(5):
        asyncio.run(store.put_many({"k": b"v" * 100}, ttl_seconds=60))
    assert store.bytes == 1 + 100 + ENTRY_OVERHEAD_BYTES


def test_sweep_drops_expired_sessions_nobody_reads() -> None:
    clock = Clock()
    store = MemorySessionStore(clock=clock)
    asyncio.run(store.put_many({"old": b"1"}, ttl_seconds=10))
    clock.now += 5
    asyncio.run(store.put_many({"new": b"2"}, ttl_seconds=10))
    clock.now += 6
    asyncio.run(store.sweep())
    assert len(store) == 1 and store.bytes == len("new") + 1 + ENTRY_OVERHEAD_BYTES
    assert asyncio.run(store.get_many(["new"])) == [b"2"]


def test_file_sweep_deletes_expired_originals_and_keeps_the_rest(tmp_path: Path) -> None:
    store = FileOriginalStore(tmp_path)
    live, dead = "0123456789abcdef01234567", "fedcba9876543210fedcba98"
    asyncio.run(store.put_many("alice", {live: "kept"}, ttl_seconds=60))
    asyncio.run(store.put_many("bob", {dead: "gone"}, ttl_seconds=60))
    dead_path = next(tmp_path.rglob(dead))
    past = time.time() - 1
    os.utime(dead_path, (past, past))
    in_progress = dead_path.parent.parent / "00" / "tmpabc123"
    in_progress.parent.mkdir()
    in_progress.write_text("being written")
    os.utime(in_progress, (past, past))
    asyncio.run(store.sweep())
    assert not dead_path.exists() and in_progress.exists()
    assert not dead_path.parent.exists()  # emptied directories go too
    assert asyncio.run(store.get("alice", live)) == "kept"


def test_sweeps_run_periodically_and_survive_a_failing_one() -> None:
    calls: list[str] = []

    async def broken() -> None:
        calls.append("broken")
        raise OSError("disk gone")

    async def fine() -> None:
        calls.append("fine")

    async def main() -> None:
        task = asyncio.create_task(sweep_periodically([broken, fine], 0.01))
        deadline = time.monotonic() + 10  # a loaded machine may run fewer rounds per second
        while calls.count("fine") < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(main())
    assert calls.count("fine") >= 3 and calls.count("broken") == calls.count("fine")
