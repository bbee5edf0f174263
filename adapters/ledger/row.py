"""One ledger row: what a request did and who asked, never what it said."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from core.ports import RequestReport
from core.tags import RequestTags, bounded
from core.usage import UsageRecord


@dataclass
class UsageRow:
    """A request as the ledger stores it. Provider usage is None outside proxy mode."""

    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    ts: float = field(default_factory=time.time)
    cluster: str = "default"
    instance: str = ""
    user_id: str = "anonymous"
    team: str = ""
    project: str = ""
    key_id: str = ""
    client: str = "unknown"
    model: str = ""
    fmt: str = "unknown"
    route: str = "compress"
    outcome: str = "passthrough"
    failure: str = ""
    tokens_before: int = 0
    tokens_after: int = 0
    replayed_tokens_before: int = 0  # the replayed prefix's share (a provider cache read)
    replayed_tokens_after: int = 0
    messages_replayed: int = 0
    messages_new: int = 0
    engines: str = "{}"  # JSON object: engine label -> blocks
    latency_ms: float = 0.0
    provider_input_tokens: int | None = None
    provider_cache_read_tokens: int | None = None
    provider_cache_write_tokens: int | None = None
    provider_cache_write_1h_tokens: int | None = None  # of which written with the 1 h TTL
    provider_output_tokens: int | None = None
    cost_without_usd: float | None = None
    cost_with_usd: float | None = None
    extra_tags: str = "{}"  # JSON object of operator-allowed x-headroom-tag-* values

    @property
    def tokens_saved(self) -> int:
        return max(0, self.tokens_before - self.tokens_after)

    @property
    def hour(self) -> int:
        return int(self.ts // 3600 * 3600)

    def values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in COLUMNS)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> UsageRow:
        data = json.loads(line)
        return cls(**{k: v for k, v in data.items() if k in COLUMN_SET})


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(UsageRow))
COLUMN_SET = frozenset(COLUMNS)


def usage_record(tags: RequestTags | None, **counts: Any) -> UsageRecord:
    """A UsageRecord carrying `tags` (as the HTTP layer derived them) and the given counts:
    how the proxy records a request, e.g. `usage_record(tags, model=m, outcome="ok",
    started_at=t0, latency_seconds=dt, **provider_usage_fields(response_usage))`."""
    tags = tags or RequestTags()
    return UsageRecord(user=tags.user, team=tags.team, project=tags.project,
                       cluster=tags.cluster, instance=tags.instance, client=tags.client,
                       route=tags.route, key_id=tags.key_id, tags=dict(tags.extra),
                       **counts)  # fmt: skip


def row_from_usage(usage: UsageRecord) -> UsageRow:
    """The ledger row for one UsageRecord (any route: compress, compress-raw, proxy)."""
    return UsageRow(
        ts=usage.started_at or time.time(),
        cluster=usage.cluster,
        instance=usage.instance,
        user_id=usage.user,
        team=usage.team,
        project=usage.project,
        key_id=usage.key_id,
        client=usage.client,
        model=bounded(usage.model),
        fmt=usage.format,
        route=usage.route,
        outcome=bounded(usage.outcome, 32),
        tokens_before=usage.tokens_before,
        tokens_after=usage.tokens_after,
        replayed_tokens_before=usage.replayed_tokens_before,
        replayed_tokens_after=usage.replayed_tokens_after,
        messages_replayed=usage.messages_replayed,
        messages_new=usage.messages_new,
        engines=json.dumps(dict(usage.engines), separators=(",", ":"), sort_keys=True),
        latency_ms=round(usage.latency_seconds * 1000, 3),
        provider_input_tokens=usage.provider_input_tokens,
        provider_cache_read_tokens=usage.provider_cache_read_tokens,
        provider_cache_write_tokens=usage.provider_cache_write_tokens,
        provider_cache_write_1h_tokens=usage.provider_cache_write_1h_tokens,
        provider_output_tokens=usage.provider_output_tokens,
        extra_tags=json.dumps(dict(usage.tags), separators=(",", ":")) if usage.tags else "{}",
    )


def usage_from_report(report: RequestReport, instance: str = "") -> UsageRecord:
    """The UsageRecord of a core report, tagged with what the caller attached to it."""
    tags = report.tags or RequestTags()
    return UsageRecord.from_report(
        report,
        user=tags.user,
        team=tags.team,
        project=tags.project,
        cluster=tags.cluster,
        instance=tags.instance or instance,
        client=tags.client,
        route=tags.route,
        key_id=tags.key_id,
        model=bounded(report.model),
        started_at=time.time() - report.latency_seconds,
        tags=dict(tags.extra),
    )
