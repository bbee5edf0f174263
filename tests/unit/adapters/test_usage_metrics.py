"""Prometheus usage counters: cache-aware dollars, bounded labels, user only on request."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from adapters.telemetry.labels import BoundedValues
from adapters.telemetry.usage_metrics import PrometheusUsageMetrics
from core.pricing import PriceTable, price_from_entry
from core.usage import UsageRecord

SONNET = price_from_entry({"input": 3, "output": 15, "cache_read": 0.3, "cache_write_5m": 3.75})
assert SONNET is not None
PRICES = PriceTable({"claude-sonnet-4-5": SONNET})
TURN = UsageRecord(user="alice", team="payments", cluster="eu-1", outcome="compressed",
                   model="claude-sonnet-4-5-20250929", tokens_before=100_000, tokens_after=40_000,
                   replayed_tokens_before=80_000, replayed_tokens_after=30_000)  # fmt: skip
LABELS = {"team": "payments", "cluster": "eu-1", "model_family": "claude-sonnet-4-5"}


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_counts_tokens_and_cache_aware_dollars_per_team_cluster_and_family() -> None:
    registry = CollectorRegistry()
    metrics = PrometheusUsageMetrics(PRICES, registry)
    metrics.record(TURN)
    metrics.record(TURN)
    assert value(registry, "headroom_usage_tokens_total", direction="saved", **LABELS) == 120_000
    assert value(registry, "headroom_usage_tokens_total", direction="before", **LABELS) == 200_000
    saved = value(registry, "headroom_usage_saved_usd_total", **LABELS)
    assert saved is not None and round(saved, 9) == 2 * 0.0525  # see test_pricing: 0.0525 each
    without = value(
        registry, "headroom_usage_cost_usd_total", scenario="without_headroom", **LABELS
    )
    assert without is not None and round(without, 9) == 2 * 0.099
    requests = value(registry, "headroom_usage_requests_total", route="compress",
                     outcome="compressed", **LABELS)  # fmt: skip
    assert requests == 2
    assert b'user="alice"' not in generate_latest(registry)


def test_provider_usage_is_counted_by_direction() -> None:
    registry = CollectorRegistry()
    usage = UsageRecord(
        team="payments", cluster="eu-1", model="claude-sonnet-4-5", route="proxy",
        provider_input_tokens=2_000, provider_cache_read_tokens=30_000,
        provider_cache_write_tokens=8_000, provider_output_tokens=1_000,
    )  # fmt: skip
    PrometheusUsageMetrics(PRICES, registry).record(usage)
    got = {d: value(registry, "headroom_usage_tokens_total", direction=d, **LABELS)
           for d in ("provider_input", "provider_cache_read", "provider_cache_write",
                     "provider_output")}  # fmt: skip
    assert got == {"provider_input": 2_000, "provider_cache_read": 30_000,
                   "provider_cache_write": 8_000, "provider_output": 1_000}  # fmt: skip


def test_user_label_only_when_enabled_and_every_label_is_capped() -> None:
    registry = CollectorRegistry()
    metrics = PrometheusUsageMetrics(PRICES, registry, user_label=True, max_label_values=2)
    for i in range(5):
        usage = UsageRecord(user=f"u{i}", team=f"t{i}", cluster="eu-1",
                            model="claude-sonnet-4-5", tokens_before=10,
                            tokens_after=5)  # fmt: skip
        metrics.record(usage)
    text = generate_latest(registry).decode()
    assert 'user="u0"' in text and 'user="u1"' in text and 'user="u2"' not in text
    assert 'team="t1"' in text and 'team="t2"' not in text
    others = value(registry, "headroom_usage_tokens_total", direction="saved", team="other",
                   cluster="eu-1", model_family="claude-sonnet-4-5", user="other")  # fmt: skip
    assert others == 3 * 5


def test_an_unpriced_model_counts_tokens_but_no_dollars() -> None:
    registry = CollectorRegistry()
    PrometheusUsageMetrics(PRICES, registry).record(
        UsageRecord(model="acme-llm-20250101", tokens_before=10, tokens_after=5)
    )
    labels = {"team": "default", "cluster": "default", "model_family": "acme-llm"}
    assert value(registry, "headroom_usage_tokens_total", direction="saved", **labels) == 5
    assert value(registry, "headroom_usage_saved_usd_total", **labels) is None
    assert value(registry, "headroom_usage_unpriced_requests_total", model_family="acme-llm") == 1


def test_bounded_values_keep_admitted_values_and_cut_long_ones() -> None:
    bounded = BoundedValues(2)
    assert [bounded(v) for v in ("a", "b", "c", "a", "", None)] == [
        "a", "b", "other", "a", "other", "other"]  # fmt: skip
    assert len(BoundedValues(5)("x" * 500)) == 64
