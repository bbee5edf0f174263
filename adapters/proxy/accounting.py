"""Proxied requests into the usage ledger: each ProxyRecord becomes one usage row, priced
from the provider's own usage (input, cache read, cache write, output)."""

from __future__ import annotations

from adapters.accounting import Accounting
from adapters.proxy.ledger import ProxyRecord


class LedgerRecorder:
    """Implements ProxyRecorder over the gateway's accounting (never raises)."""

    def __init__(self, accounting: Accounting) -> None:
        self._accounting = accounting

    def record(self, record: ProxyRecord) -> None:
        usage = record.usage
        self._accounting.record(
            record.tags,
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
