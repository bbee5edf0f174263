"""OpenTelemetry spans and metrics per request, with the GenAI semantic conventions, over OTLP.

Implements the core's UsageSink. Each record becomes:
- a CLIENT span `chat {model}` carrying `gen_ai.operation.name`, `gen_ai.provider.name` (and
  the deprecated `gen_ai.system`, which some backends still read), `gen_ai.request.model`,
  `gen_ai.usage.input_tokens` / `output_tokens` / `cache_read.input_tokens` /
  `cache_creation.input_tokens`, `error.type` on failures, and `headroom.*` attributes for what
  the gateway did (tokens before/after/saved, replayed messages, route, cost in USD);
- points on the `gen_ai.client.token.usage` histogram (`gen_ai.token.type` input/output,
  explicit buckets from the convention) and on `headroom.usage.*` counters.

Input tokens follow the convention: everything the model was billed as input, cached or not
(in compress mode, the gateway's count of what it sent on). No content and no key is exported;
spans carry `user.id` (one span per request costs no series), metrics only when enabled.
Spans and metrics leave in batches from SDK threads, never on the request path; each gateway
gets its own providers (no global state), closed at shutdown.

Where to: `HEADROOM_OTLP_ENDPOINT` (base URL; `/v1/traces` and `/v1/metrics` are appended), or
the standard `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_{TRACES,METRICS}_ENDPOINT`;
headers (e.g. Langfuse's basic auth), timeout, compression and certificates come from the
standard `OTEL_EXPORTER_OTLP_*` variables, read by the exporters themselves;
`OTEL_TRACES_EXPORTER=none` / `OTEL_METRICS_EXPORTER=none` turn one signal off, and
`OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES` name the resource.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from adapters.telemetry.labels import BoundedValues
from core.pricing import CacheMode, Cost, PriceTable, cost_of
from core.usage import UsageRecord

log = logging.getLogger(__name__)

SCOPE = "headroom-gateway"
#: The GenAI convention's advised boundaries for gen_ai.client.token.usage.
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
                 16777216, 67108864)  # fmt: skip
ERROR_OUTCOMES = frozenset({"rejected", "error", "upstream_error", "timeout"})
_PROVIDER_BY_FORMAT = {"anthropic": "anthropic", "openai": "openai"}
_PROVIDER_BY_PREFIX = (("claude", "anthropic"), ("gpt", "openai"), ("o1", "openai"),
                       ("o3", "openai"), ("o4", "openai"), ("codex", "openai"),
                       ("gemini", "gcp.gemini"), ("mistral", "mistral_ai"),
                       ("deepseek", "deepseek"), ("grok", "x_ai"))  # fmt: skip


def provider_name(model: str, fmt: str) -> str:
    """`gen_ai.provider.name`: from the wire format when known, else from the model name."""
    if fmt in _PROVIDER_BY_FORMAT:
        return _PROVIDER_BY_FORMAT[fmt]
    bare = model.lower().rsplit("/", 1)[-1]
    for prefix, name in _PROVIDER_BY_PREFIX:
        if bare.startswith(prefix):
            return name
    return "unknown"


class OtlpUsageExporter:
    """Spans and GenAI metrics for each UsageRecord, exported over OTLP/HTTP in batches."""

    def __init__(
        self,
        prices: PriceTable,
        *,
        endpoint: str | None = None,
        resource: Mapping[str, str] | None = None,
        cache: CacheMode = "5m",
        user_attribute: bool = False,
        max_label_values: int = 200,
        export_interval_seconds: float = 30.0,
    ) -> None:
        self.prices, self.cache, self.user_attribute = prices, cache, user_attribute
        base = endpoint.rstrip("/") if endpoint else None
        attributes: dict[str, Any] = dict(resource or {})
        if not os.environ.get("OTEL_SERVICE_NAME"):
            attributes["service.name"] = SCOPE
        self._resource = Resource.create(attributes)  # + OTEL_RESOURCE_ATTRIBUTES
        self._traces = TracerProvider(resource=self._resource)
        if _enabled("OTEL_TRACES_EXPORTER"):
            url = f"{base}/v1/traces" if base else None
            self._traces.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
        readers = []
        if _enabled("OTEL_METRICS_EXPORTER"):  # Langfuse, for one, ingests traces only
            url = f"{base}/v1/metrics" if base else None
            readers.append(PeriodicExportingMetricReader(
                OTLPMetricExporter(endpoint=url),
                export_interval_millis=export_interval_seconds * 1000,
            ))  # fmt: skip
        self._metrics = MeterProvider(resource=self._resource, metric_readers=readers)
        self._tracer = self._traces.get_tracer(SCOPE)
        meter = self._metrics.get_meter(SCOPE)
        self._token_usage = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
        )  # fmt: skip
        self._saved_tokens = meter.create_counter(
            "headroom.usage.saved_tokens", unit="{token}",
            description="Prompt tokens removed by compression (gateway count).",
        )  # fmt: skip
        self._saved_usd = meter.create_counter(
            "headroom.usage.saved_cost", unit="USD",
            description="USD saved by compression, priced with the provider's cache.",
        )  # fmt: skip
        # Metric attributes become series in the backend: bound them as Prometheus does.
        self._bounded = {name: BoundedValues(max_label_values)
                         for name in ("model", "team", "cluster", "user")}  # fmt: skip

    def record(self, usage: UsageRecord) -> None:
        provider = provider_name(usage.model, usage.format)
        cost = cost_of(self.prices, usage, self.cache)
        input_tokens, output_tokens = _billed_tokens(usage)
        self._span(usage, provider, input_tokens, output_tokens, cost)
        common: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider,
            "gen_ai.system": provider,
            "gen_ai.request.model": self._bounded["model"](usage.model),
            "headroom.team": self._bounded["team"](usage.team),
            "headroom.cluster": self._bounded["cluster"](usage.cluster),
            "headroom.route": usage.route,
        }
        if self.user_attribute:
            common["user.id"] = self._bounded["user"](usage.user)
        if input_tokens:
            self._token_usage.record(input_tokens, {**common, "gen_ai.token.type": "input"})
        if output_tokens is not None:
            self._token_usage.record(output_tokens, {**common, "gen_ai.token.type": "output"})
        if usage.tokens_saved:
            self._saved_tokens.add(usage.tokens_saved, common)
        if cost.priced and cost.saved_usd > 0:
            self._saved_usd.add(cost.saved_usd, common)

    def _span(
        self,
        usage: UsageRecord,
        provider: str,
        input_tokens: int,
        output_tokens: int | None,
        cost: Cost,
    ) -> None:
        start_ns = int(usage.started_at * 1e9) if usage.started_at else None
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider,
            "gen_ai.system": provider,
            "gen_ai.request.model": usage.model,
            "gen_ai.usage.input_tokens": input_tokens,
            "user.id": usage.user,
            "headroom.team": usage.team,
            "headroom.project": usage.project,
            "headroom.cluster": usage.cluster,
            "headroom.client": usage.client,
            "headroom.route": usage.route,
            "headroom.format": usage.format,
            "headroom.outcome": usage.outcome,
            "headroom.tokens_before": usage.tokens_before,
            "headroom.tokens_after": usage.tokens_after,
            "headroom.tokens_saved": usage.tokens_saved,
            "headroom.messages_replayed": usage.messages_replayed,
            "headroom.messages_new": usage.messages_new,
            "headroom.engines": sorted(usage.engines),
        }
        if usage.instance:
            attributes["service.instance.id"] = usage.instance
        if output_tokens is not None:
            attributes["gen_ai.usage.output_tokens"] = output_tokens
        if usage.provider_cache_read_tokens is not None:
            attributes["gen_ai.usage.cache_read.input_tokens"] = usage.provider_cache_read_tokens
        if usage.provider_cache_write_tokens is not None:
            attributes["gen_ai.usage.cache_creation.input_tokens"] = (
                usage.provider_cache_write_tokens
            )
        if cost.priced:
            attributes["headroom.cost.with_headroom_usd"] = cost.with_usd
            attributes["headroom.cost.without_headroom_usd"] = cost.without_usd
            attributes["headroom.cost.saved_usd"] = cost.saved_usd
            attributes["headroom.cost.price_model"] = cost.model
        for key, value in usage.tags.items():
            attributes[f"headroom.tag.{key}"] = value
        span = self._tracer.start_span(
            f"chat {usage.model}", kind=SpanKind.CLIENT, attributes=attributes, start_time=start_ns
        )
        if usage.outcome in ERROR_OUTCOMES:
            span.set_attribute("error.type", usage.outcome)
            span.set_status(Status(StatusCode.ERROR))
        end_ns = start_ns + int(usage.latency_seconds * 1e9) if start_ns is not None else None
        span.end(end_time=end_ns)

    def force_flush(self, timeout_seconds: float = 10.0) -> bool:
        """Export everything recorded so far (tests, shutdown)."""
        millis = int(timeout_seconds * 1000)
        spans = self._traces.force_flush(millis)
        metrics = self._metrics.force_flush(millis)
        return bool(spans and metrics)

    def close(self) -> None:
        """Flush and stop the exporter threads; the gateway calls this once at shutdown."""
        self._traces.shutdown()
        self._metrics.shutdown()


def _enabled(variable: str) -> bool:
    """The standard switch: `OTEL_TRACES_EXPORTER=none` / `OTEL_METRICS_EXPORTER=none`."""
    return os.environ.get(variable, "otlp").strip().lower() != "none"


def _billed_tokens(usage: UsageRecord) -> tuple[int, int | None]:
    """(input, output) as the convention wants them: all billed input, cached or not."""
    if usage.has_provider_usage:
        total_input = (usage.provider_input_tokens or 0) + (usage.provider_cache_read_tokens or 0)
        total_input += usage.provider_cache_write_tokens or 0
        return total_input, usage.provider_output_tokens
    return usage.tokens_after, None
