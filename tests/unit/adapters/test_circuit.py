"""The shared stores' circuit breaker, on a fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from adapters.circuit import CircuitBreaker
from core.ports import StoreUnavailable


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def ok() -> str:
    return "ok"


async def boom() -> str:
    raise ConnectionError("down")


async def hang() -> str:
    await asyncio.sleep(10)
    return "late"


def call(breaker: CircuitBreaker, make: Callable[[], Awaitable[str]], timeout: float = 1.0) -> str:
    return asyncio.run(breaker.call(make, timeout, (ConnectionError,)))


def test_a_failure_opens_the_circuit_for_the_cooldown_then_one_probe_closes_it() -> None:
    clock = Clock()
    breaker = CircuitBreaker("t", cooldown_seconds=1.0, clock=clock)
    assert call(breaker, ok) == "ok"
    with pytest.raises(StoreUnavailable, match="ConnectionError"):
        call(breaker, boom)
    clock.now += 0.5
    with pytest.raises(StoreUnavailable, match="circuit open"):
        call(breaker, ok)  # not even tried
    clock.now += 0.6
    assert breaker.allow() is True  # the single probe...
    assert breaker.allow() is False  # ...and nobody else while it runs
    breaker.record_success()
    assert call(breaker, ok) == "ok" and not breaker.is_open


def test_a_failed_probe_reopens_and_a_timeout_counts_as_a_failure() -> None:
    clock = Clock()
    breaker = CircuitBreaker("t", cooldown_seconds=1.0, clock=clock)
    with pytest.raises(StoreUnavailable, match="TimeoutError"):
        call(breaker, hang, timeout=0.01)
    clock.now += 1.1
    with pytest.raises(StoreUnavailable, match="ConnectionError"):
        call(breaker, boom)
    with pytest.raises(StoreUnavailable, match="circuit open"):
        call(breaker, ok)
    clock.now += 1.1
    assert call(breaker, ok) == "ok"


def test_unlisted_errors_and_cancellation_do_not_open_it_or_hold_the_probe() -> None:
    clock = Clock()
    breaker = CircuitBreaker("t", cooldown_seconds=1.0, clock=clock)

    async def bug() -> str:
        raise KeyError("not a backend failure")

    with pytest.raises(KeyError):
        call(breaker, bug)
    assert not breaker.is_open
    breaker.record_failure()
    clock.now += 1.1

    async def cancelled_probe() -> None:
        task = asyncio.ensure_future(breaker.call(hang, 5.0, (ConnectionError,)))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancelled_probe())
    assert call(breaker, ok) == "ok"  # the next caller may probe
