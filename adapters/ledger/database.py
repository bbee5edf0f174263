"""What the ledger needs from a database, and the SQL both backends share.

Rows are inserted idempotently (by id) and each newly inserted row is added to its hourly
rollup in the same transaction, so replaying a spool file that was partly written before
an outage neither loses nor double-counts anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from adapters.ledger.row import COLUMNS, UsageRow
from adapters.ledger.schema import DIMENSIONS, ROLLUP_SUMS


class LedgerUnavailable(RuntimeError):
    """The database did not answer; the caller spools (writes) or degrades (reads)."""


class Database(Protocol):
    dialect: str

    def migrate(self) -> int:
        """Apply missing migrations under a lock; return the schema version."""
        ...

    def insert_batch(self, rows: Sequence[UsageRow]) -> None:
        """Insert rows not already present and roll them up; all or nothing."""
        ...

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Rows of a read query written with `:name` parameters."""
        ...

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> int:
        """Run one write statement in its own transaction; the number of rows it touched."""
        ...

    def ping(self) -> bool: ...

    def close(self) -> None: ...


def unique(rows: Sequence[UsageRow]) -> list[UsageRow]:
    """One row per id (a spool replayed twice may repeat rows), first wins."""
    seen: dict[str, UsageRow] = {}
    for row in rows:
        seen.setdefault(row.id, row)
    return list(seen.values())


_SAVED_PCT = (
    "CASE WHEN tokens_before > 0 AND tokens_after < tokens_before "
    "THEN 100.0 * (tokens_before - tokens_after) / tokens_before ELSE 0 END"
)
_AGGREGATES = {
    "requests": "COUNT(*)",
    "compressed": "SUM(CASE WHEN tokens_after < tokens_before THEN 1 ELSE 0 END)",
    "tokens_before": "SUM(tokens_before)",
    "tokens_after": "SUM(tokens_after)",
    "messages_replayed": "SUM(messages_replayed)",
    "messages_new": "SUM(messages_new)",
    "latency_ms_sum": "SUM(latency_ms)",
    "savings_pct_sum": f"SUM({_SAVED_PCT})",
    "provider_input_tokens": "COALESCE(SUM(provider_input_tokens), 0)",
    "provider_cache_read_tokens": "COALESCE(SUM(provider_cache_read_tokens), 0)",
    "provider_cache_write_tokens": "COALESCE(SUM(provider_cache_write_tokens), 0)",
    "provider_output_tokens": "COALESCE(SUM(provider_output_tokens), 0)",
    "cost_without_usd": "COALESCE(SUM(cost_without_usd), 0)",
    "cost_with_usd": "COALESCE(SUM(cost_with_usd), 0)",
    "priced_requests": "COUNT(cost_without_usd)",
}
assert tuple(_AGGREGATES) == ROLLUP_SUMS


def rollup_sql(source: str, hour_expr: str, greatest: str, where: str = "1 = 1") -> str:
    """INSERT the rows of `source` into hgw_usage_hourly, adding to existing buckets.

    Buckets are written in key order so two replicas upserting the same hours take their
    row locks in the same order (no deadlock)."""
    dims = ", ".join(DIMENSIONS)
    targets = ", ".join(("hour", *DIMENSIONS, *ROLLUP_SUMS, "best_pct"))
    aggregates = ", ".join(_AGGREGATES.values())
    updates = ", ".join(f"{c} = hgw_usage_hourly.{c} + excluded.{c}" for c in ROLLUP_SUMS)
    return (
        f"INSERT INTO hgw_usage_hourly ({targets}) "
        f"SELECT {hour_expr} AS h, {dims}, {aggregates}, MAX({_SAVED_PCT}) "
        f"FROM {source} WHERE {where} GROUP BY h, {dims} ORDER BY h, {dims} "
        f"ON CONFLICT (hour, {dims}) DO UPDATE SET {updates}, "
        f"best_pct = {greatest}(hgw_usage_hourly.best_pct, excluded.best_pct)"
    )


COLUMN_LIST = ", ".join(COLUMNS)
