"""One ledger row: what a request did and who asked, never what it said."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field, fields

from core.ports import RequestReport
from core.tags import RequestTags, bounded


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
    messages_replayed: int = 0
    messages_new: int = 0
    engines: str = "{}"  # JSON object: engine label -> blocks
    latency_ms: float = 0.0
    provider_input_tokens: int | None = None
    provider_cache_read_tokens: int | None = None
    provider_cache_write_tokens: int | None = None
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


def row_from_tags(tags: RequestTags | None, **values: object) -> UsageRow:
    """A row carrying `tags`, with any other column given by keyword."""
    tags = tags or RequestTags()
    return UsageRow(
        cluster=tags.cluster,
        instance=tags.instance,
        user_id=tags.user,
        team=tags.team,
        project=tags.project,
        key_id=tags.key_id,
        client=tags.client,
        route=tags.route,
        extra_tags=json.dumps(dict(tags.extra), separators=(",", ":")) if tags.extra else "{}",
        **values,  # type: ignore[arg-type]
    )


def row_from_report(report: RequestReport) -> UsageRow:
    """The ledger row for one core report (compress and compress-raw routes)."""
    return row_from_tags(
        report.tags,
        model=bounded(report.model),
        fmt=report.fmt,
        outcome=report.outcome,
        failure=bounded(report.failure or "", 64),
        tokens_before=report.tokens_before,
        tokens_after=report.tokens_after,
        messages_replayed=report.messages_replayed,
        messages_new=report.messages_new,
        engines=json.dumps(report.engines, separators=(",", ":"), sort_keys=True),
        latency_ms=round(report.latency_seconds * 1000, 3),
    )
