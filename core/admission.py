"""Admission control: a bounded amount of compression work in flight, and none that waits long.

Compression is CPU-bound and runs on a small thread pool. Without a bound, a burst queues
behind the pool and every request in it fails open at its deadline, after having waited the
whole deadline. Here a request takes a slot before its work starts; one that cannot get a
slot within its wait budget is shed: answered at once, uncompressed. A slot is released when
the work really ends in its thread, not when the request gives up on it, because a thread
cannot be cancelled: so a failed-open request still counts against the pool until it stops
(and `Budget` makes it stop soon).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

T = TypeVar("T")


class Shed(Exception):
    """No slot within the wait budget: answer uncompressed now rather than late."""


class Abandoned(Exception):
    """The request stopped waiting for this work; raised inside the worker to end it early."""


class Budget:
    """A deadline that worker code checks between units of work (blocks, messages)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.deadline = clock() + seconds

    def remaining(self) -> float:
        return self.deadline - self._clock()

    def check(self) -> None:
        if self._clock() >= self.deadline:
            raise Abandoned


class Admission:
    """At most `slots` jobs run at once; at most `max_waiting` wait, each for its budget."""

    def __init__(self, slots: int, max_wait_seconds: float, max_waiting: int) -> None:
        self.slots = slots
        self.max_wait_seconds = max_wait_seconds
        self.max_waiting = max_waiting
        self.active = 0  # slots held (read by the metrics scrape, from any thread)
        self.waiting = 0  # requests queued for a slot (the queue-depth gauge)
        self._waiters: deque[asyncio.Future[bool]] = deque()

    async def run(self, executor: Executor, budget: float, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on `executor` once a slot is free; Shed if none frees within budget."""
        loop = asyncio.get_running_loop()
        await self._acquire(loop, min(budget, self.max_wait_seconds))
        try:
            job: Future[T] = executor.submit(fn, *args)
        except BaseException:
            self._release()
            raise
        job.add_done_callback(lambda _: _call_soon(loop, self._release))
        return await asyncio.wrap_future(job)

    async def _acquire(self, loop: asyncio.AbstractEventLoop, wait: float) -> None:
        if self.active < self.slots and not self.waiting:
            self.active += 1
            return
        if self.waiting >= self.max_waiting or wait <= 0:
            raise Shed
        waiter: asyncio.Future[bool] = loop.create_future()
        self._waiters.append(waiter)
        self.waiting += 1
        timer = loop.call_later(wait, _settle, waiter, False)
        try:
            granted = await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.result():
                self._release()  # handed a slot just as the caller went away: pass it on
            raise
        finally:
            self.waiting -= 1
            timer.cancel()
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        if not granted:
            raise Shed

    def _release(self) -> None:
        """Hand the slot to the oldest live waiter, or free it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(True)
                return
        self.active -= 1


def _settle(waiter: asyncio.Future[bool], value: bool) -> None:
    if not waiter.done():
        waiter.set_result(value)


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    try:
        loop.call_soon_threadsafe(callback)
    except RuntimeError:  # the loop closed at shutdown: nobody is left to wait for the slot
        pass
