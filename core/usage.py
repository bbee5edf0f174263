"""One request's usage as every accounting consumer sees it: the ledger, metrics, OTLP.

A `UsageRecord` carries tags and counts, never request content or keys. It is built once per
request (compress or proxy route) and handed to a `UsageSink`; sinks must return quickly
(queue and batch off the request path) and must never raise into the request.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.ports import RequestReport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UsageRecord:
    """Who sent what through which route, and what it cost in tokens. No content.

    Token fields:
    - `tokens_before` / `tokens_after`: the prompt as received / as sent on (gateway count).
    - `replayed_tokens_before` / `replayed_tokens_after`: the part of those that was the
      replayed prefix (messages sent byte-identical last turn, which the provider has cached).
      The new part is `tokens_before - replayed_tokens_before` (resp. after).
    - `provider_*`: the provider's own usage, known in proxy mode only (None otherwise).
      `provider_input_tokens` is the uncached input only, as Anthropic reports it;
      `provider_cache_write_tokens` counts all cache writes, of which
      `provider_cache_write_1h_tokens` were written with the one-hour TTL.
    """

    user: str = "anonymous"
    team: str = "default"
    project: str = "default"
    cluster: str = "default"
    instance: str = ""
    client: str = "unknown"
    key_id: str = ""  # the public id of the gateway key used, if any (never the key)
    model: str = "default"
    format: str = "unknown"
    route: str = "compress"
    outcome: str = "passthrough"
    tokens_before: int = 0
    tokens_after: int = 0
    replayed_tokens_before: int = 0
    replayed_tokens_after: int = 0
    messages_replayed: int = 0
    messages_new: int = 0
    engines: Mapping[str, int] = field(default_factory=dict)
    latency_seconds: float = 0.0
    provider_input_tokens: int | None = None
    provider_cache_read_tokens: int | None = None
    provider_cache_write_tokens: int | None = None
    provider_cache_write_1h_tokens: int | None = None
    provider_output_tokens: int | None = None
    #: Unix seconds at which the request arrived.
    started_at: float = 0.0
    #: Operator-allowed extra tags (`x-headroom-tag-*`), already bounded by the caller.
    tags: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_report(cls, report: RequestReport, **tags: Any) -> UsageRecord:
        """The compress route's record: counts from the core's report, tags from the caller."""
        return cls(
            format=report.fmt, outcome=report.outcome,
            tokens_before=report.tokens_before, tokens_after=report.tokens_after,
            replayed_tokens_before=report.replayed_tokens_before,
            replayed_tokens_after=report.replayed_tokens_after,
            messages_replayed=report.messages_replayed, messages_new=report.messages_new,
            engines=dict(report.engines), latency_seconds=report.latency_seconds, **tags,
        )  # fmt: skip

    @property
    def tokens_saved(self) -> int:
        return max(0, self.tokens_before - self.tokens_after)

    @property
    def has_provider_usage(self) -> bool:
        """True when the provider reported usage (proxy mode, response seen)."""
        return self.provider_input_tokens is not None


class UsageSink(Protocol):
    """Receives one record per request; implementations queue and return at once."""

    def record(self, usage: UsageRecord) -> None: ...


class FanOut:
    """Hands each record to every sink; one failing sink never stops the others or the request."""

    def __init__(self, sinks: Iterable[UsageSink]) -> None:
        self.sinks: tuple[UsageSink, ...] = tuple(sinks)

    def record(self, usage: UsageRecord) -> None:
        for sink in self.sinks:
            try:
                sink.record(usage)
            except Exception:  # a sink's fault must not become the request's
                log.exception("usage sink %s failed", type(sink).__name__)


def provider_usage_fields(usage: Mapping[str, Any]) -> dict[str, int]:
    """UsageRecord's `provider_*` fields from a response's `usage` object, any of the wires.

    The providers count differently, and the record wants uncached input apart from cache
    reads and writes (so a cached token is never priced as a full input token):
    - Anthropic Messages: `input_tokens` is already uncached; `cache_read_input_tokens`,
      `cache_creation_input_tokens` (split by TTL in `cache_creation.ephemeral_1h_input_tokens`);
    - OpenAI Chat Completions: `prompt_tokens` includes `prompt_tokens_details.cached_tokens`;
    - OpenAI Responses: `input_tokens` includes `input_tokens_details.cached_tokens`.
    OpenAI has no cache-write charge, so its cache writes are 0. Missing numbers count as 0.
    """

    def count(source: Any, key: str) -> int:
        value = source.get(key) if isinstance(source, Mapping) else None
        return value if isinstance(value, int) and value > 0 else 0

    if "prompt_tokens" in usage or "input_tokens_details" in usage:
        total = count(usage, "prompt_tokens") or count(usage, "input_tokens")
        details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details")
        cached = min(count(details, "cached_tokens"), total)
        output = count(usage, "completion_tokens") or count(usage, "output_tokens")
        return {"provider_input_tokens": total - cached, "provider_cache_read_tokens": cached,
                "provider_cache_write_tokens": 0, "provider_cache_write_1h_tokens": 0,
                "provider_output_tokens": output}  # fmt: skip
    written = count(usage, "cache_creation_input_tokens")
    written_1h = min(count(usage.get("cache_creation"), "ephemeral_1h_input_tokens"), written)
    return {"provider_input_tokens": count(usage, "input_tokens"),
            "provider_cache_read_tokens": count(usage, "cache_read_input_tokens"),
            "provider_cache_write_tokens": written, "provider_cache_write_1h_tokens": written_1h,
            "provider_output_tokens": count(usage, "output_tokens")}  # fmt: skip
