"""Prometheus metrics of the proxy, on the app's own registry (`headroom_proxy_*`).

Labels are bounded: route is one of a fixed set, status is the HTTP status code, kind is
one of four token kinds.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from adapters.proxy.usage import Usage

ROUTES = ("messages", "count_tokens", "chat_completions", "responses", "other")
#: Seconds. A replayed turn adds a few ms before the provider; providers answer in 0.2-30 s.
TTFB_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
TOKEN_KINDS = ("input", "cache_read", "cache_write", "output")


class ProxyMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        ns = "headroom_proxy"
        self.requests = Counter(
            f"{ns}_requests",
            "Proxied requests by route and status.",
            ["route", "status"],
            registry=registry,
        )
        self.ttfb = Histogram(
            f"{ns}_time_to_first_byte_seconds",
            "From request received to the first response byte sent.",
            ["route"],
            buckets=TTFB_BUCKETS,
            registry=registry,
        )
        self.upstream = Histogram(
            f"{ns}_upstream_latency_seconds",
            "From sending upstream to the provider's response headers.",
            ["route"],
            buckets=TTFB_BUCKETS,
            registry=registry,
        )
        self.open_streams = Gauge(
            f"{ns}_open_streams", "Responses being streamed to clients.", registry=registry
        )
        self.retrieve_rounds = Counter(
            f"{ns}_retrieve_rounds",
            "Upstream continuations after a headroom_retrieve call.",
            ["route"],
            registry=registry,
        )
        self.usage_tokens = Counter(
            f"{ns}_usage_tokens",
            "Tokens the provider reported (input = uncached input).",
            ["route", "kind"],
            registry=registry,
        )
        self.upstream_errors = Counter(
            f"{ns}_upstream_unreachable",
            "Requests answered 502: the provider was unreachable.",
            ["route"],
            registry=registry,
        )
        for route in ROUTES:
            self.ttfb.labels(route)
            self.upstream.labels(route)
            self.retrieve_rounds.labels(route)
            self.upstream_errors.labels(route)
            for kind in TOKEN_KINDS:
                self.usage_tokens.labels(route, kind)

    def usage(self, route: str, usage: Usage) -> None:
        for kind in TOKEN_KINDS:
            value = getattr(usage, kind)
            if value:
                self.usage_tokens.labels(route, kind).inc(value)
