"""Prometheus usage counters per team, cluster and model family, in dollars and tokens.

Implements the core's UsageSink. Labels are bounded: team, cluster and model family each
admit a capped number of distinct values (the rest read `other`), and `user` is a label only
when the operator turns it on (`HEADROOM_USAGE_METRICS_USER_LABEL`), since one series per user
grows with the organisation. Dollars are cache-aware (see core.pricing).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from adapters.telemetry.labels import BoundedValues
from core.pricing import CacheMode, PriceTable, cost_of
from core.usage import UsageRecord


class PrometheusUsageMetrics:
    """`headroom_usage_*_total` counters; `record` only increments, it never blocks."""

    def __init__(
        self,
        prices: PriceTable,
        registry: CollectorRegistry,
        *,
        cache: CacheMode = "5m",
        user_label: bool = False,
        max_label_values: int = 200,
    ) -> None:
        self.prices, self.cache, self.user_label = prices, cache, user_label
        self._bounded = {name: BoundedValues(max_label_values)
                         for name in ("team", "cluster", "model_family", "user")}  # fmt: skip
        tags = ["team", "cluster", "model_family"] + (["user"] if user_label else [])
        r = registry
        self.requests = Counter("headroom_usage_requests", "Requests by route and outcome.",
                                ["route", "outcome", *tags], registry=r)  # fmt: skip
        self.tokens = Counter(
            "headroom_usage_tokens",
            "Prompt tokens before/after compression and saved (gateway count); provider_* as "
            "the provider reported them (proxy mode).",
            ["direction", *tags], registry=r,
        )  # fmt: skip
        self.cost = Counter(
            "headroom_usage_cost_usd",
            "Input cost in USD with and without compression, cache-aware (scenario label).",
            ["scenario", *tags], registry=r,
        )  # fmt: skip
        self.saved = Counter("headroom_usage_saved_usd",
                             "USD saved by compression, priced with the provider's cache.",
                             tags, registry=r)  # fmt: skip
        self.unpriced = Counter("headroom_usage_unpriced_requests",
                                "Requests whose model has no price (no dollars counted).",
                                ["model_family"], registry=r)  # fmt: skip

    def record(self, usage: UsageRecord) -> None:
        family = self._bounded["model_family"](self.prices.family(usage.model))
        tags = [self._bounded["team"](usage.team), self._bounded["cluster"](usage.cluster), family]
        if self.user_label:
            tags.append(self._bounded["user"](usage.user))
        self.requests.labels(usage.route, usage.outcome, *tags).inc()
        for direction, count in _token_counts(usage):
            if count:
                self.tokens.labels(direction, *tags).inc(count)
        cost = cost_of(self.prices, usage, self.cache)
        if not cost.priced:
            self.unpriced.labels(family).inc()
            return
        self.cost.labels("with_headroom", *tags).inc(cost.with_usd)
        self.cost.labels("without_headroom", *tags).inc(cost.without_usd)
        self.saved.labels(*tags).inc(max(0.0, cost.saved_usd))


def _token_counts(usage: UsageRecord) -> list[tuple[str, int]]:
    return [
        ("before", usage.tokens_before),
        ("after", usage.tokens_after),
        ("saved", usage.tokens_saved),
        ("provider_input", usage.provider_input_tokens or 0),
        ("provider_cache_read", usage.provider_cache_read_tokens or 0),
        ("provider_cache_write", usage.provider_cache_write_tokens or 0),
        ("provider_output", usage.provider_output_tokens or 0),
    ]
