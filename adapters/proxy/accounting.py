"""Proxied requests into the usage ledger: each ProxyRecord becomes one usage row, priced
from the provider's own usage (input, cache read, cache write, output)."""

from __future__ import annotations

from adapters.accounting import Accounting
from adapters.proxy.ledger import ProxyRecord
from core.tags import RequestTags, bounded_id, client_from_user_agent


class LedgerRecorder:
    """Implements ProxyRecorder over the gateway's accounting (never raises)."""

    def __init__(self, accounting: Accounting, cluster: str) -> None:
        self._accounting = accounting
        self._cluster = cluster

    def record(self, record: ProxyRecord) -> None:
        tags = RequestTags(
            user=bounded_id(record.tenant),
            team=record.team,
            project=record.project,
            key_id=record.key_id,
            cluster=self._cluster,
            instance=self._accounting.instance,
            client=client_from_user_agent(record.user_agent),
            route="proxy",
        )
        usage = record.usage
        self._accounting.record(
            tags,
            model=record.model or "default",
            outcome=record.outcome if record.status < 400 else f"http_{record.status}",
            tokens_before=record.tokens_before,
            tokens_after=record.tokens_after,
            latency_seconds=record.latency_seconds,
            provider_input_tokens=usage.input,
            provider_cache_read_tokens=usage.cache_read,
            provider_cache_write_tokens=usage.cache_write,
            provider_output_tokens=usage.output,
        )
