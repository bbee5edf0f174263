"""Builds the usage exports the settings ask for; the ledger adds itself beside them."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry

from adapters.settings import Settings
from adapters.telemetry.usage_metrics import PrometheusUsageMetrics
from core.pricing import PriceTable
from core.usage import UsageSink

_ENDPOINT_ENV = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                 "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")  # fmt: skip


def otlp_configured(endpoint: str | None, environ: Mapping[str, str] = os.environ) -> bool:
    """True when an OTLP destination is set and the standard kill switch is not."""
    if environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    return bool(endpoint) or any(environ.get(name) for name in _ENDPOINT_ENV)


def build_usage_exports(
    settings: Settings, prices: PriceTable, registry: CollectorRegistry
) -> tuple[list[UsageSink], list[Callable[[], Any]]]:
    """(sinks, closers): Prometheus usage counters always, OTLP when an endpoint is set.

    Wrap the sinks with the ledger's in `core.usage.FanOut`; call the closers at shutdown
    (they flush the last OTLP batch).
    """
    sinks: list[UsageSink] = [
        PrometheusUsageMetrics(
            prices, registry, cache=settings.pricing_cache,
            user_label=settings.usage_metrics_user_label,
            max_label_values=settings.usage_label_max_values,
        )
    ]  # fmt: skip
    closers: list[Callable[[], Any]] = []
    if otlp_configured(settings.otlp_endpoint):
        from adapters.telemetry.otlp import OtlpUsageExporter

        exporter = OtlpUsageExporter(
            prices, endpoint=settings.otlp_endpoint, cache=settings.pricing_cache,
            resource={"headroom.cluster": settings.cluster_id},
            user_attribute=settings.usage_metrics_user_label,
            max_label_values=settings.usage_label_max_values,
            export_interval_seconds=settings.otlp_export_interval_seconds,
        )  # fmt: skip
        sinks.append(exporter)
        closers.append(exporter.close)
    return sinks, closers
