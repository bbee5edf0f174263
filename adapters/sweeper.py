"""Background clean-up of expired state, so memory and disk do not wait for a read to shrink."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

log = logging.getLogger(__name__)


async def sweep_periodically(
    sweepers: Sequence[Callable[[], Awaitable[None]]], interval_seconds: float
) -> None:
    """Run every sweeper each interval until cancelled; a failing sweep is logged, not fatal."""
    while True:
        await asyncio.sleep(interval_seconds)
        for sweep in sweepers:
            try:
                await sweep()
            except Exception as error:  # a bad sweep must not end the others, or the app
                log.warning("sweep failed: %s", type(error).__name__)
