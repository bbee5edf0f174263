"""Which backend Kompress runs on, as a Prometheus state set read at scrape time.

`headroom_kompress_backend{backend="cpu",requested="auto"} 1` is how a GPU service
that fell back to CPU shows on a dashboard: alert on `requested!="cpu"` with backend "cpu".
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from core.ports import TextCompressor

BACKENDS = ("loading", "cpu", "cuda", "remote", "unavailable")
METRIC = "headroom_kompress_backend"


class KompressBackendCollector(Collector):
    """One series per possible backend: 1 for the one in use, 0 for the rest."""

    def __init__(self, compressor: TextCompressor, requested: str) -> None:
        self._compressor = compressor
        self._requested = requested

    def collect(self) -> Iterator[GaugeMetricFamily]:
        current = self._compressor.backend
        family = GaugeMetricFamily(METRIC, "1 for the backend Kompress runs on.",
                                   labels=["backend", "requested"])  # fmt: skip
        for backend in BACKENDS:
            family.add_metric([backend, self._requested], 1.0 if backend == current else 0.0)
        yield family


def register_backend_metric(
    registry: CollectorRegistry, compressor: TextCompressor, requested: str
) -> None:
    """Add the state set to an app's registry once (an app may be built twice from one
    set of services)."""
    try:
        registry.register(KompressBackendCollector(compressor, requested))
    except ValueError:  # "Duplicated timeseries": already registered
        pass
