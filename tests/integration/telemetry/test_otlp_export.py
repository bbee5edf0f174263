"""OTLP export of usage: a real exporter posts to a real OTLP/HTTP receiver on loopback.

Requests go through the real compression service (real engines, session replay), their
reports become UsageRecords, and the exporter built from settings ships them; the receiver
decodes the protobuf and the test checks GenAI convention names and values.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from adapters.settings import Settings
from adapters.telemetry.otlp import TOKEN_BUCKETS, OtlpUsageExporter
from adapters.telemetry.sinks import build_usage_exports, otlp_configured
from core.engines import HeadroomEngines
from core.pricing import PriceTable, cost_of, price_from_entry
from core.service import CompressRequest
from core.usage import FanOut, UsageRecord
from tests.integration.otlp_receiver import OtlpReceiver, attributes
from tests.unit.conftest import ServiceKit

pytestmark = pytest.mark.integration

SONNET = price_from_entry({"input": 3, "output": 15, "cache_read": 0.3, "cache_write_5m": 3.75})
assert SONNET is not None
PRICES = PriceTable({"claude-sonnet-4-5": SONNET})
MODEL = "claude-sonnet-4-5-20250929"
TAGS = {"user": "alice", "team": "payments", "project": "checkout", "cluster": "eu-1",
        "client": "claude-cli", "model": MODEL, "route": "compress"}  # fmt: skip


def _pods(n: int) -> str:
    return json.dumps({"items": [{"metadata": {"name": f"api-{i}", "namespace": "prod",
                                               "labels": {"app": "api", "tier": "web"}},
                                  "status": {"phase": "Running", "restartCount": 0,
                                             "conditions": [{"type": "Ready", "status": "True"}]}}
                                 for i in range(n)]})  # fmt: skip


def _turns() -> list[list[dict[str, object]]]:
    first: list[dict[str, object]] = [
        {"role": "user", "content": "why is the api slow?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash",
                                           "input": {"command": "kubectl get pods -o json"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                                      "content": _pods(120)}]},
    ]  # fmt: skip
    second = first + [
        {"role": "assistant", "content": "All pods run; checking logs next."},
        {"role": "user", "content": "go on"},
    ]
    return [first, second]


@pytest.fixture(scope="module")
def records() -> list[UsageRecord]:
    """Two turns of one session through the real service: the second replays the first."""
    kit = ServiceKit(HeadroomEngines())  # the real service over in-memory stores
    telemetry = kit.telemetry
    for messages in _turns():
        request = CompressRequest(messages=messages, model=MODEL, session_id="s1")
        asyncio.run(kit.service.compress(request))
        telemetry.last.latency_seconds = 0.25
    return [UsageRecord.from_report(report, started_at=1_700_000_000.0 + i, **TAGS)
            for i, report in enumerate(telemetry.reports)]  # fmt: skip


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as server:
        yield server


def test_spans_and_token_usage_follow_the_genai_conventions(
    receiver: OtlpReceiver, records: list[UsageRecord]
) -> None:
    settings = Settings(otlp_endpoint=receiver.url, cluster_id="eu-1")
    sinks, closers = build_usage_exports(settings, PRICES, CollectorRegistry())
    exporter = sinks[-1]
    assert isinstance(exporter, OtlpUsageExporter)
    fan_out = FanOut(sinks)
    for usage in records:
        fan_out.record(usage)
    for close in closers:
        close()  # flushes the last batch, as at shutdown

    first, second = records
    assert first.outcome == "compressed" and first.tokens_after < first.tokens_before
    assert second.messages_replayed == 3 and second.replayed_tokens_after == first.tokens_after

    spans = receiver.received.spans()
    assert [s.name for s in spans] == [f"chat {MODEL}"] * 2
    assert spans[0].kind == 3  # SPAN_KIND_CLIENT
    assert spans[0].end_time_unix_nano - spans[0].start_time_unix_nano == 250_000_000
    assert spans[1].start_time_unix_nano == 1_700_000_001 * 10**9
    got = attributes(spans[1].attributes)
    cost = cost_of(PRICES, second)
    assert {k: got[k] for k in (
        "gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.system", "gen_ai.request.model",
        "gen_ai.usage.input_tokens", "user.id", "headroom.team", "headroom.project",
        "headroom.route", "headroom.tokens_before", "headroom.tokens_after",
        "headroom.messages_replayed", "headroom.cost.price_model")} == {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic",
        "gen_ai.system": "anthropic", "gen_ai.request.model": MODEL,
        "gen_ai.usage.input_tokens": second.tokens_after, "user.id": "alice",
        "headroom.team": "payments", "headroom.project": "checkout", "headroom.route": "compress",
        "headroom.tokens_before": second.tokens_before,
        "headroom.tokens_after": second.tokens_after, "headroom.messages_replayed": 3,
        "headroom.cost.price_model": "claude-sonnet-4-5"}  # fmt: skip
    assert got["headroom.cost.saved_usd"] == pytest.approx(cost.saved_usd)
    assert "gen_ai.usage.output_tokens" not in got  # compress mode never sees the answer
    assert not any("content" in key or "messages" == key for key in got)
    assert receiver.received.resources()[0]["service.name"] == "headroom-gateway"
    assert receiver.received.resources()[0]["headroom.cluster"] == "eu-1"

    points = list(receiver.received.metric_points("gen_ai.client.token.usage"))
    assert points and all(kind == "histogram" for kind, _ in points)
    by_type = {attributes(p.attributes)["gen_ai.token.type"]: p for _, p in points}
    assert set(by_type) == {"input"}
    assert by_type["input"].count == 2
    assert by_type["input"].sum == first.tokens_after + second.tokens_after
    assert tuple(by_type["input"].explicit_bounds) == TOKEN_BUCKETS
    point_attributes = attributes(by_type["input"].attributes)
    assert {k: point_attributes[k] for k in ("gen_ai.operation.name", "gen_ai.provider.name",
                                             "gen_ai.request.model", "headroom.team")} == {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": MODEL, "headroom.team": "payments"}  # fmt: skip
    assert "user.id" not in point_attributes  # a metric series per user only when enabled
    assert receiver.received.metric_units()["gen_ai.client.token.usage"] == "{token}"
    saved = [p for _, p in receiver.received.metric_points("headroom.usage.saved_cost")]
    expected = sum(cost_of(PRICES, r).saved_usd for r in records)
    assert saved and saved[-1].as_double == pytest.approx(expected)


def test_proxy_usage_exports_cache_and_output_tokens_and_errors(receiver: OtlpReceiver) -> None:
    exporter = OtlpUsageExporter(PRICES, endpoint=receiver.url, export_interval_seconds=3600)
    exporter.record(UsageRecord(
        model="claude-sonnet-4-5", format="anthropic", route="proxy", outcome="compressed",
        tokens_before=1_000, tokens_after=600, provider_input_tokens=50,
        provider_cache_read_tokens=500, provider_cache_write_tokens=100,
        provider_output_tokens=80, started_at=1_700_000_000.0))  # fmt: skip
    exporter.record(UsageRecord(model="gpt-4o", format="openai", route="proxy",
                                outcome="upstream_error", started_at=1_700_000_001.0))  # fmt: skip
    assert exporter.force_flush()
    exporter.close()
    ok, failed = receiver.received.spans()
    got = attributes(ok.attributes)
    assert (got["gen_ai.usage.input_tokens"], got["gen_ai.usage.output_tokens"]) == (650, 80)
    assert got["gen_ai.usage.cache_read.input_tokens"] == 500
    assert got["gen_ai.usage.cache_creation.input_tokens"] == 100
    assert "error.type" not in got and ok.status.code != 2
    assert attributes(failed.attributes)["error.type"] == "upstream_error"
    assert failed.status.code == 2  # STATUS_CODE_ERROR
    assert attributes(failed.attributes)["gen_ai.provider.name"] == "openai"
    points = receiver.received.metric_points("gen_ai.client.token.usage")
    sonnet = [attributes(p.attributes) | {"sum": p.sum} for _, p in points]
    sonnet = [a for a in sonnet if a["gen_ai.request.model"] == "claude-sonnet-4-5"]
    by_type = {a["gen_ai.token.type"]: a["sum"] for a in sonnet}
    assert by_type == {"input": 650, "output": 80}


def test_standard_otel_environment_is_honoured(
    receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not otlp_configured(None, {})
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Basic%20cGs6c2s=")
    settings = Settings()
    sinks, closers = build_usage_exports(settings, PRICES, CollectorRegistry())
    assert len(sinks) == 2
    sinks[-1].record(UsageRecord(model="claude-sonnet-4-5", tokens_before=10, tokens_after=5))
    for close in closers:
        close()
    assert len(receiver.received.spans()) == 1
    assert all(h.get("authorization") == "Basic cGs6c2s=" for h in receiver.received.headers)
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "none")  # a traces-only backend (Langfuse)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "gateway-eu")
    sinks, closers = build_usage_exports(settings, PRICES, CollectorRegistry())
    metric_batches = len(receiver.received.metrics)
    sinks[-1].record(UsageRecord(model="claude-sonnet-4-5", tokens_before=10, tokens_after=5))
    for close in closers:
        close()
    assert len(receiver.received.spans()) == 2
    assert receiver.received.resources()[-1]["service.name"] == "gateway-eu"
    assert len(receiver.received.metrics) == metric_batches
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert len(build_usage_exports(settings, PRICES, CollectorRegistry())[0]) == 1
