"""The price table where the accounting needs it: ledger rows get dollars, /pricing a body.

`ledger_pricer` fills a ledger row's `cost_without_usd` / `cost_with_usd` from the row's own
columns, read by name (`user_id`, `fmt`, `ts`, `latency_ms`, ... as the ledger names them, or
UsageRecord's names), so the ledger stays free of pricing and pricing free of the ledger.
Cache-aware pricing of compress-mode rows needs the replayed prefix's tokens
(`replayed_tokens_before/after`); a row without them is priced as if nothing were replayed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from core.pricing import CacheMode, PriceTable, cost_of
from core.usage import UsageRecord

#: UsageRecord field -> other names a row may use for it (the ledger's column names).
_ALIASES = {"user": ("user_id",), "format": ("fmt",), "started_at": ("ts",)}
_INT_FIELDS = ("tokens_before", "tokens_after", "replayed_tokens_before", "replayed_tokens_after",
               "messages_replayed", "messages_new")  # fmt: skip
_PROVIDER_FIELDS = ("provider_input_tokens", "provider_cache_read_tokens",
                    "provider_cache_write_tokens", "provider_cache_write_1h_tokens",
                    "provider_output_tokens")  # fmt: skip


def usage_of(row: Any) -> UsageRecord:
    """A UsageRecord from any object with the record's fields or the ledger's column names."""

    def get(name: str, default: Any) -> Any:
        for candidate in (name, *_ALIASES.get(name, ())):
            value = getattr(row, candidate, None)
            if value is not None:
                return value
        return default

    latency = get("latency_seconds", None)
    if latency is None:
        latency = (getattr(row, "latency_ms", 0.0) or 0.0) / 1000
    values: dict[str, Any] = {name: int(get(name, 0)) for name in _INT_FIELDS}
    values |= {name: get(name, None) for name in _PROVIDER_FIELDS}
    return UsageRecord(
        user=str(get("user", "anonymous")), team=str(get("team", "")),
        project=str(get("project", "")), cluster=str(get("cluster", "default")),
        model=str(get("model", "")), format=str(get("format", "unknown")),
        route=str(get("route", "compress")), outcome=str(get("outcome", "passthrough")),
        started_at=float(get("started_at", 0.0)), latency_seconds=float(latency), **values,
    )  # fmt: skip


def ledger_pricer(table: PriceTable, cache: CacheMode = "5m") -> Callable[[Any], None]:
    """A function that sets `cost_without_usd` and `cost_with_usd` on a row whose model has a
    price (leaving them None otherwise, so "unpriced" stays distinguishable from "$0")."""

    def price(row: Any) -> None:
        cost = cost_of(table, usage_of(row), cache)
        if cost.priced:
            row.cost_without_usd = round(cost.without_usd, 9)
            row.cost_with_usd = round(cost.with_usd, 9)

    return price


def pricing_document(
    table: PriceTable, cache: CacheMode = "5m", models: Iterable[str] | None = None
) -> dict[str, Any]:
    """The /pricing body: USD per million tokens per model, and how savings are priced.

    `models`: the names to show (e.g. those in the ledger), each with the entry it resolves
    to; by default every plain model name of the table (no provider path, region or date).
    """
    if models is None:
        listed = {name: {"price_model": name, **table.prices[name].per_million()}
                  for name in table.plain_names()}  # fmt: skip
    else:
        listed = {}
        for model in models:
            resolved = table.resolve(model)
            listed[model] = (
                {"price_model": resolved, **table.prices[resolved].per_million()}
                if resolved is not None
                else {"price_model": None}
            )
    return {
        "source": table.source,
        "currency": "USD",
        "unit": "per 1M tokens",
        "cache_mode": cache,
        "savings": "cache-aware: the uncompressed request with the provider's cache, minus "
        "what was sent (see core/pricing.py)",
        "models": listed,
    }
