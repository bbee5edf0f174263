"""Admission control: bounded work in flight, shedding instead of waiting past a budget."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from core.admission import Abandoned, Admission, Budget, Shed


def test_at_most_slots_jobs_run_and_the_next_waits_for_one() -> None:
    admission = Admission(slots=1, max_wait_seconds=5, max_waiting=4)
    running, peak = 0, 0
    lock = threading.Lock()

    def job() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1

    async def main() -> None:
        with ThreadPoolExecutor(4) as pool:
            await asyncio.gather(*(admission.run(pool, 5, job) for _ in range(4)))

    asyncio.run(main())
    assert peak == 1 and admission.active == 0 and admission.waiting == 0


def test_a_request_that_would_wait_past_its_budget_is_shed_at_once() -> None:
    admission = Admission(slots=1, max_wait_seconds=0.05, max_waiting=4)
    release = threading.Event()

    async def main() -> tuple[float, int]:
        with ThreadPoolExecutor(2) as pool:
            held = asyncio.ensure_future(admission.run(pool, 5, release.wait, 5))
            await asyncio.sleep(0.01)
            started = time.perf_counter()
            with pytest.raises(Shed):
                await admission.run(pool, 5, lambda: None)
            waited = time.perf_counter() - started
            queued_after = admission.waiting
            release.set()
            await held
            return waited, queued_after

    waited, queued_after = asyncio.run(main())
    assert 0.04 < waited < 0.5 and queued_after == 0


def test_a_full_queue_sheds_without_waiting() -> None:
    admission = Admission(slots=1, max_wait_seconds=5, max_waiting=0)
    release = threading.Event()

    async def main() -> float:
        with ThreadPoolExecutor(2) as pool:
            held = asyncio.ensure_future(admission.run(pool, 5, release.wait, 5))
            await asyncio.sleep(0.01)
            started = time.perf_counter()
            with pytest.raises(Shed):
                await admission.run(pool, 5, lambda: None)
            shed_after = time.perf_counter() - started
            release.set()
            await held
            return shed_after

    assert asyncio.run(main()) < 0.5  # at once; max_wait_seconds (5 s) never came into it


def test_the_slot_stays_taken_until_the_thread_ends_even_when_the_caller_gives_up() -> None:
    """Threads cannot be cancelled: a failed-open job still occupies its slot, so the pool is
    never oversubscribed behind it."""
    admission = Admission(slots=1, max_wait_seconds=0.05, max_waiting=4)
    release = threading.Event()

    async def main() -> tuple[int, int]:
        with ThreadPoolExecutor(2) as pool:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(admission.run(pool, 5, release.wait, 5), 0.02)
            held_while_running = admission.active
            with pytest.raises(Shed):
                await admission.run(pool, 5, lambda: None)
            release.set()
            deadline = time.monotonic() + 10
            while admission.active and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            await admission.run(pool, 5, lambda: None)
            return held_while_running, admission.active

    assert asyncio.run(main()) == (1, 0)


def test_a_waiter_is_handed_the_freed_slot_in_order() -> None:
    admission = Admission(slots=1, max_wait_seconds=5, max_waiting=4)
    order: list[int] = []

    async def main() -> None:
        with ThreadPoolExecutor(2) as pool:
            jobs = [admission.run(pool, 5, order.append, i) for i in range(3)]
            await asyncio.gather(*jobs)

    asyncio.run(main())
    assert order == [0, 1, 2]


def test_budget_check_raises_once_spent() -> None:
    now = [0.0]
    budget = Budget(1.0, clock=lambda: now[0])
    budget.check()
    now[0] = 0.99
    assert budget.remaining() == pytest.approx(0.01)
    now[0] = 1.0
    with pytest.raises(Abandoned):
        budget.check()
