"""Prices and cache-aware savings, checked against sums done by hand.

Prices used by hand (USD per million tokens, Anthropic's published Claude Sonnet 4.5 prices):
input 3, output 15, cache read 0.3, cache write 5 min 3.75, cache write 1 h 6.
OpenAI's gpt-4o: input 2.5, output 10, cache read 1.25, no separate cache-write price.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.pricing.table import PricingFileError, bundled_price_map_path, load_price_table
from core.pricing import (
    ModelPrice,
    PriceTable,
    cost_of,
    modelled_cost,
    naive_saved_usd,
    normalise,
    price_from_entry,
    reported_cost,
)
from core.usage import UsageRecord

M = 1e-6  # USD per token for a price of 1 USD per million tokens
SONNET = ModelPrice(input=3 * M, output=15 * M, cache_read=0.3 * M, cache_write_5m=3.75 * M,
                    cache_write_1h=6 * M)  # fmt: skip
GPT4O = ModelPrice(input=2.5 * M, output=10 * M, cache_read=1.25 * M)

# A turn deep in a session: 100k tokens received, 80k of them the replayed prefix; sent 40k,
# the prefix as 30k (it was compressed when it was new), the 20k new tokens as 10k.
TURN = UsageRecord(model="claude-sonnet-4-5", tokens_before=100_000, tokens_after=40_000,
                   replayed_tokens_before=80_000, replayed_tokens_after=30_000)  # fmt: skip


def usd(value: float) -> float:
    return round(value, 9)


# --- compress mode: modelled ------------------------------------------------------------


def test_modelled_prices_the_prefix_as_cache_reads_and_the_new_part_as_writes() -> None:
    without, with_ = modelled_cost(SONNET, TURN)
    # with    = 30_000 * 0.3 + 10_000 * 3.75 = 9_000 + 37_500 = 46_500 (USD per million)
    # without = 80_000 * 0.3 + 20_000 * 3.75 = 24_000 + 75_000 = 99_000
    assert (usd(with_), usd(without)) == (0.0465, 0.099)
    assert usd(without - with_) == 0.0525


def test_the_seed_gateways_figure_overstates_these_savings_more_than_three_fold() -> None:
    naive = naive_saved_usd(SONNET, TURN.tokens_saved)  # 60_000 * 3 = 180_000 per million
    assert usd(naive) == 0.18
    without, with_ = modelled_cost(SONNET, TURN)
    assert naive / (without - with_) > 3.4


def test_modelled_with_one_hour_cache_writes() -> None:
    without, with_ = modelled_cost(SONNET, TURN, cache="1h")
    # with = 9_000 + 10_000 * 6 = 69_000; without = 24_000 + 20_000 * 6 = 144_000
    assert (usd(with_), usd(without)) == (0.069, 0.144)


def test_modelled_without_a_cache_prices_every_token_as_input() -> None:
    without, with_ = modelled_cost(SONNET, TURN, cache="off")
    assert (usd(with_), usd(without)) == (0.12, 0.3)  # 40_000 * 3, 100_000 * 3
    assert usd(without - with_) == usd(naive_saved_usd(SONNET, TURN.tokens_saved))


def test_modelled_for_a_provider_without_write_prices_uses_the_input_price() -> None:
    without, with_ = modelled_cost(GPT4O, TURN)
    # with = 30_000 * 1.25 + 10_000 * 2.5 = 62_500; without = 80_000 * 1.25 + 20_000 * 2.5
    assert (usd(with_), usd(without)) == (0.0625, 0.15)


def test_first_turn_has_no_prefix_so_everything_is_a_cache_write() -> None:
    first = UsageRecord(tokens_before=20_000, tokens_after=10_000)
    without, with_ = modelled_cost(SONNET, first)
    assert (usd(with_), usd(without)) == (0.0375, 0.075)


def test_a_fully_replayed_turn_saves_only_at_the_cache_read_price() -> None:
    replay = UsageRecord(tokens_before=80_000, tokens_after=30_000,
                         replayed_tokens_before=80_000, replayed_tokens_after=30_000)  # fmt: skip
    without, with_ = modelled_cost(SONNET, replay)
    assert usd(without - with_) == 0.015  # 50_000 * 0.3, not 50_000 * 3


def test_nothing_compressed_saves_nothing() -> None:
    same = UsageRecord(tokens_before=5_000, tokens_after=5_000, replayed_tokens_before=4_000,
                       replayed_tokens_after=4_000)  # fmt: skip
    without, with_ = modelled_cost(SONNET, same)
    assert without == with_ and usd(with_) == usd(4_000 * 0.3 * M + 1_000 * 3.75 * M)


# --- proxy mode: from the provider's usage -----------------------------------------------

PROXIED = UsageRecord(
    model="claude-sonnet-4-5", tokens_before=100_000, tokens_after=40_000,
    replayed_tokens_before=80_000, replayed_tokens_after=30_000,
    provider_input_tokens=2_000, provider_cache_read_tokens=30_000,
    provider_cache_write_tokens=8_000, provider_cache_write_1h_tokens=0,
    provider_output_tokens=1_000,
)  # fmt: skip


def test_reported_scales_each_part_by_its_own_compression_ratio() -> None:
    without, with_ = reported_cost(SONNET, PROXIED)
    # with = 2_000*3 + 30_000*0.3 + 8_000*3.75 + 1_000*15 = 6_000+9_000+30_000+15_000 = 60_000
    # g = 80_000/30_000 = 8/3, f = 20_000/10_000 = 2
    # without = 8/3 * 9_000 + 2 * (6_000 + 30_000) + 15_000 = 24_000 + 72_000 + 15_000
    assert (usd(with_), usd(without)) == (0.06, 0.111)
    assert usd(without - with_) == 0.051


def test_reported_one_hour_writes_are_priced_as_such() -> None:
    from dataclasses import replace

    usage = replace(PROXIED, provider_cache_write_1h_tokens=8_000)
    without, with_ = reported_cost(SONNET, usage)
    # new part = 2_000*3 + 8_000*6 = 54_000; with = 54_000 + 9_000 + 15_000 = 78_000
    # without = 24_000 + 2 * 54_000 + 15_000 = 147_000
    assert (usd(with_), usd(without)) == (0.078, 0.147)


def test_reported_without_a_cache_hit_scales_everything_by_the_whole_ratio() -> None:
    usage = UsageRecord(tokens_before=100_000, tokens_after=40_000, replayed_tokens_before=80_000,
                        replayed_tokens_after=30_000, provider_input_tokens=40_000,
                        provider_cache_read_tokens=0, provider_cache_write_tokens=0,
                        provider_output_tokens=0)  # fmt: skip
    without, with_ = reported_cost(SONNET, usage)
    assert (usd(with_), usd(without)) == (0.12, 0.3)  # 40_000 * 3; 2.5 * 40_000 * 3


def test_cost_of_chooses_the_path_by_whether_the_provider_reported() -> None:
    table = PriceTable({"claude-sonnet-4-5": SONNET})
    modelled, reported = cost_of(table, TURN), cost_of(table, PROXIED)
    assert (usd(modelled.saved_usd), usd(reported.saved_usd)) == (0.0525, 0.051)
    assert modelled.model == reported.model == "claude-sonnet-4-5"
    assert usd(cost_of(table, TURN, cache="off").saved_usd) == 0.18


def test_an_unknown_model_is_unpriced_unless_a_default_is_given() -> None:
    usage = UsageRecord(model="acme-llm", tokens_before=10, tokens_after=5)
    assert not cost_of(PriceTable({"claude-sonnet-4-5": SONNET}), usage).priced
    table = PriceTable({"claude-sonnet-4-5": SONNET, "default": GPT4O})
    cost = cost_of(table, usage)
    assert cost.model == "default" and usd(cost.saved_usd) == usd(5 * 2.5 * M)


# --- long-context tier -------------------------------------------------------------------

# Base: input 2, output 10, cache read 0.2 (no write price); above 200k input tokens:
# input 4, output 15, cache read 0.4.
TIERED = price_from_entry({"input": 2, "output": 10, "cache_read": 0.2, "long_context": {
    "threshold": 200_000, "input": 4, "output": 15, "cache_read": 0.4}})  # fmt: skip
LONG = UsageRecord(tokens_before=300_000, tokens_after=150_000, replayed_tokens_before=250_000,
                   replayed_tokens_after=120_000)  # fmt: skip


def test_modelled_prices_each_side_at_its_own_tier() -> None:
    assert TIERED is not None
    without, with_ = modelled_cost(TIERED, LONG)
    # with (150k, base):   120_000 * 0.2 + 30_000 * 2 = 24_000 + 60_000 = 84_000
    # without (300k, long): 250_000 * 0.4 + 50_000 * 4 = 100_000 + 200_000 = 300_000
    assert (usd(with_), usd(without)) == (0.084, 0.3)


def test_reported_prices_each_side_at_its_own_tier_output_included() -> None:
    assert TIERED is not None
    from dataclasses import replace

    usage = replace(LONG, provider_input_tokens=10_000, provider_cache_read_tokens=120_000,
                    provider_cache_write_tokens=20_000, provider_output_tokens=2_000)  # fmt: skip
    without, with_ = reported_cost(TIERED, usage)
    # with: 150_000 input tokens, base: 10_000*2 + 120_000*0.2 + 20_000*2 + 2_000*10 = 104_000
    # g = 250/120, f = 50/30: without has 250_000 + 50_000 = 300_000 tokens, long tier:
    # 250_000*0.4 + 50_000*4 + 2_000*15 = 100_000 + 200_000 + 30_000 = 330_000
    assert (usd(with_), usd(without)) == (0.104, 0.33)


def test_tier_parsed_from_litellm_keys_and_shown_per_million() -> None:
    price = price_from_entry({
        "input_cost_per_token": 2.5e-6, "output_cost_per_token": 1.5e-5,
        "cache_read_input_token_cost": 2.5e-7,
        "input_cost_per_token_above_272k_tokens": 5e-6,
        "output_cost_per_token_above_272k_tokens": 2.25e-5,
        "input_cost_per_token_above_272k_tokens_priority": 1e-5,
    })  # fmt: skip
    assert price is not None and price.long_context is not None
    assert price.at(272_000) is price and price.at(272_001) is price.long_context.price
    assert price.per_million()["long_context"] == {
        "threshold": 272_000, "input": 5.0, "output": 22.5, "cache_read": 0.25,
        "cache_write_5m": None, "cache_write_1h": None}  # fmt: skip


# --- names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "normalised"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("anthropic/claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("vertex_ai/claude-3-5-haiku@20241022", "claude-3-5-haiku"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("GPT-5.1-Codex", "gpt-5.1-codex"),
        ("llama3:latest", "llama3"),
    ],
)
def test_normalise(model: str, normalised: str) -> None:
    assert normalise(model) == normalised


def test_resolution_by_exact_name_snapshot_prefix_and_alias() -> None:
    table = PriceTable.from_entries(
        {"claude-sonnet-4-5": {"input": 3, "output": 15}, "gpt-4o": {"input": 2.5, "output": 10},
         "gpt-4o-mini": {"input": 0.15, "output": 0.6},
         "anthropic.claude-opus-4-1-20250805-v1:0": {"input": 15, "output": 75},
         "eu.anthropic.claude-opus-4-1-20250805-v1:0": {"input": 16.5, "output": 82.5},
         "anthropic.claude-v1": {"input": 8, "output": 24}},
        aliases={"acme-*": "gpt-4o-mini", "house-model": "claude-sonnet-4-5-20250929"},
    )  # fmt: skip
    assert table.resolve("Claude-Sonnet-4-5-20250929") == "claude-sonnet-4-5"
    assert table.resolve("claude-sonnet-4-5-thinking") == "claude-sonnet-4-5"
    assert table.resolve("gpt-4o-mini-2024-07-18") == "gpt-4o-mini"
    assert table.resolve("gpt-4o-audio") == "gpt-4o"
    assert table.resolve("claude-opus-4-1") == "anthropic.claude-opus-4-1-20250805-v1:0"
    assert table.resolve("acme-fast") == "gpt-4o-mini"
    assert table.resolve("house-model") == "claude-sonnet-4-5"
    assert table.resolve("claude-code-helper") is None  # not priced as the bare "claude"
    assert table.family("eu.anthropic.claude-opus-4-1-20250805-v1:0") == "claude-opus-4-1"
    assert table.family("Mystery-Model-20250101") == "mystery-model"


# --- the shipped table and the operator's file --------------------------------------------


def test_shipped_table_is_litellms_bundled_map() -> None:
    assert bundled_price_map_path() is not None
    table = load_price_table()
    sonnet = table.price("claude-sonnet-4-5-20250929")
    assert sonnet is not None and sonnet.per_million() == {
        "input": 3.0, "output": 15.0, "cache_read": 0.3, "cache_write_5m": 3.75,
        "cache_write_1h": 6.0}  # fmt: skip
    gpt = table.price("gpt-4o")
    assert gpt is not None and (gpt.read, gpt.write("5m")) == pytest.approx((1.25 * M, 2.5 * M))
    assert gpt.long_context is None
    gemini = table.price("gemini-2.5-pro")
    assert gemini is not None and gemini.long_context is not None
    assert gemini.long_context.threshold == 200_000
    assert gemini.long_context.price.input > gemini.input
    assert table.family("anthropic/claude-sonnet-4-5-20250929") == "claude-sonnet-4-5"


def test_a_price_map_file_stands_in_for_litellms(tmp_path: Path) -> None:
    """HEADROOM_PRICE_MAP_FILE (the Lambda zip's copy, litellm absent): that map is read; a
    path that is not there falls back to the installed litellm's, with a warning."""
    shipped = tmp_path / "map.json"
    shipped.write_text(json.dumps({"sample_spec": {}, "acme-model": {
        "input_cost_per_token": 2e-6, "output_cost_per_token": 8e-6}}))  # fmt: skip
    table = load_price_table(price_map=shipped)
    acme = table.price("acme-model")
    assert acme is not None and (acme.per_million()["input"], acme.per_million()["output"]) == (
        2.0, 8.0)  # fmt: skip
    assert table.price("claude-sonnet-4-5") is None and "map.json" in table.source
    fallback = load_price_table(price_map=tmp_path / "absent.json")
    assert fallback.price("claude-sonnet-4-5") is not None
    for broken in ("{not json", "[1, 2]"):
        shipped.write_text(broken)
        with pytest.raises(PricingFileError, match="price map .*map.json"):
            load_price_table(price_map=shipped)


def test_operator_yaml_overrides_adds_and_aliases(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(
        "models:\n"
        "  claude-sonnet-4-5: {input: 2.5}\n"  # a negotiated input price; the rest kept
        "  acme-llama-70b: {input: 0.6, output: 0.8,\n"
        "                   long_context: {threshold: 100000, input: 1.2}}\n"
        "aliases:\n"
        "  'team-*': acme-llama-70b\n"
    )
    table = load_price_table(path)
    sonnet = table.price("claude-sonnet-4-5-20250929")
    assert sonnet is not None and sonnet.per_million()["input"] == 2.5
    assert sonnet.per_million()["cache_read"] == 0.3
    llama = table.price("team-platform")
    assert llama is not None and llama.per_million()["output"] == 0.8
    long_context = llama.per_million()["long_context"]
    assert long_context == {"threshold": 100_000, "input": 1.2, "output": 0.8,
                            "cache_read": None, "cache_write_5m": None,
                            "cache_write_1h": None}  # fmt: skip
    assert table.price("gpt-4o") is not None


def test_operator_json_may_replace_the_shipped_table(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"replace_shipped": True,
                                "models": {"default": {"input": 1, "output": 2}}}))  # fmt: skip
    table = load_price_table(path)
    assert list(table.prices) == ["default"]
    assert table.resolve("gpt-4o") == "default"


@pytest.mark.parametrize(
    "content",
    ["models: [1, 2]", "models:\n  new-model: {input: 1}\n", "prices: {}", "models: {a: {input: -1,"
     " output: 1}}", "{not yaml"],
)  # fmt: skip
def test_a_bad_operator_file_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(content)
    with pytest.raises(PricingFileError):
        load_price_table(path)
