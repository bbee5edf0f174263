"""Versioned schema of the ledger and key tables, one SQL text for SQLite and PostgreSQL.

Both accept these types (SQLite maps BIGINT / DOUBLE PRECISION to its own affinities). Each
migration is applied once, in order, inside one transaction holding a lock (a PostgreSQL
advisory lock, SQLite's write lock), so replicas starting together apply it exactly once.
Never edit a released migration: append a new one.
"""

from __future__ import annotations

#: Key of the PostgreSQL advisory lock taken while migrating ("hgw-ledger" folded to 63 bits).
ADVISORY_LOCK_KEY = 0x6867772D6C6564

DIMENSIONS = ("cluster", "user_id", "team", "project", "model", "client", "route", "outcome")
ROLLUP_SUMS = (
    "requests", "compressed", "tokens_before", "tokens_after", "messages_replayed",
    "messages_new", "latency_ms_sum", "savings_pct_sum", "provider_input_tokens",
    "provider_cache_read_tokens", "provider_cache_write_tokens", "provider_output_tokens",
    "cost_without_usd", "cost_with_usd", "priced_requests",
)  # fmt: skip

_V1 = """
CREATE TABLE hgw_usage (
    id TEXT PRIMARY KEY,
    ts DOUBLE PRECISION NOT NULL,
    cluster TEXT NOT NULL,
    instance TEXT NOT NULL,
    user_id TEXT NOT NULL,
    team TEXT NOT NULL,
    project TEXT NOT NULL,
    key_id TEXT NOT NULL,
    client TEXT NOT NULL,
    model TEXT NOT NULL,
    fmt TEXT NOT NULL,
    route TEXT NOT NULL,
    outcome TEXT NOT NULL,
    failure TEXT NOT NULL,
    tokens_before BIGINT NOT NULL,
    tokens_after BIGINT NOT NULL,
    replayed_tokens_before BIGINT NOT NULL,
    replayed_tokens_after BIGINT NOT NULL,
    messages_replayed INTEGER NOT NULL,
    messages_new INTEGER NOT NULL,
    engines TEXT NOT NULL,
    latency_ms DOUBLE PRECISION NOT NULL,
    provider_input_tokens BIGINT,
    provider_cache_read_tokens BIGINT,
    provider_cache_write_tokens BIGINT,
    provider_cache_write_1h_tokens BIGINT,
    provider_output_tokens BIGINT,
    cost_without_usd DOUBLE PRECISION,
    cost_with_usd DOUBLE PRECISION,
    extra_tags TEXT NOT NULL
);
CREATE INDEX hgw_usage_ts ON hgw_usage (ts);
CREATE INDEX hgw_usage_user_ts ON hgw_usage (user_id, ts);
CREATE TABLE hgw_usage_hourly (
    hour BIGINT NOT NULL,
    cluster TEXT NOT NULL,
    user_id TEXT NOT NULL,
    team TEXT NOT NULL,
    project TEXT NOT NULL,
    model TEXT NOT NULL,
    client TEXT NOT NULL,
    route TEXT NOT NULL,
    outcome TEXT NOT NULL,
    requests BIGINT NOT NULL,
    compressed BIGINT NOT NULL,
    tokens_before BIGINT NOT NULL,
    tokens_after BIGINT NOT NULL,
    messages_replayed BIGINT NOT NULL,
    messages_new BIGINT NOT NULL,
    latency_ms_sum DOUBLE PRECISION NOT NULL,
    savings_pct_sum DOUBLE PRECISION NOT NULL,
    best_pct DOUBLE PRECISION NOT NULL,
    provider_input_tokens BIGINT NOT NULL,
    provider_cache_read_tokens BIGINT NOT NULL,
    provider_cache_write_tokens BIGINT NOT NULL,
    provider_output_tokens BIGINT NOT NULL,
    cost_without_usd DOUBLE PRECISION NOT NULL,
    cost_with_usd DOUBLE PRECISION NOT NULL,
    priced_requests BIGINT NOT NULL,
    PRIMARY KEY (hour, cluster, user_id, team, project, model, client, route, outcome)
);
CREATE INDEX hgw_usage_hourly_user ON hgw_usage_hourly (user_id, hour);
CREATE TABLE hgw_api_keys (
    key_id TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    user_id TEXT NOT NULL,
    team TEXT NOT NULL,
    project TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    revoked_at DOUBLE PRECISION
);
CREATE TABLE hgw_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
)
"""

#: (version, statements). Applied in order; each version once.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (1, tuple(s.strip() for s in _V1.split(";") if s.strip())),
)
LATEST = MIGRATIONS[-1][0]
VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS hgw_schema_migrations "
    "(version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
)
