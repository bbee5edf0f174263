"""Prices per model and cache-aware dollars: what compression saved on the bill.

Pure: the price entries come in as plain mappings (the adapter reads litellm's bundled price
map and the operator's override file); this module resolves model names and does the sums.

Notation (all per token, USD): `p_in` uncached input, `p_out` output, `p_cr` cache read,
`p_w5` cache write with the 5-minute TTL, `p_w1h` cache write with the 1-hour TTL. A provider
that does not charge cache writes separately (OpenAI) gets `p_w5 = p_w1h = p_in`; one without a
cache discount gets `p_cr = p_in`.

Why cache-aware: agents resend their whole history every turn, and the provider serves the
already-seen prefix from its cache at ~0.1x the input price. A saved token of that prefix is
worth `p_cr`, not `p_in`; pricing every saved token at `p_in` (as the seed gateway did)
overstates savings several-fold. Every formula below prices the uncompressed request with the
same cache behaviour as the compressed one, so the difference is only what compression changed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any, Literal

from core.usage import UsageRecord

CacheMode = Literal["5m", "1h", "off"]
PER_MILLION = 1_000_000

# Keys of litellm's model price map (USD per token) -> our field names.
_LITELLM_KEYS = {
    "input_cost_per_token": "input",
    "output_cost_per_token": "output",
    "cache_read_input_token_cost": "cache_read",
    "cache_creation_input_token_cost": "cache_write_5m",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h",
}
# Short keys an operator writes, in USD per million tokens (as providers publish prices).
_SHORT_KEYS = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h")
_DATE_SUFFIX = re.compile(r"([-@]\d{8}|[-@]\d{4}-\d{2}-\d{2})$")
_VERSION_SUFFIX = re.compile(r"(-v\d+(:\d+)?|:latest|:\d+)$")
_FAMILY = re.compile(r"\d")  # a prefix match needs a versioned name, not a bare vendor word
_BEDROCK_PREFIX = re.compile(
    r"^(?:(?:us|eu|jp|au|apac|global|us-gov)\.)?"
    r"(?:anthropic|meta|amazon|mistral|cohere|ai21|deepseek|qwen|openai|writer)\."
)
_TIER_INPUT = re.compile(r"^input_cost_per_token_above_(\d+)k_tokens$")
_RESOLVED_CAP = 4096


@dataclass(frozen=True)
class ModelPrice:
    """USD per token for one model. Missing cache prices fall back as the module says.

    `long_context`: providers charge every token of a request at higher rates once its input
    (uncached + cache read + cache write) exceeds a threshold (Gemini Pro above 200k, GPT-5.4
    above 272k). Compression that brings a request under it saves that premium too.
    """

    input: float
    output: float
    cache_read: float | None = None
    cache_write_5m: float | None = None
    cache_write_1h: float | None = None
    long_context: LongContext | None = None

    def at(self, prompt_tokens: float) -> ModelPrice:
        """The prices that apply to a request with `prompt_tokens` input tokens in all."""
        tier = self.long_context
        return tier.price if tier is not None and prompt_tokens > tier.threshold else self

    @property
    def read(self) -> float:
        """`p_cr`: the cache-read price, or `p_in` when the provider gives no discount."""
        return self.input if self.cache_read is None else self.cache_read

    def write(self, mode: CacheMode) -> float:
        """Price of a new (not yet cached) input token under a cache mode.

        "5m" -> `p_w5`, "1h" -> `p_w1h` (falling back to `p_w5`), "off" -> `p_in`; a provider
        without a separate write price (OpenAI) charges `p_in` for it in every mode.
        """
        if mode == "off":
            return self.input
        w5 = self.input if self.cache_write_5m is None else self.cache_write_5m
        if mode == "1h":
            return w5 if self.cache_write_1h is None else self.cache_write_1h
        return w5

    def per_million(self) -> dict[str, Any]:
        """USD per million tokens, for `/pricing` and operators' eyes (the file's format)."""
        prices: dict[str, Any] = {
            name: None if value is None else round(value * PER_MILLION, 6)
            for name in _SHORT_KEYS
            for value in [getattr(self, name)]
        }
        if self.long_context is not None:
            above = self.long_context.price.per_million()
            prices["long_context"] = {"threshold": self.long_context.threshold, **above}
        return prices


@dataclass(frozen=True)
class LongContext:
    """Prices for requests whose input exceeds `threshold` tokens."""

    threshold: int
    price: ModelPrice


def price_from_entry(entry: Mapping[str, Any]) -> ModelPrice | None:
    """A ModelPrice from one price-map entry, or None if it has no input and output price.

    Accepts litellm's keys (USD per token) or the short keys `input`, `output`, `cache_read`,
    `cache_write_5m`, `cache_write_1h` in USD per *million* tokens (operator files). A long-
    context tier comes from litellm's `*_above_<N>k_tokens` keys (the lowest N) or from
    `long_context: {threshold: 200000, input: ..., ...}`; prices it does not name stay the
    base ones.
    """
    values = _values(entry)
    if "input" not in values or "output" not in values:
        return None
    base = _price(values)
    return replace(base, long_context=_long_context(entry, base))


def _long_context(entry: Mapping[str, Any], base: ModelPrice) -> LongContext | None:
    given = entry.get("long_context")
    if isinstance(given, Mapping):
        threshold, above = given.get("threshold"), _values(given)
    else:
        found = [int(m.group(1)) for key in entry if (m := _TIER_INPUT.match(key))]
        if not found:
            return None
        suffix = f"_above_{min(found)}k_tokens"
        threshold = min(found) * 1000
        above = _values(
            {key: entry[key + suffix] for key in _LITELLM_KEYS if key + suffix in entry}
        )
    if not isinstance(threshold, int) or threshold <= 0:
        raise ValueError("long_context needs a positive integer threshold (tokens)")
    plain = {name: getattr(base, name) for name in _SHORT_KEYS}
    return LongContext(threshold, _price({**plain, **above}))


def _price(values: Mapping[str, float | None]) -> ModelPrice:
    """A single-tier ModelPrice from per-token values keyed by the short names."""
    input_price, output_price = values["input"], values["output"]
    assert input_price is not None and output_price is not None
    return ModelPrice(input_price, output_price, values.get("cache_read"),
                      values.get("cache_write_5m"), values.get("cache_write_1h"))  # fmt: skip


def _values(entry: Mapping[str, Any]) -> dict[str, float]:
    """The prices an entry names, per token; short keys (per million) win over litellm's."""
    values: dict[str, float] = {}
    for key, name in _LITELLM_KEYS.items():
        if isinstance(entry.get(key), int | float):
            values[name] = float(entry[key])
    for name in _SHORT_KEYS:
        if isinstance(entry.get(name), int | float):
            values[name] = float(entry[name]) / PER_MILLION
    if any(v < 0 for v in values.values()):
        raise ValueError("a price cannot be negative")
    return values


@dataclass(frozen=True)
class Cost:
    """One request's bill with and without compression (USD), and where the price came from.

    `saved_usd = without_usd - with_usd`. `model` is the price-table entry used; None when the
    model is unknown and no `default` entry exists, in which case all amounts are 0.
    """

    without_usd: float
    with_usd: float
    model: str | None

    @property
    def saved_usd(self) -> float:
        return self.without_usd - self.with_usd

    @property
    def priced(self) -> bool:
        return self.model is not None


UNPRICED = Cost(0.0, 0.0, None)


@dataclass
class PriceTable:
    """Prices by model name with name resolution; operator entries and aliases win.

    Resolution of a requested model name, first hit wins (case-insensitive):
    1. an operator alias (exact name or shell-style pattern, `claude-sonnet-4-5*`) -> its target;
    2. an operator entry with the same normalised name (the operator's `claude-sonnet-4-5`
       also prices `claude-sonnet-4-5-20250929`, which the shipped map lists separately);
    3. the exact name, then the normalised name (see `normalise`: no provider path, Bedrock
       region and vendor prefix, date or version suffix), matched against the table's names
       normalised the same way; when several entries share it, a bare name beats a
       provider-pathed or regional one (`claude-opus-4-1` ->
       `anthropic.claude-opus-4-1-20250805-v1:0` when that is all there is);
    4. the longest versioned normalised name (one with a digit) that the normalised name
       starts with, followed by `-` or `.` (`claude-sonnet-4-5-thinking` ->
       `claude-sonnet-4-5`, `gpt-4o-mini-x` -> `gpt-4o-mini`; never `claude-x` -> `claude`);
    5. the entry named `default`, if the operator gave one.
    """

    prices: dict[str, ModelPrice] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    source: str = "empty"
    preferred: frozenset[str] = frozenset()  # operator entries: first choice in the index
    _index: dict[str, str] = field(default_factory=dict, repr=False)
    _resolved: dict[str, str | None] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        ranked = sorted(self.prices, key=self._rank, reverse=True)
        self._index = {normalise(name): name for name in ranked}  # best rank written last

    def _rank(self, name: str) -> tuple[bool, bool, bool, int]:
        """Smaller is better: operator entries, then bare names, then unregioned, then short."""
        return (
            name not in self.preferred,
            "/" in name,
            _BEDROCK_PREFIX.match(name) is not None and not name.startswith("anthropic."),
            len(name),
        )

    @classmethod
    def from_entries(
        cls,
        entries: Mapping[str, Mapping[str, Any]],
        *,
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
        aliases: Mapping[str, str] | None = None,
        source: str = "entries",
    ) -> PriceTable:
        """Build from a price map (litellm's shape), then apply operator entries and aliases.

        Entries without both an input and an output price (embeddings, images) are skipped; an
        operator entry that names only some prices keeps the shipped ones for the rest.
        """
        prices: dict[str, ModelPrice] = {}
        for name, entry in entries.items():
            price = price_from_entry(entry) if isinstance(entry, Mapping) else None
            if price is not None:
                prices[name.lower()] = price
        for name, entry in (overrides or {}).items():
            merged = _merge(prices.get(name.lower()), entry)
            if merged is None:
                raise ValueError(f"pricing override for {name!r} needs input and output prices")
            prices[name.lower()] = merged
        return cls(
            prices,
            {k.lower(): v.lower() for k, v in (aliases or {}).items()},
            source,
            frozenset(name.lower() for name in overrides or {}),
        )

    def resolve(self, model: str) -> str | None:
        """The price-table name used for `model` (see the class docstring), or None."""
        key = model.strip().lower()
        if key in self._resolved:
            return self._resolved[key]
        found = self._resolve(key)
        if len(self._resolved) < _RESOLVED_CAP:  # model names come from callers: bound it
            self._resolved[key] = found
        return found

    def plain_names(self) -> list[str]:
        """Entries named as their model is (no provider path, region or date), sorted."""
        return sorted(
            name
            for name in self.prices
            if "/" not in name and not _BEDROCK_PREFIX.match(name) and normalise(name) == name
        )

    def price(self, model: str) -> ModelPrice | None:
        name = self.resolve(model)
        return None if name is None else self.prices[name]

    def family(self, model: str) -> str:
        """A bounded, stable label for a model: the normalised name of its price entry.

        Dated snapshots, provider paths and Bedrock ids collapse
        (`anthropic/claude-sonnet-4-5-20250929` -> `claude-sonnet-4-5`), so Prometheus and
        OTLP labels stay few. An unknown model keeps its own normalised name.
        """
        name = self.resolve(model)
        if name is None or name == "default":
            return normalise(model) or "unknown"
        return normalise(name)

    def _resolve(self, key: str) -> str | None:
        for pattern, target in self.aliases.items():
            if key == pattern or fnmatchcase(key, pattern):
                return self._resolve_name(target)
        return self._resolve_name(key)

    def _resolve_name(self, key: str) -> str | None:
        base = normalise(key)
        if self._index.get(base) in self.preferred and key not in self.preferred:
            return self._index[base]  # the operator's price covers every snapshot
        if key in self.prices:
            return key
        if base in self._index:
            return self._index[base]
        best = None
        for name in self._index:
            if len(name) >= len(base) or not _FAMILY.search(name):
                continue
            if base.startswith(name) and base[len(name)] in "-.":
                if best is None or len(name) > len(best):
                    best = name
        if best is not None:
            return self._index[best]
        return "default" if "default" in self.prices else None


def normalise(model: str) -> str:
    """The bare model name: lower case, no provider path (`bedrock/us-east-1/`), Bedrock
    region and vendor (`us.anthropic.`), date (`-20250929`, `@20250929`, `-2024-08-06`) or
    version (`-v1:0`, `:latest`) suffix."""
    name = model.strip().lower().rsplit("/", 1)[-1]
    name = _BEDROCK_PREFIX.sub("", name)
    name = _VERSION_SUFFIX.sub("", name)
    return _DATE_SUFFIX.sub("", name)


def _merge(base: ModelPrice | None, entry: Mapping[str, Any]) -> ModelPrice | None:
    """`entry`'s prices over `base`'s: an override may change only the prices it names."""
    if base is None:
        return price_from_entry(entry)
    merged = _price({**{name: getattr(base, name) for name in _SHORT_KEYS}, **_values(entry)})
    tier = _long_context(entry, merged) if "long_context" in entry else base.long_context
    return replace(merged, long_context=tier)


def modelled_cost(
    price: ModelPrice, usage: UsageRecord, cache: CacheMode = "5m"
) -> tuple[float, float]:
    """(without, with) input cost in USD of a compress-mode request, modelled.

    Compress mode sees no provider usage, so it models the provider's cache. With
    `B`/`A` the prompt tokens before/after compression, `Rb`/`Ra` the replayed prefix's share
    of them (sent byte-identical last turn, so the provider has it cached) and
    `Nb = B - Rb`, `Na = A - Ra` the new part:

        with    = Ra * p_cr + Na * w          (prices of the tier for A tokens)
        without = Rb * p_cr' + Nb * w'        (prices of the tier for B tokens)
        saved   = without - with;  with one tier: (Rb - Ra) * p_cr + (Nb - Na) * w

    where `w` is the price of a new input token: `p_w5` (cache "5m", the default: Claude Code
    and most agents mark the newest message for caching), `p_w1h` ("1h") or `p_in` ("off").
    Uncompressed, last turn's prefix would have been sent raw and cached too, so both sides
    price the prefix as cache reads: a token saved there is worth `p_cr`, never `p_in`.
    With cache "off" every token costs `p_in` (providers or callers that never cache).
    Output tokens are unknown here; they are left out of both sides. A long-context tier is
    chosen by the gateway's own count (`A`, `B`), which leaves out tool definitions.
    """
    replayed_before = min(usage.replayed_tokens_before, usage.tokens_before)
    replayed_after = min(usage.replayed_tokens_after, usage.tokens_after)
    new_before = usage.tokens_before - replayed_before
    new_after = usage.tokens_after - replayed_after

    def priced(tier: ModelPrice, replayed: int, new: int) -> float:
        read = tier.input if cache == "off" else tier.read
        return replayed * read + new * tier.write(cache)

    with_usd = priced(price.at(usage.tokens_after), replayed_after, new_after)
    without_usd = priced(price.at(usage.tokens_before), replayed_before, new_before)
    return without_usd, with_usd


def reported_cost(price: ModelPrice, usage: UsageRecord) -> tuple[float, float]:
    """(without, with) cost in USD of a proxied request, from the provider's own usage.

    The provider reports `I` uncached input, `CR` cache-read, `CW` cache-write (of which
    `CW1` with the 1-hour TTL, `CW5 = CW - CW1`) and `O` output tokens. What it cost:

        with    = I * p_in + CR * p_cr + CW5 * p_w5 + CW1 * p_w1h + O * p_out

    Uncompressed, each part would have been larger by the compression ratio of the messages
    it holds, measured by the gateway (so the provider's tokenizer never matters):

        g = Rb / Ra   the replayed prefix's ratio (1 when Ra = 0)
        f = Nb / Na   the new part's ratio        (1 when Na = 0)
        without = g * CR * p_cr + f * (I * p_in + CW5 * p_w5 + CW1 * p_w1h) + O * p_out

    A cache read covers the prefix the provider saw last turn, i.e. the replayed messages;
    writes and uncached input hold what is new. When the provider read nothing from its cache
    (`CR = 0`: first turn, cache expired, a provider without caching) the whole prompt sits
    in `I` and `CW`, so `f` becomes the whole request's ratio `B / A`. With one price tier
    output cancels out and

        saved = (g - 1) * CR * p_cr + (f - 1) * (I * p_in + CW5 * p_w5 + CW1 * p_w1h)

    With a long-context tier, `with` uses the prices for `I + CR + CW` input tokens and
    `without` those for `g * CR + f * (I + CW)`, output included: a request that compression
    brought under the threshold saves the premium on every token.
    """
    uncached = usage.provider_input_tokens or 0
    read = usage.provider_cache_read_tokens or 0
    written = usage.provider_cache_write_tokens or 0
    written_1h = min(usage.provider_cache_write_1h_tokens or 0, written)
    output = usage.provider_output_tokens or 0
    if read > 0:
        g = _ratio(usage.replayed_tokens_before, usage.replayed_tokens_after)
        f = _ratio(
            usage.tokens_before - usage.replayed_tokens_before,
            usage.tokens_after - usage.replayed_tokens_after,
        )
    else:
        g, f = 1.0, _ratio(usage.tokens_before, usage.tokens_after)

    def priced(tier: ModelPrice, scale_read: float, scale_new: float) -> float:
        new = uncached * tier.input + (written - written_1h) * tier.write("5m")
        new += written_1h * tier.write("1h")
        return scale_read * read * tier.read + scale_new * new + output * tier.output

    with_usd = priced(price.at(uncached + read + written), 1.0, 1.0)
    without_usd = priced(price.at(g * read + f * (uncached + written)), g, f)
    return without_usd, with_usd


def _ratio(before: int, after: int) -> float:
    """before / after, the factor by which compression shrank a part; 1 when undefined."""
    return before / after if after > 0 and before > after else 1.0


def cost_of(table: PriceTable, usage: UsageRecord, cache: CacheMode = "5m") -> Cost:
    """The request's Cost: from provider usage when reported (proxy), else modelled."""
    name = table.resolve(usage.model)
    if name is None:
        return UNPRICED
    price = table.prices[name]
    if usage.has_provider_usage:
        without_usd, with_usd = reported_cost(price, usage)
    else:
        without_usd, with_usd = modelled_cost(price, usage, cache)
    return Cost(without_usd, with_usd, name)


def naive_saved_usd(price: ModelPrice, tokens_saved: int) -> float:
    """The seed gateway's figure, every saved token at `p_in`: an upper bound, for comparison."""
    return tokens_saved * price.input
