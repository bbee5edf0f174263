"""Prometheus metrics for the gateway, in a registry of its own per app.

One prefix for the product, `headroom_`, shared with upstream headroom and the seed gateway.
The seed's seven families keep its names, types and meaning, unlabelled, so its panels and
alerts work unchanged:

| family | what it counts |
|---|---|
| `headroom_requests_total` | compression requests answered (compress, compress-raw), any outcome |
| `headroom_compressed_total` | of those, requests whose output is smaller than their input |
| `headroom_tokens_before_total` / `_after_total` / `_saved_total` | tokens in, out, and saved |
| `headroom_errors_total` | error answers (4xx, 5xx) plus faults that failed open |
| `headroom_uptime_seconds` | seconds since this process built its app |

Breakdowns live in their own families (by outcome, engine, status...). Label values are a
small fixed set; no tenant or user id ever becomes a label.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from core.admission import Admission
from core.ports import RequestReport

NAMESPACE = "headroom"
OUTCOMES = ("compressed", "passthrough", "bypassed", "failed_open", "shed", "rejected")
FORMATS = ("openai", "anthropic", "unknown")
#: Seconds. Compression of new content takes 5 ms to ~1 s; replayed turns a few ms.
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
OVERHEAD_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class PrometheusTelemetry:
    """Implements the core's Telemetry port; also owns the HTTP-level gauges."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = r = registry or CollectorRegistry()
        ns = NAMESPACE
        started = time.monotonic()
        # The seed gateway's families: unlabelled, same names and types.
        self.requests_total = Counter(f"{ns}_requests", "Compression requests answered.",
                                      registry=r)  # fmt: skip
        self.compressed_total = Counter(f"{ns}_compressed",
                                        "Requests whose output is smaller than their input.",
                                        registry=r)  # fmt: skip
        self.tokens_before = Counter(f"{ns}_tokens_before", "Tokens received.", registry=r)
        self.tokens_after = Counter(f"{ns}_tokens_after", "Tokens returned.", registry=r)
        self.tokens_saved = Counter(f"{ns}_tokens_saved", "Tokens saved.", registry=r)
        self.errors_total = Counter(f"{ns}_errors",
                                    "Error answers (4xx, 5xx) and faults that failed open.",
                                    registry=r)  # fmt: skip
        self.uptime = Gauge(f"{ns}_uptime_seconds", "Seconds since the app was built.",
                            registry=r)  # fmt: skip
        self.uptime.set_function(lambda: time.monotonic() - started)
        # Breakdowns.
        self.requests = Counter(f"{ns}_requests_by_outcome",
                                "Compression requests by outcome and format.",
                                ["outcome", "format"], registry=r)  # fmt: skip
        self.engine_blocks = Counter(f"{ns}_engine_blocks", "Blocks compressed, by engine.",
                                     ["engine"], registry=r)  # fmt: skip
        self.latency = Histogram(f"{ns}_request_duration_seconds",
                                 "Time to answer a compress request.", ["outcome"],
                                 buckets=LATENCY_BUCKETS, registry=r)  # fmt: skip
        self.overhead = Histogram(f"{ns}_overhead_seconds",
                                  "Gateway time outside the compression engines.",
                                  buckets=OVERHEAD_BUCKETS, registry=r)  # fmt: skip
        self.replayed_messages = Counter(f"{ns}_replayed_messages",
                                         "Messages returned byte-identical from session state.",
                                         registry=r)  # fmt: skip
        self.replay_hits = Counter(
            f"{ns}_session_replay_hits", "Requests that replayed at least one message.", registry=r
        )
        self.store_errors = Counter(f"{ns}_store_errors", "Calls to a state store that failed.",
                                    ["store"], registry=r)  # fmt: skip
        self.fail_open = Counter(f"{ns}_fail_open", "Requests returned unchanged after a fault.",
                                 ["reason"], registry=r)  # fmt: skip
        self.http_errors = Counter(f"{ns}_http_errors", "Error answers (4xx, 5xx) by status.",
                                   ["status"], registry=r)  # fmt: skip
        self.in_flight = Gauge(f"{ns}_requests_in_flight", "Compress requests being handled.",
                               registry=r)  # fmt: skip
        self.queued = Gauge(f"{ns}_requests_queued",
                            "Requests waiting for a compression slot (queue depth).",
                            registry=r)  # fmt: skip
        self.compressing = Gauge(f"{ns}_compressions_running",
                                 "Compressions running on the worker threads.",
                                 registry=r)  # fmt: skip
        self.ready = Gauge(f"{ns}_ready", "1 once engines are warm.", registry=r)
        self.shared_state_ok = Gauge(
            f"{ns}_shared_state_ok", "1 when every configured state store answers.", registry=r
        )
        for outcome in OUTCOMES:
            self.latency.labels(outcome)
            for fmt in FORMATS:
                self.requests.labels(outcome, fmt)
        for store in ("session", "originals"):
            self.store_errors.labels(store)
        self.shared_state_ok.set(1)

    def request_finished(self, report: RequestReport) -> None:
        self.requests_total.inc()
        self.requests.labels(report.outcome, report.fmt).inc()
        self.latency.labels(report.outcome).observe(report.latency_seconds)
        if report.outcome in ("compressed", "passthrough"):
            self.overhead.observe(max(0.0, report.latency_seconds - report.engine_seconds))
            self.tokens_before.inc(report.tokens_before)
            self.tokens_after.inc(report.tokens_after)
            self.tokens_saved.inc(max(0, report.tokens_before - report.tokens_after))
        if report.outcome == "compressed":
            self.compressed_total.inc()
        for engine, count in report.engines.items():
            self.engine_blocks.labels(engine).inc(count)
        if report.messages_replayed:
            self.replay_hits.inc()
            self.replayed_messages.inc(report.messages_replayed)
        if not report.session_store_ok:
            self.store_errors.labels("session").inc()
        if not report.original_store_ok:
            self.store_errors.labels("originals").inc()
        if report.failure:
            self.errors_total.inc()
            self.fail_open.labels(report.failure if report.failure == "deadline" else "error").inc()

    def watch_admission(self, admission: Admission) -> None:
        """Queue depth and running jobs, read from admission control at scrape time."""
        self.queued.set_function(lambda: admission.waiting)
        self.compressing.set_function(lambda: admission.active)

    def http_error(self, status: int) -> None:
        """An error answer; a 4xx is also a request refused before reaching the core."""
        self.http_errors.labels(str(status)).inc()
        self.errors_total.inc()
        if 400 <= status < 500:
            self.requests_total.inc()
            self.requests.labels("rejected", "unknown").inc()
