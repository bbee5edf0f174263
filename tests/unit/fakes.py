"""In-memory stand-ins for the ports that record what the core did with them."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from core.ports import RequestReport, StoreUnavailable


class RecordingTelemetry:
    def __init__(self) -> None:
        self.reports: list[RequestReport] = []

    def request_finished(self, report: RequestReport) -> None:
        self.reports.append(report)

    @property
    def last(self) -> RequestReport:
        return self.reports[-1]


class DictOriginalStore:
    """Originals per (tenant, hash); `down` makes every call fail like a dead backend."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}
        self.down = False

    async def put_many(self, tenant: str, items: Mapping[str, str], ttl_seconds: int) -> None:
        if self.down:
            raise StoreUnavailable("down")
        for key, value in items.items():
            self.items[(tenant, key)] = value

    async def get(self, tenant: str, key: str) -> str | None:
        if self.down:
            raise StoreUnavailable("down")
        return self.items.get((tenant, key))

    async def ping(self) -> bool:
        return not self.down


class BrokenSessionStore:
    """A session backend that is unreachable."""

    def __init__(self) -> None:
        self.calls = 0

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        self.calls += 1
        raise StoreUnavailable("down")

    async def put_many(self, items: Mapping[str, bytes], ttl_seconds: int) -> None:
        self.calls += 1
        raise StoreUnavailable("down")

    async def ping(self) -> bool:
        return False


class SlowTextCompressor:
    """Prose compressor that takes too long, to exercise the deadline."""

    name = "slow"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def compress(self, text: str, target_ratio: float | None) -> str | None:
        time.sleep(self.seconds)
        return text[: len(text) // 2]


class ExplodingTextCompressor:
    name = "exploding"

    def compress(self, text: str, target_ratio: float | None) -> str | None:
        raise RuntimeError("engine bug")
