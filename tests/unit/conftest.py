"""A real CompressionService (real headroom engines) over in-memory ports, warmed once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from adapters.stores.memory_sessions import MemorySessionStore
from core.engines import HeadroomEngines
from core.ports import TextCompressor
from core.service import CompressionService, Limits
from tests.unit.fakes import DictOriginalStore, RecordingTelemetry

_ENGINES = HeadroomEngines()


@pytest.fixture(scope="session")
def engines() -> HeadroomEngines:
    _ENGINES.warm()
    return _ENGINES


class ServiceKit:
    """The service plus handles on its fakes, for assertions."""

    def __init__(self, engines: HeadroomEngines, deadline: float = 10.0) -> None:
        self.sessions = MemorySessionStore()
        self.originals = DictOriginalStore()
        self.telemetry = RecordingTelemetry()
        self.engines = engines
        self.service = CompressionService(
            engines=engines, sessions=self.sessions, originals=self.originals,
            telemetry=self.telemetry, executor=ThreadPoolExecutor(2),
            limits=Limits(deadline_seconds=deadline),
        )  # fmt: skip


@pytest.fixture
def kit(engines: HeadroomEngines) -> ServiceKit:
    return ServiceKit(engines)


def kit_with_text(text: TextCompressor, deadline: float) -> ServiceKit:
    engines = HeadroomEngines(text_compressor=text)
    return ServiceKit(engines, deadline=deadline)
