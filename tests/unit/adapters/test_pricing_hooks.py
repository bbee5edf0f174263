"""The pricing hooks the accounting calls: dollars on ledger rows, the /pricing body."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.pricing.hooks import ledger_pricer, pricing_document, usage_of
from adapters.pricing.table import load_price_table
from core.pricing import PriceTable, price_from_entry

SONNET = price_from_entry({"input": 3, "output": 15, "cache_read": 0.3, "cache_write_5m": 3.75})
assert SONNET is not None
PRICES = PriceTable({"claude-sonnet-4-5": SONNET})


@dataclass
class Row:
    """A ledger row as the ledger names its columns (a stand-in for adapters.ledger.row)."""

    model: str = "claude-sonnet-4-5-20250929"
    user_id: str = "alice"
    fmt: str = "anthropic"
    ts: float = 1_700_000_000.0
    latency_ms: float = 250.0
    tokens_before: int = 100_000
    tokens_after: int = 40_000
    replayed_tokens_before: int = 80_000
    replayed_tokens_after: int = 30_000
    provider_input_tokens: int | None = None
    provider_cache_read_tokens: int | None = None
    provider_cache_write_tokens: int | None = None
    provider_output_tokens: int | None = None
    cost_without_usd: float | None = None
    cost_with_usd: float | None = None


def test_a_row_reads_as_a_usage_record_by_the_ledgers_column_names() -> None:
    usage = usage_of(Row())
    assert (usage.user, usage.format, usage.started_at, usage.latency_seconds) == (
        "alice", "anthropic", 1_700_000_000.0, 0.25)  # fmt: skip
    assert (usage.replayed_tokens_before, usage.provider_input_tokens) == (80_000, None)


def test_ledger_rows_get_cache_aware_dollars_and_unknown_models_none() -> None:
    price = ledger_pricer(PRICES)
    row, unknown = Row(), Row(model="acme-llm")
    proxied = Row(provider_input_tokens=2_000, provider_cache_read_tokens=30_000,
                  provider_cache_write_tokens=8_000, provider_output_tokens=1_000)  # fmt: skip
    for r in (row, proxied, unknown):
        price(r)
    assert (row.cost_without_usd, row.cost_with_usd) == (0.099, 0.0465)  # test_pricing's sums
    assert (proxied.cost_without_usd, proxied.cost_with_usd) == (0.111, 0.06)
    assert (unknown.cost_without_usd, unknown.cost_with_usd) == (None, None)


def test_pricing_document_lists_plain_names_or_the_models_asked_for() -> None:
    table = load_price_table()
    document = pricing_document(table)
    assert document["currency"] == "USD" and document["cache_mode"] == "5m"
    assert "litellm" in document["source"]
    sonnet = document["models"]["claude-sonnet-4-5"]
    assert (sonnet["input"], sonnet["cache_read"], sonnet["cache_write_1h"]) == (3.0, 0.3, 6.0)
    assert "claude-sonnet-4-5-20250929" not in document["models"]
    assert not any("/" in name for name in document["models"])
    asked = pricing_document(table, models=["claude-sonnet-4-5-20250929", "acme-llm"])["models"]
    assert asked["claude-sonnet-4-5-20250929"]["price_model"] == "claude-sonnet-4-5-20250929"
    assert asked["claude-sonnet-4-5-20250929"]["output"] == 15.0
    assert asked["acme-llm"] == {"price_model": None}
