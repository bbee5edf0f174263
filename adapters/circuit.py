"""A small circuit breaker for the shared stores (Redis, S3).

While a store is down every request would otherwise wait the full store timeout before
degrading. After a failure the breaker fails calls at once for a short cool-down, then lets a
single probe through; the first success closes it again, so recovery needs no restart.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from core.ports import StoreUnavailable

T = TypeVar("T")


class CircuitBreaker:
    """Closed -> (failure) open for `cooldown_seconds` -> one probe -> closed or open again."""

    def __init__(
        self,
        name: str,
        cooldown_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._cooldown = cooldown_seconds
        self._clock = clock
        self._open_until: float | None = None
        self._probing = False

    @property
    def is_open(self) -> bool:
        return self._open_until is not None

    def allow(self) -> bool:
        """True when a call may go to the backend now (closed, or the one half-open probe)."""
        if self._open_until is None:
            return True
        if self._clock() < self._open_until or self._probing:
            return False
        self._probing = True
        return True

    def record_success(self) -> None:
        self._open_until = None
        self._probing = False

    def record_failure(self) -> None:
        self._open_until = self._clock() + self._cooldown
        self._probing = False

    async def call(
        self,
        make: Callable[[], Awaitable[T]],
        timeout_seconds: float,
        errors: tuple[type[BaseException], ...],
    ) -> T:
        """Run `make()` within the timeout; a listed error or a timeout -> StoreUnavailable."""
        if not self.allow():
            raise StoreUnavailable(f"{self.name}: unavailable (circuit open)")
        failures: tuple[type[BaseException], ...] = (TimeoutError, *errors)
        try:
            result = await asyncio.wait_for(make(), timeout_seconds)
        except failures as error:
            self.record_failure()
            raise StoreUnavailable(f"{self.name}: {type(error).__name__}") from error
        except BaseException:
            # Cancelled by the caller (its deadline), or a bug: says nothing about the
            # backend, but a probe must not stay claimed forever.
            self._probing = False
            raise
        self.record_success()
        return result

    async def probe(self, make: Callable[[], Awaitable[object]], timeout_seconds: float) -> bool:
        """A readiness check that runs even while the circuit is open; never raises. Its
        answer opens or closes the circuit, so probes speed up recovery."""
        try:
            await asyncio.wait_for(make(), timeout_seconds)
        except Exception:
            self.record_failure()
            return False
        self.record_success()
        return True
